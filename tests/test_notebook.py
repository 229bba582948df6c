# SPDX-License-Identifier: MIT
"""labkit inside a real Jupyter kernel (nbclient): top-level await on the async Machine, and the
synchronous facade, which must not touch the kernel's running event loop."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "import labkit\nfrom labkit.tinykernel import write_tiny_kernel\n"
    "k = write_tiny_kernel(KPATH, exit_value=3, com1=b'hi from the guest\\n')",
    "m = await labkit.Machine(None, kernel=k).start()\noutcome = await m.wait(timeout=10)\n"
    "assert outcome == labkit.Exited(3, 7, exact=False), outcome\n"
    "assert m.console.text == 'hi from the guest\\n'",
    "s = labkit.run_sync(None, kernel=k, timeout=10)\nassert s.outcome.status == 3",
    "with labkit.SyncMachine(None, kernel=k) as sm:\n    print(sm.wait(10).describe())",
]


def test_machine_in_a_jupyter_kernel(tmp_path):
    nb = nbformat.v4.new_notebook()
    cells = [f"KPATH = {str(tmp_path / 'tiny.elf')!r}"] + CELLS
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    out = nb.cells[-1].outputs[0]["text"]
    assert "exited with status 3" in out


def _docstring_examples() -> list[str]:
    """The literal blocks (after a line ending in '::') of labkit's package docstring."""
    import labkit

    blocks, current = [], None
    for line in (labkit.__doc__ or "").splitlines():
        if line.rstrip().endswith("::"):
            current = []
            blocks.append(current)
        elif current is not None:
            if line.startswith("    ") or not line.strip():
                current.append(line[4:])
            else:
                current = None
    return ["\n".join(b).strip() for b in blocks if any(x.strip() for x in b)]


@pytest.mark.boot
def test_package_docstring_examples_run(tmp_path):
    notebook_example, script_example = _docstring_examples()[:2]
    assert "await" in notebook_example and "run_sync" in script_example
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(notebook_example)]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert "app_main" in nb.cells[0].outputs[0]["text"]
    exec(compile(script_example, "labkit docstring", "exec"), {})
