# SPDX-License-Identifier: MIT
"""Shared fixtures. Tests marked ``boot`` need the built images: without images/kernel.elf they
are skipped, unless LABKIT_REQUIRE_IMAGES is set (CI builds first and sets it): then they fail."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from labkit import paths
from labkit.tinykernel import write_tiny_kernel

TESTS = Path(__file__).resolve().parent
FAKE_QEMU = TESTS / "fake_qemu.py"


def images_ready() -> bool:
    return (paths.images_dir() / "kernel.elf").is_file()


def pytest_collection_modifyitems(config, items):
    if images_ready():
        return
    if os.environ.get("LABKIT_REQUIRE_IMAGES"):
        return  # the boot tests run and fail loudly: CI promised images
    skip = pytest.mark.skip(reason="images/kernel.elf is not built (run `make build`; set "
                                   "LABKIT_REQUIRE_IMAGES=1 to make this a failure)")
    for item in items:
        if "boot" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tiny(tmp_path):
    """Factory: a tiny PVH kernel (labkit.tinykernel) written into tmp_path."""
    counter = iter(range(1000))

    def make(**kwargs):
        return write_tiny_kernel(tmp_path / f"tiny{next(counter)}.elf", **kwargs)

    return make


@pytest.fixture
def fake_qemu(tmp_path, monkeypatch):
    """Factory: configure tests/fake_qemu.py with a script; returns Machine keyword args."""
    kernel = tmp_path / "kernel.elf"
    kernel.write_bytes(b"\x7fELF fake")

    def make(**script):
        monkeypatch.setenv("FAKE_QEMU", json.dumps(script))
        return {"qemu": str(FAKE_QEMU), "kernel": kernel}

    return make


@pytest.fixture(scope="session")
def host_so(tmp_path_factory):
    """A small shared object built with the host gcc: defined and undefined symbols, a
    relocation, a dynamic section."""
    d = tmp_path_factory.mktemp("hostso")
    src = d / "lib.c"
    src.write_text(
        "extern int puts(const char *);\n"
        "extern long write(int, const void *, unsigned long);\n"
        "int counter = 3;\n"
        "static int helper(int x) { return x * 2; }\n"
        "int twice(int x) { return helper(x) + counter; }\n"
        "int main(void) { puts(\"hi\"); write(1, \"x\", 1); return twice(1); }\n")
    out = d / "lib.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-O1", "-nostdlib", "-o", str(out),
                    str(src)], check=True)
    return out
