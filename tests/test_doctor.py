# SPDX-License-Identifier: MIT
"""``labkit doctor`` against the supported versions (QEMU 6.2, Python 3.10, gcc 12, stated once
in labkit.doctor), with small stand-in programs on PATH playing QEMU and gcc of other ages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import doctor

ROOT = Path(__file__).resolve().parent.parent


def fake_qemu(bin_dir: Path, version: str, dgram: bool) -> None:
    backends = "socket\\nstream\\ndgram\\nuser" if dgram else "socket\\nhubport\\ntap\\nuser"
    script = bin_dir / "qemu-system-x86_64"
    script.write_text(f"""#!/bin/sh
case "$*" in
  *--version*) printf 'QEMU emulator version {version}\\nCopyright (c) QEMU\\n' ;;
  *"-netdev help"*) printf 'Available netdev backend types:\\n{backends}\\n' ;;
  *) exit 1 ;;
esac
""")
    script.chmod(0o755)


def fake_gcc(bin_dir: Path, version: str, banner: str | None = None) -> None:
    script = bin_dir / "gcc"
    script.write_text(f"""#!/bin/sh
case "$*" in
  *-dumpfullversion*) echo {version} ;;
  *) echo '{banner or f"gcc (Fake) {version}"}' ;;
esac
""")
    script.chmod(0o755)


@pytest.fixture
def path_of(tmp_path, monkeypatch):
    """A PATH of only a fresh folder (returned): the stand-ins written there are all there is."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("LABKIT_WIRE", raising=False)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CROSS_COMPILE", raising=False)
    return bin_dir


def test_the_minimum_versions_are_stated_once():
    assert doctor.MIN_QEMU == (6, 2) and doctor.MIN_PYTHON == (3, 10)
    assert doctor.MIN_GCC == (12, 0)


@pytest.mark.parametrize("version, dgram, qemu_ok, wire_mark", [
    ("6.1.1", False, False, "note"),
    ("6.2.0 (Debian 1:6.2+dfsg-2ubuntu6)", False, True, "note"),
    ("7.1.0", False, True, "note"),
    ("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", True, True, "ok"),
    ("10.0.3", True, True, "ok")])
def test_qemu_versions_and_the_wire_they_get(path_of, version, dgram, qemu_ok, wire_mark):
    fake_qemu(path_of, version, dgram)
    qemu, wire = doctor.check_qemu(), doctor.check_dgram()
    assert qemu.ok == qemu_ok
    if not qemu_ok:
        assert "too old" in qemu.detail and "6.2 or newer" in qemu.detail
    shown = doctor.format_checks([wire])
    assert shown.startswith(f"[{wire_mark:<4}] qemu wire") and not wire.required
    if not dgram:
        assert "loopback UDP" in wire.detail and "no -netdev dgram" in wire.detail
        assert "other local users" in wire.note and "note:" in shown


def test_the_wire_check_waits_for_qemu(path_of):
    qemu, wire = doctor.check_qemu(), doctor.check_dgram()
    assert not qemu.ok and qemu.required
    assert not wire.ok and "not checked" in wire.detail
    assert "[ok" not in doctor.format_checks([wire])


def test_labkit_wire_udp_is_shown_as_forced(path_of, monkeypatch):
    fake_qemu(path_of, "8.2.2", dgram=True)
    monkeypatch.setenv("LABKIT_WIRE", "udp")
    wire = doctor.check_dgram()
    assert wire.ok and "LABKIT_WIRE=udp" in wire.detail and wire.note
    monkeypatch.setenv("LABKIT_WIRE", "nonsense")
    assert not doctor.check_dgram().ok


@pytest.mark.parametrize("version, ok", [((3, 9, 18), False), ((3, 10, 0), True),
                                         ((3, 13, 5), True)])
def test_python_versions(version, ok):
    check = doctor.check_python(version)
    assert check.ok == ok and check.required
    if not ok:
        assert "3.10 or newer" in check.detail


@pytest.mark.parametrize("version, banner, ok", [
    ("11.4.0", None, False), ("12.2.0", None, True), ("14.2.0", None, True),
    ("15.0.0", "Apple clang version 15.0.0", False)])
def test_gcc_versions(path_of, version, banner, ok):
    fake_gcc(path_of, version, banner)
    check = doctor.check_gcc()
    assert check.ok == ok
    if not ok:
        assert not check.required            # a warning: it may build, nothing is promised
        assert "12" in check.detail


def test_gcc_missing_fails(path_of):
    check = doctor.check_gcc()
    assert not check.ok and check.required and "apt-get install build-essential" in check.fix


def test_cross_compile_names_the_compiler(path_of, monkeypatch):
    script = path_of / "x86_64-elf-gcc"
    fake_gcc(path_of, "13.2.0")
    (path_of / "gcc").rename(script)
    monkeypatch.setenv("CROSS_COMPILE", "x86_64-elf-")
    check = doctor.check_gcc()
    assert check.ok and check.name == "x86_64-elf-gcc"


def test_doctor_without_qemu_on_the_command_line(tmp_path):
    """The whole command with no QEMU on PATH: QEMU fails, and no line claims its wire is
    fine."""
    env = {**os.environ, "PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "labkit", "doctor"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "[FAIL] qemu " in proc.stdout
    wire = [line for line in proc.stdout.splitlines() if "qemu wire" in line]
    assert wire and wire[0].startswith("[warn]") and "not checked" in wire[0]
