# SPDX-License-Identifier: MIT
"""The QEMU command line, built from a :class:`MachineConfig` and explained flag by flag.

:func:`build_command` returns a list of :class:`Flag` objects: the argv words and one sentence
saying why each is there, so a notebook can show the exact command and what every part does
(:func:`explain`). The boot contract is ``kernel/README.md``; QEMU facts are in
``QEMU-NOTES``: PVH entry, ``isa-debug-exit`` on port 0xf4, ``-icount`` for exact counts.

Channels, all in the machine's private runtime directory: COM1 and COM2 are FIFO pairs
(``com1.out``/``com1.in``) that labkit creates and opens before QEMU starts, so no output is
lost; their 1 MiB pipes mean a write from the guest never has to wait for labkit, which keeps
instruction counts under ``-icount`` exact (a unix socket fills after a few hundred one-byte
writes, and the guest's UART then waits a host-dependent time). QMP is a unix socket that
labkit listens on and QEMU connects to while it starts. The GDB stub is the other way round
(QEMU listens) so that a real ``gdb`` can attach to it too.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BootError
from .limits import check_cmdline, check_memory
from .qemuflag import Flag

__all__ = [
    "MachineConfig",
    "Flag",
    "RunDir",
    "build_command",
    "kernel_cmdline",
    "explain",
    "shell_line",
    "argv",
    "MACHINE_TYPES",
]

#: Machine types the kernel boots on.
MACHINE_TYPES = ("pc", "q35", "microvm")


@dataclass
class MachineConfig:
    """Everything that decides how a machine boots.

    ``app`` names ``APP.so`` in the boot archive ``initrd`` (default ``images/APP.cpio``);
    ``options`` are kernel options (``metrics=MS``), ``env`` environment variables for the
    app (keys must start with an upper-case letter). ``icount`` (False or a shift, normally
    0) makes the TSC count guest instructions exactly. ``paused`` holds the CPU before its
    first instruction; ``gdb`` opens QEMU's GDB stub on a unix socket. ``net`` adds a
    virtio-net NIC: ``"wire"`` (labkit's :class:`~labkit.net.Wire` is the network), ``"user"``
    or a :class:`~labkit.net.NetConfig` (user networking, hostfwd on 127.0.0.1, pcap).

    ``balloon`` adds a virtio-balloon device (``id=balloon0``; :mod:`labkit.balloon` drives it
    over QMP): ``True`` or ``"on"``, or ``"deflate-on-oom"`` to also let the guest take pages
    back from the host before an allocation would fail (pc and q35 only: it is a PCI device).

    ``linux`` says that ``kernel`` is a Linux bzImage and ``initrd`` its initramfs (see
    :mod:`labkit.linux`, which fills these in): only the explanations of the command change.
    ``kernel_args`` are words put first on ``-append``, before the options (a Linux guest's
    ``console=ttyS0 quiet``); the rest of the command line keeps its form, since Linux hands
    what follows ``--`` to ``/init`` as its arguments.
    """

    app: str | None = "hello"
    args: Sequence[str] = ()
    options: Mapping[str, str | int] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    kernel: Path | None = None
    initrd: Path | None = None
    machine: str = "pc"
    memory: str = "128M"
    smp: int = 1
    accel: str = "tcg"
    icount: int | bool | None = None
    paused: bool = False
    gdb: bool = False
    qemu: str = "qemu-system-x86_64"
    balloon: bool | str | None = None
    net: Any = None
    linux: bool = False
    kernel_args: Sequence[str] = ()
    extra: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.machine not in MACHINE_TYPES:
            raise BootError(f"unknown machine type {self.machine!r}: use one of "
                            f"{', '.join(MACHINE_TYPES)}")
        if self.accel not in ("tcg", "kvm"):
            raise BootError(f"unknown accelerator {self.accel!r}: use 'tcg' or 'kvm'")
        if self.smp < 1:
            raise BootError(f"smp must be at least 1, not {self.smp}")
        self.args = tuple(str(a) for a in self.args)
        self.kernel_args = tuple(str(a) for a in self.kernel_args)
        self.memory = str(self.memory)
        if not self.linux:
            check_memory(self.memory)
        self.balloon = _balloon_mode(self.balloon, self.machine)
        if self.net is not None:
            from .net.config import NetConfig

            self.net = NetConfig.coerce(self.net)


def _balloon_mode(value: bool | str | None, machine: str) -> str | None:
    """None (no balloon device), "on" or "deflate-on-oom"."""
    if value is None or value is False:
        return None
    mode = "on" if value is True else str(value)
    if mode not in ("on", "deflate-on-oom"):
        raise BootError(f"balloon={value!r}: use True, 'on' or 'deflate-on-oom'")
    if machine == "microvm":
        raise BootError("balloon: microvm has no PCI bus and the kernel drives virtio-balloon "
                        "over PCI: use machine='pc' or 'q35'")
    return mode


@dataclass(frozen=True)
class RunDir:
    """The socket paths inside a machine's private runtime directory."""

    path: Path

    @property
    def com1(self) -> Path:
        """Base of COM1's FIFOs: ``com1.out`` (guest output) and ``com1.in`` (input)."""
        return self.path / "com1"

    @property
    def com2(self) -> Path:
        return self.path / "com2"

    @property
    def qmp(self) -> Path:
        return self.path / "qmp.sock"

    @property
    def gdb(self) -> Path:
        return self.path / "gdb.sock"


def _check_token(token: str, what: str) -> str:
    if not token or any(c.isspace() for c in token):
        raise BootError(f"{what} {token!r} cannot be used on the kernel command line: "
                        "tokens are separated by spaces and cannot be empty or contain one")
    return token


def kernel_cmdline(config: MachineConfig) -> str:
    """The ``-append`` string: ``[KERNEL_ARGS] [OPTIONS] [NAME=VALUE] -- APP [ARGS]`` (kernel
    README)."""
    words = [_check_token(a, "kernel argument") for a in config.kernel_args]
    words += [_check_token(f"{k}={v}", "option") for k, v in config.options.items()]
    for name, value in config.env.items():
        if not name[:1].isupper():
            raise BootError(f"environment variable {name!r} must start with an upper-case "
                            "letter (that is how the kernel tells it from an option)")
        words.append(_check_token(f"{name}={value}", "environment variable"))
    words.append("--")
    if config.app:
        words.append(_check_token(config.app, "app name"))
        words += [_check_token(a, "argument") for a in config.args]
    line = " ".join(words)
    if not config.linux:
        check_cmdline(line, [config.app, *config.args] if config.app else [])
    return line


def build_command(config: MachineConfig, rundir: RunDir, kernel: Path,
                  initrd: Path | None) -> list[Flag]:
    """The QEMU command for ``config``, as explained flags (join ``words`` for argv)."""
    machine = config.machine
    if machine == "q35":
        machine = "q35,sata=off"
    flags = [
        Flag((config.qemu,), "the emulator: a whole x86-64 PC in one process"),
        Flag(("-machine", machine),
             {"pc": "the classic i440FX PC",
              "q35": "the newer Q35 chipset (SATA off: SeaBIOS would spend 0.5 s probing it)",
              "microvm": "a minimal machine with no PCI and no firmware tables"}[config.machine]),
        Flag(("-accel", config.accel),
             "TCG translates guest code in software (always works); KVM runs it on the CPU"
             if config.accel == "tcg" else "KVM: the host CPU runs guest code directly"),
        Flag(("-m", config.memory), "guest RAM"),
        Flag(("-smp", str(config.smp)), "number of virtual CPUs"),
        Flag(("-nodefaults", "-no-user-config"),
             "no default devices (VGA, NIC, floppy) and no host config: a fast, bare machine"),
        Flag(("-display", "none"), "no screen: the consoles are serial lines"),
        Flag(("-no-reboot",), "a guest reset (triple fault) ends QEMU instead of rebooting"),
        Flag(("-kernel", str(kernel)),
             "a Linux bzImage; QEMU's firmware starts it through the Linux boot protocol"
             if config.linux else
             "the kernel ELF; QEMU enters it through its PVH note in 32-bit protected mode"),
    ]
    if initrd is not None:
        flags.append(Flag(("-initrd", str(initrd)),
                          "the initramfs (cpio newc, gzip): busybox, /init, the app as a static "
                          "Linux program" if config.linux else
                          "the boot archive (cpio newc): the app .so and its data files"))
    flags += [
        Flag(("-append", kernel_cmdline(config)),
             "Linux's command line: its own options, then --, after which Linux gives the "
             "words to /init as arguments: the app and its arguments" if config.linux else
             "the kernel command line: options, then --, then the app and its arguments"),
        Flag(("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"),
             "a write of V to port 0xf4 ends QEMU with status (V << 1) | 1: the app's exit"
             + (" (on Linux, /init's helper writes it)" if config.linux else "")),
        Flag(("-chardev", f"pipe,id=com1,path={rundir.com1}"),
             "COM1 backend (the human console): FIFOs com1.out and com1.in; labkit sizes the "
             "pipe at 1 MiB so the guest never waits for the reader (exact icount)"),
        Flag(("-chardev", f"pipe,id=com2,path={rundir.com2}"),
             "COM2 backend (JSON events): FIFOs com2.out and com2.in"),
    ]
    if config.machine == "microvm":
        flags += [
            Flag(("-serial", "chardev:com1"), "COM1 (0x3f8), the machine's only default UART"),
            Flag(("-device", "isa-serial,iobase=0x2f8,irq=3,chardev=com2"),
                 "COM2 (0x2f8): microvm has one serial port unless asked for another"),
        ]
    else:
        flags += [
            Flag(("-serial", "chardev:com1"), "first serial port, COM1 at 0x3f8"),
            Flag(("-serial", "chardev:com2"), "second serial port, COM2 at 0x2f8"),
        ]
    flags += [
        Flag(("-chardev", f"socket,id=qmp,path={rundir.qmp}"),
             "QMP backend: QEMU connects to labkit's socket"),
        Flag(("-mon", "chardev=qmp,mode=control"),
             "the QEMU Machine Protocol on that socket: pause, resume, quit, events"),
    ]
    if config.gdb:
        flags.append(Flag(("-gdb", f"unix:{rundir.gdb},server=on,wait=off"),
                          "QEMU's GDB stub listens here; labkit's debugger or gdb attach"))
    if config.paused:
        flags.append(Flag(("-S",), "hold the CPU before its first instruction until 'cont'"))
    if config.icount is not None and config.icount is not False:
        shift = 0 if config.icount is True else int(config.icount)
        flags.append(Flag(("-icount", f"shift={shift},align=off,sleep=off"),
                          f"deterministic: the TSC advances 2^{shift} per guest instruction"))
    if config.net is not None:
        flags += config.net.flags(rundir.path)
    if config.balloon:
        oom = "on" if config.balloon == "deflate-on-oom" else "off"
        vectors = ",vectors=2" if _balloon_takes_vectors(config.qemu) else ""
        flags.append(Flag(("-device",
                           f"virtio-balloon-pci,id=balloon0{vectors},deflate-on-oom={oom}"),
                          "virtio-balloon: the host sets a target over QMP and the guest gives "
                          "pages back" + (" (and takes them back rather than fail an allocation)"
                                          if oom == "on" else "")))
    if config.extra:
        flags.append(Flag(tuple(config.extra), "extra arguments given by the caller"))
    return flags


@functools.lru_cache(maxsize=4)
def _balloon_takes_vectors(qemu: str) -> bool:
    """Whether this QEMU gives virtio-balloon-pci an MSI-X table (``vectors``, QEMU 9.2 and
    later); older ones refuse the property, and the kernel then uses the INTx line."""
    try:
        out = subprocess.run([qemu, "-device", "virtio-balloon-pci,help"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return re.search(r"^\s*vectors=", out, re.M) is not None


def argv(flags: Sequence[Flag]) -> list[str]:
    """The plain argv of explained flags."""
    return [w for f in flags for w in f.words]


def explain(flags: Sequence[Flag]) -> str:
    """The command one flag a line, each followed by its reason as a ``#`` comment."""
    width = min(60, max(len(shlex.join(f.words)) for f in flags))
    return "\n".join(f"{shlex.join(f.words):<{width}}  # {f.why}" for f in flags)


def shell_line(flags: Sequence[Flag]) -> str:
    """The command as one line to paste into a shell."""
    return shlex.join(argv(flags))


def default_runtime_base() -> str:
    """Where private runtime directories go: ``$LABKIT_RUNTIME_DIR``, ``$XDG_RUNTIME_DIR`` or
    the system temporary folder (short paths: a unix socket path holds 107 bytes)."""
    for var in ("LABKIT_RUNTIME_DIR", "XDG_RUNTIME_DIR"):
        value = os.environ.get(var)
        if value and os.path.isdir(value) and os.access(value, os.W_OK):
            return value
    return "/tmp" if os.path.isdir("/tmp") else ""
