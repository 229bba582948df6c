# SPDX-License-Identifier: MIT
"""``labkit doctor``: is this machine ready for the lab? Each check says how to fix itself.

The supported versions are stated here, once (README quotes them): :data:`MIN_QEMU`,
:data:`MIN_PYTHON`, :data:`MIN_GCC`. Below the QEMU or Python minimum doctor fails; below
the gcc minimum it warns (the kernel may well build, but nothing was checked with it). A
QEMU without ``-netdev dgram`` (before 7.2) is accepted with a note: the wire then runs over
loopback UDP (:mod:`labkit.net.config`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from . import paths
from .qemuargs import default_runtime_base

__all__ = ["Check", "run_checks", "format_checks", "MIN_QEMU", "MIN_PYTHON", "MIN_GCC"]

#: The oldest QEMU the lab supports (Ubuntu 22.04's): ``-netdev socket,udp=`` carries the wire.
MIN_QEMU = (6, 2)
#: The oldest Python labkit runs on.
MIN_PYTHON = (3, 10)
#: The oldest gcc the kernel, the apps and the lessons' figures are checked with.
MIN_GCC = (12, 0)
#: ``-netdev dgram`` (the wire on private unix sockets) is new in QEMU 7.2.
DGRAM_QEMU = (7, 2)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


@dataclass(frozen=True)
class Check:
    """One readiness check. ``required`` checks make ``labkit doctor`` fail; a passing check
    may carry a ``note`` worth reading (shown as ``[note]``)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    note: str = ""


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
    """How the lessons' wire will run: over ``-netdev dgram`` (private unix sockets), or over
    loopback UDP where QEMU lacks dgram; never judged while QEMU itself is missing."""
    from .net.config import qemu_has_dgram, wire_transport

    if shutil.which(paths.QEMU) is None:
        return Check("qemu wire", False, f"not checked: {paths.QEMU} not found (see above)",
                     required=False)
    has = qemu_has_dgram(paths.QEMU)
    if has is None:   # QEMU would not say: judge by its version
        version = _qemu_version()
        has = version is None or version >= DGRAM_QEMU
    try:
        transport = wire_transport(paths.QEMU)
    except Exception as exc:  # noqa: BLE001 - a bad LABKIT_WIRE, reported as the problem
        return Check("qemu wire", False, str(exc), "unset LABKIT_WIRE or fix its value",
                     required=False)
    if transport == "dgram":
        forced = " (LABKIT_WIRE=dgram)" if os.environ.get("LABKIT_WIRE") else ""
        if not has:
            return Check("qemu wire", False, f"LABKIT_WIRE=dgram, but this QEMU has no "
                         f"-netdev dgram (new in {_dotted(DGRAM_QEMU)})",
                         "unset LABKIT_WIRE: labkit then uses the loopback UDP fallback",
                         required=False)
        return Check("qemu wire", True, f"-netdev dgram on private unix sockets{forced}",
                     required=False)
    why = ("LABKIT_WIRE=udp" if has else
           f"this QEMU has no -netdev dgram (new in {_dotted(DGRAM_QEMU)})")
    return Check("qemu wire", True, f"loopback UDP (-netdev socket,udp=127.0.0.1:P): {why}",
                 required=False,
                 note="other local users can send frames to the guest over loopback UDP; "
                      f"QEMU {_dotted(DGRAM_QEMU)} or newer keeps the wire on private "
                      "unix sockets")


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
        return Check("qemu", False, f"{version}: too old (the lab needs QEMU "
                                    f"{_dotted(MIN_QEMU)} or newer)",
                     f"install QEMU {_dotted(MIN_QEMU)} or newer (Ubuntu 22.04, Debian 12 "
                     "and later have it)")
    return Check("qemu", True, version)


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    """The Python running labkit against :data:`MIN_PYTHON`."""
    text = _dotted(version)
    if version[:2] < MIN_PYTHON:
        return Check("python", False, f"Python {text}: too old (labkit needs "
                                      f"{_dotted(MIN_PYTHON)} or newer)",
                     f"make the lab's venv with Python {_dotted(MIN_PYTHON)} or newer "
                     "(PYTHON=python3.11 make setup)")
    return Check("python", True, f"Python {text} ({sys.executable})")


def _compiler() -> str:
    """The C compiler the kernel's Makefile will use: ``$CC``, else ``${CROSS_COMPILE}gcc``."""
    return os.environ.get("CC") or f"{os.environ.get('CROSS_COMPILE', '')}gcc"


def check_gcc() -> Check:
    """gcc against :data:`MIN_GCC`: missing fails; older, or not gcc at all, warns."""
    cc = _compiler()
    fix = paths.TOOL_FIXES["gcc"]
    first = _tool_version(cc)
    if first is None:
        return Check(cc, False, f"{cc} not found (builds the kernel and apps)", fix)
    if "clang" in first.lower():
        return Check(cc, False, f"{first}: not gcc; the lab is checked with gcc "
                                f"{_dotted(MIN_GCC)} or newer", "set CC to gcc",
                     required=False)
    try:
        out = subprocess.run([cc, "-dumpfullversion", "-dumpversion"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    m = re.match(r"(\d+)(?:\.(\d+))?", out)
    if m is None:
        return Check(cc, False, f"cannot read the version of {cc}: {first!r}", fix,
                     required=False)
    have = (int(m[1]), int(m[2] or 0))
    if have < MIN_GCC:
        return Check(cc, False, f"gcc {out}: older than {_dotted(MIN_GCC)}, which the lab is "
                                "checked with (it may build, but nothing is promised)",
                     f"install gcc {_dotted(MIN_GCC)} or newer", required=False)
    return Check(cc, True, first)


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
        check_python(),
        check_qemu(),
        check_dgram(),
        check_gcc(),
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
        mark = ("note" if c.note else "ok  ") if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark}] {c.name:<16} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"       {'':<16} fix: {c.fix}")
        if c.note:
            lines.append(f"       {'':<16} note: {c.note}")
    return "\n".join(lines)
