#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Strip outputs from the lesson notebooks before commit (outputs are never committed).

    python scripts/strip_notebooks.py              # strip notebooks/*.ipynb in place
    python scripts/strip_notebooks.py --check      # exit 1 and name the ones not stripped

Clears each code cell's outputs and execution count, and the notebook-level widget state;
keeps cell tags (``solution``) and the folded-input flag. Uses only the standard library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEEP_CELL_METADATA = ("tags", "jupyter", "editable", "deletable")
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info", "license")


def strip(nb: dict) -> dict:
    for cell in nb.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items()
                            if k in KEEP_CELL_METADATA}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items()
                      if k in KEEP_NOTEBOOK_METADATA}
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/)")
    parser.add_argument("--check", action="store_true", help="only report, change nothing")
    args = parser.parse_args(argv)
    files = args.paths or sorted((ROOT / "notebooks").rglob("*.ipynb"))
    dirty = []
    for path in files:
        if ".ipynb_checkpoints" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        clean = dumps(strip(json.loads(text)))
        if clean != text:
            dirty.append(path)
            if not args.check:
                path.write_text(clean, encoding="utf-8")
    verb = "not stripped" if args.check else "stripped"
    for path in dirty:
        print(f"{verb}: {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
