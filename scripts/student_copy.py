#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the student copy of the lessons: the notebooks with their solutions taken out.

    python scripts/student_copy.py OUT_DIR                  # notebooks/ -> OUT_DIR/
    python scripts/student_copy.py OUT_DIR --notebooks DIR  # another folder of lessons

How the lessons mark solutions (notebooks/README.md), and what the copy does with them:

- a code cell tagged ``solution`` (folded) follows the exercise's starting code: it is removed,
  so the starting code is what the student sees. A solution cell with no starting code before
  it becomes a placeholder: ``# YOUR ANSWER HERE`` (for a ``%%writefile`` cell, the same line
  with the file's comment syntax, under the ``%%writefile`` line, so the check still finds
  the file);
- a folded markdown block ``<details><summary>Discussion ...`` (or Solution, Answer) discusses
  the answer: it is removed, and so is a sentence that points at the folded solutions;
- every output and execution count is stripped (``scripts/strip_notebooks.py``).

The check cells stay: a student runs them, and ``labkit grade --notebooks OUT_DIR`` grades
the copy. The notebooks' README goes along, and an empty ``work/`` for the exercises' files.
Uses only the standard library. Exits 1 if a solution survived (it never should).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strip_notebooks import dumps, strip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "YOUR ANSWER HERE"
_FOLDED_ANSWER = re.compile(
    r"[ \t]*<details>\s*<summary>[^<]*(?:discussion|solution|answer)[^<]*</summary>.*?</details>"
    r"[ \t]*\n?", re.I | re.S)
_POINTER = re.compile(r"\s*(?:The s|S)olutions are in\s+folded cells.*?\.(?=\s|$)", re.S)
_COMMENT = {".c": "// ", ".h": "// ", ".S": "# ", ".py": "# ", ".sh": "# "}


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _is_solution(cell: dict) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def placeholder(solution: str) -> str:
    """What replaces a solution that has no starting code before it."""
    first = solution.splitlines()[0] if solution.strip() else ""
    m = re.match(r"%%writefile\s+(?:-a\s+)?(\S+)", first)
    if m:
        comment = _COMMENT.get(Path(m.group(1)).suffix, "# ")
        return f"{first}\n{comment}{PLACEHOLDER}\n"
    return f"# {PLACEHOLDER}\n"


def student_notebook(nb: dict) -> dict:
    """The student copy of one notebook (a new dict; ``nb`` is not changed)."""
    nb = json.loads(json.dumps(nb))
    cells: list[dict] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and _is_solution(cell):
            before = cells[-1] if cells else None
            if before is not None and before.get("cell_type") == "code":
                continue                       # the starting code stands in its place
            meta = cell.get("metadata", {})
            meta["tags"] = [t for t in meta.get("tags", []) if t != "solution"]
            if not meta["tags"]:
                del meta["tags"]
            meta.pop("jupyter", None)          # not folded: it is the student's cell now
            cell["source"] = placeholder(_source(cell))
        elif cell.get("cell_type") == "markdown":
            text = _POINTER.sub("", _FOLDED_ANSWER.sub("", _source(cell))).lstrip("\n")
            if not text.strip():
                continue
            cell["source"] = text
        cells.append(cell)
    nb["cells"] = cells
    return strip(nb)


def leftovers(original: dict, copy: dict) -> list[str]:
    """What of ``original``'s solutions is still in ``copy`` (empty when the copy is clean)."""
    problems = []
    text = "\n".join(_source(c) for c in copy.get("cells", []))
    for i, cell in enumerate(copy.get("cells", [])):
        if _is_solution(cell):
            problems.append(f"cell {i} is tagged solution")
        if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
            problems.append(f"cell {i} is folded")
    for cell in original.get("cells", []):
        body = _source(cell).strip()
        if _is_solution(cell) and body and body in text:
            problems.append(f"a solution is still there: {body.splitlines()[0][:60]!r}")
    if _FOLDED_ANSWER.search(text):
        problems.append("a folded discussion of an answer is still there")
    return problems


def write_copy(out: Path, notebooks: Path) -> list[Path]:
    """Write the student copy of ``notebooks/NN-*.ipynb`` into ``out``; returns the files.
    Raises SystemExit naming the notebook if a solution survived."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "work").mkdir(exist_ok=True)
    written = []
    for path in sorted(notebooks.glob("[0-9][0-9]-*.ipynb")):
        original = json.loads(path.read_text(encoding="utf-8"))
        copy = student_notebook(original)
        problems = leftovers(original, copy)
        if problems:
            raise SystemExit(f"student_copy: {path.name}: " + "; ".join(problems))
        target = out / path.name
        target.write_text(dumps(copy), encoding="utf-8")
        written.append(target)
    for extra in ("README.md", ".gitignore"):
        if (notebooks / extra).is_file():
            shutil.copy2(notebooks / extra, out / extra)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the student copy into")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                        help="the lessons (default: the repository's notebooks/)")
    args = parser.parse_args(argv)
    if args.out.resolve() == args.notebooks.resolve():
        parser.error("OUT_DIR must not be the lessons' own folder")
    written = write_copy(args.out, args.notebooks)
    for path in written:
        print(f"wrote {path}")
    print(f"student copy: {len(written)} notebooks in {args.out}; grade it with "
          f"`labkit grade --notebooks {args.out}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
