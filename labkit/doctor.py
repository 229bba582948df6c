# SPDX-License-Identifier: MIT
"""``labkit doctor``: is this machine ready for the lab? Each check says how to fix itself."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass

from . import paths
from .qemuargs import default_runtime_base

__all__ = ["Check", "run_checks", "format_checks"]

MIN_QEMU = (7, 0)
#: ``-netdev dgram``, the wire of lesson 03 and of the network tests, is new in QEMU 7.2.
DGRAM_QEMU = (7, 2)


@dataclass(frozen=True)
class Check:
    """One readiness check. ``required`` checks make ``labkit doctor`` fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _tool_version(tool: str, args: tuple[str, ...] = ("--version",)) -> str | None:
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        out = subprocess.run([path, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def _qemu_version() -> tuple[int, int] | None:
    m = re.search(r"version (\d+)\.(\d+)", _tool_version(paths.QEMU) or "")
    return (int(m[1]), int(m[2])) if m else None


def check_dgram() -> Check:
    """Whether QEMU has ``-netdev dgram`` (the lessons' wire); a warning, not a failure: the
    other lessons run without it."""
    have = _qemu_version()
    if have is None or have >= DGRAM_QEMU:
        return Check("qemu dgram", True, "-netdev dgram (lesson 03's wire)", required=False)
    return Check("qemu dgram", False,
                 f"QEMU {have[0]}.{have[1]} has no -netdev dgram (new in "
                 f"{DGRAM_QEMU[0]}.{DGRAM_QEMU[1]}): lesson 03's wire cannot run",
                 "install QEMU 7.2 or newer (Debian 12, Ubuntu 24.04)", required=False)


def check_qemu() -> Check:
    version = _tool_version(paths.QEMU)
    fix = paths.TOOL_FIXES[paths.QEMU]
    if version is None:
        return Check("qemu", False, f"{paths.QEMU} not found", fix)
    m = re.search(r"version (\d+)\.(\d+)", version)
    if not m:
        return Check("qemu", False, f"cannot read the version of {paths.QEMU}: {version!r}", fix)
    have = (int(m[1]), int(m[2]))
    if have < MIN_QEMU:
        return Check("qemu", False, f"{version}: too old (labkit needs "
                                    f"{MIN_QEMU[0]}.{MIN_QEMU[1]} or newer)", fix)
    return Check("qemu", True, version)


def check_tool(tool: str, required: bool = True, why: str = "") -> Check:
    version = _tool_version(tool, ("-V",) if tool == "dot" else ("--version",))
    if version is None:
        return Check(tool, False, f"{tool} not found{(' (' + why + ')') if why else ''}",
                     paths.TOOL_FIXES.get(tool, f"install {tool}"), required)
    return Check(tool, True, version or shutil.which(tool) or tool, required=required)


def check_python_packages() -> Check:
    missing = []
    for module in ("qemu.qmp", "elftools", "capstone", "graphviz"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        return Check("python packages", False, f"missing: {', '.join(missing)}",
                     "pip install -e '.[lab,test]' in the repository (or `make setup`)")
    return Check("python packages", True, "qemu.qmp, pyelftools, capstone, graphviz importable")


def check_runtime_dir() -> Check:
    base = default_runtime_base() or tempfile.gettempdir()
    try:
        tmp = tempfile.mkdtemp(prefix="labkit-doctor-", dir=base)
        try:
            os.chmod(tmp, 0o700)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(os.path.join(tmp, "probe.sock"))
            sock.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        return Check("runtime dir", False, f"cannot create a private socket folder in {base}: "
                                           f"{exc}", "set LABKIT_RUNTIME_DIR to a writable "
                                                     "folder with a short path")
    return Check("runtime dir", True, f"{base} (private 0700 folders with unix sockets)")


def check_images() -> Check:
    kernel = paths.images_dir() / "kernel.elf"
    if not kernel.is_file():
        return Check("images", False, f"{kernel} not built yet", "run `labkit build`",
                     required=False)
    apps = sorted(p.stem for p in paths.images_dir().glob("*.cpio"))
    return Check("images", True, f"kernel.elf and {len(apps)} boot archives "
                                 f"({', '.join(apps[:8])}{'...' if len(apps) > 8 else ''})",
                 required=False)


def check_kvm(probe: bool) -> Check:
    if not probe:
        exists = os.path.exists("/dev/kvm")
        return Check("kvm", True, f"not probed (/dev/kvm {'exists' if exists else 'absent'});"
                                  " labkit uses TCG. `labkit doctor --kvm` probes it",
                     required=False)
    from .accel import probe_kvm

    result = asyncio.run(probe_kvm())
    return Check("kvm", result.usable, result.detail,
                 "" if result.usable else "nothing to do: labkit runs everything under TCG",
                 required=False)


def run_checks(kvm: bool = False) -> list[Check]:
    """All checks, in the order ``labkit doctor`` prints them."""
    return [
        check_qemu(),
        check_dgram(),
        check_tool("gcc", why="builds the kernel and apps"),
        check_tool("make", why="builds the kernel and apps"),
        check_python_packages(),
        check_runtime_dir(),
        check_tool("dot", required=False, why="renders address-space diagrams"),
        check_tool("gdb", required=False, why="only for attaching a real gdb"),
        check_images(),
        check_kvm(kvm),
    ]


def format_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark}] {c.name:<16} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"       {'':<16} fix: {c.fix}")
    return "\n".join(lines)
