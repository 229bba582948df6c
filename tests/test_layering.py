# SPDX-License-Identifier: MIT
"""The package's shape: no import cycles in labkit, ruff clean, and mypy no worse than its
baseline (tests/mypy-baseline.txt, which may only shrink). Costs about 15 s, mostly mypy."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labkit"
BASELINE = Path(__file__).with_name("mypy-baseline.txt")

#: Cycles closed only by an import inside a function. Each is a debt: fix it and take it out.
KNOWN_DEFERRED_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(name: str, path: Path, modules: set[str], top_level_only: bool) -> set[str]:
    """The labkit modules ``name`` imports (at import time only, if ``top_level_only``);
    imports under ``if TYPE_CHECKING`` do not count, nor do the module's own packages."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and not (top_level_only and nested):
                if child.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - child.level + 1])
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module or ""
                found.update(t for t in [target, *(f"{target}.{a.name}" for a in child.names)]
                             if t in modules)
            elif isinstance(child, ast.Import) and not (top_level_only and nested):
                found.update(a.name for a in child.names if a.name in modules)
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return {m for m in found if m != name and not name.startswith(m + ".")}


def _cycles(top_level_only: bool) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: _imports(m, p, set(files), top_level_only) for m, p in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in graph:
        if v not in index:
            connect(v)
    return out


def test_the_cycle_finder_sees_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "labkit"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\n")
    (pkg / "b.py").write_text("def f():\n    from .a import y\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert _cycles(top_level_only=True) == []
    assert _cycles(top_level_only=False) == [{"labkit.a", "labkit.b"}]


def test_no_import_cycles_at_import_time():
    assert _cycles(top_level_only=True) == []


def test_no_new_cycles_through_deferred_imports():
    cycles = {frozenset(c) for c in _cycles(top_level_only=False)}
    assert cycles <= KNOWN_DEFERRED_CYCLES, f"new import cycles: {cycles - KNOWN_DEFERRED_CYCLES}"
    assert cycles == KNOWN_DEFERRED_CYCLES, \
        f"fixed, take out of KNOWN_DEFERRED_CYCLES: {KNOWN_DEFERRED_CYCLES - cycles}"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: make setup installs it (the test extras)")
    return found


def test_ruff_is_clean():
    run = subprocess.run([_tool("ruff"), "check", "labkit", "tests"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def _mypy_errors(text: str) -> Counter[str]:
    """mypy's error lines without line numbers (which move with every edit), counted."""
    out: Counter[str] = Counter()
    for line in text.splitlines():
        file, sep, rest = line.partition(":")
        if sep and ": error:" in rest:
            out[f"{file}: {rest.split(': ', 1)[1]}"] += 1
    return out


def test_mypy_errors_only_shrink():
    run = subprocess.run([_tool("mypy"), "labkit"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    now = _mypy_errors(run.stdout)
    baseline = Counter(line for line in BASELINE.read_text().splitlines() if line)
    new = now - baseline
    fixed = baseline - now
    assert not new, "new type errors (fix them; the baseline only shrinks):\n" + \
        "\n".join(sorted(new.elements()))
    assert not fixed, f"fixed type errors: take them out of {BASELINE.name}:\n" + \
        "\n".join(sorted(fixed.elements()))


def test_every_event_the_kernel_sends_has_a_type():
    import re

    from labkit.events import EVENT_TYPES

    sources = (ROOT / "kernel").rglob("*.c")
    kinds = {k for p in sources for k in re.findall(r'event_begin\(&\w+, "(\w+)"\)',
                                                    p.read_text(errors="replace"))}
    assert len(kinds) >= 10 and kinds <= set(EVENT_TYPES), kinds - set(EVENT_TYPES)
