# SPDX-License-Identifier: MIT
"""The kernel's address-space constants, read from ``kernel/include/memlayout.h``.

The header is the contract for where things live (its opening comment is the map); labkit
reads its ``#define``s instead of copying numbers, so the lab's diagram and the kernel agree.

>>> parse_defines("#define APP_AREA_START 0x10000000000UL  // 1 TiB\\n"
...               "#define APP_AREA_SIZE (1UL << 30)\\n")
{'APP_AREA_START': 1099511627776, 'APP_AREA_SIZE': 1073741824}
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

from . import paths

__all__ = ["parse_defines", "constants", "app_area_start"]

_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Z_][A-Z0-9_]*)\s+(.+?)\s*(?://.*|/\*.*)?$")
_OPS = {ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.Add: operator.add,
        ast.Sub: operator.sub, ast.Mult: operator.mul, ast.BitOr: operator.or_,
        ast.BitAnd: operator.and_}


def _eval(node: ast.AST, known: dict[str, int]) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left, known), _eval(node.right, known))
    raise ValueError("not a constant expression")


def parse_defines(text: str) -> dict[str, int]:
    """Integer ``#define``s of a C header (suffixes ``UL``/``ULL``/``U`` dropped)."""
    known: dict[str, int] = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if not m:
            continue
        expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", m.group(2))
        try:
            known[m.group(1)] = _eval(ast.parse(expr, mode="eval").body, known)
        except (SyntaxError, ValueError, TypeError):
            continue
    return known


def constants(header: Path | None = None) -> dict[str, int]:
    """The integer constants of ``memlayout.h`` (empty if the header is not there)."""
    path = header or paths.kernel_dir() / "include" / "memlayout.h"
    try:
        return parse_defines(path.read_text())
    except OSError:
        return {}


def app_area_start() -> int | None:
    """``APP_AREA_START``: where the kernel loads the app (its load base)."""
    return constants().get("APP_AREA_START")
