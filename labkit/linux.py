# SPDX-License-Identifier: MIT
"""A Linux guest booted by the same :class:`~labkit.machine.Machine`: the lab's baseline.

Lesson 05 and ``labkit bench`` run the same app source on the unikernel and on Linux, with the
same QEMU options (machine, memory, CPUs, devices, icount) and the same labkit API: console on
COM1, JSON events on COM2, the app's exit status as the machine's outcome::

    from labkit.linux import linux_machine
    m = linux_machine("hello", "3")        # a Machine: await m.start(); await m.wait()

**The kernel** (:func:`find_kernel`), first found wins:

1. ``$LABKIT_LINUX_KERNEL``: an x86-64 bzImage you name;
2. ``images/linux-guest/vmlinuz-*``: fetched earlier (the cache, so nothing downloads twice);
3. when downloading is allowed, :data:`PINNED_KERNEL`: one Debian 12 cloud kernel, the same
   on every machine whatever its distribution, fetched over HTTP(S) from Debian's archive (or
   snapshot.debian.org, which keeps every version) and checked against its SHA-256;
4. a readable ``/boot/vmlinuz-*``: this machine's own kernel;
5. the distribution's cloud kernel (Ubuntu's virtual kernel), downloaded with ``apt-get
   download`` and unpacked into ``images/linux-guest/``; no root is needed once apt's package
   lists exist (as root labkit runs ``apt-get update`` first if they do not).

Why one pinned kernel: the lessons compare figures (instructions per system call, boot time)
that depend on the kernel. Under ``-icount shift=0``, Debian 13's cloud kernel 6.12.117 spends
3,828 instructions on a ``getpid`` round trip where the pinned 6.1 spends 371, and 2.27e9
instructions (6.1: 1.63e9) before ``hello`` runs (``linux_call_costs`` and
``linux_boot_profile`` of :mod:`labkit.lessons.linux_guest`, with ``$LABKIT_LINUX_KERNEL``
naming each kernel in turn), so a guest taken from the host's distribution would give each
machine other figures, and slower cells. Whatever kernel is used, the lessons name the version
they booted (``LinuxKernel.version``).

Where none of these works, :class:`LinuxUnavailable` says what to do, and the lessons skip
the Linux side, saying so (``labkit.lessons.linux_guest`` holds the figures they cite instead).

**The initramfs** (:func:`build_initramfs`, cpio newc, gzip, cached by content): a static
busybox, the apps' static Linux builds from ``images/linux/`` (``kernel/Makefile`` makes them
from the same sources as the ``.so`` files) in ``/apps``, the virtio modules when the kernel
has them as modules, a helper ``/bin/labkit-guest`` (C, built here with ``gcc -static``) and
this ``/init``, a shell script: mount proc, sysfs and devtmpfs, load the virtio drivers if
there is a virtio device, bring up ``eth0`` if there is one, then run the app.

**The contract** is the unikernel's (``kernel/README.md``): the app and its arguments come
after ``--`` on the command line (Linux hands those words to ``/init``); the app's output goes
to COM1 (``console=ttyS0``); COM2 gets one JSON object a line, written by the helper through
the UART's I/O ports: milestones ``init`` (``/init`` starts) and ``app_exec`` (just before
``execve`` of the app; the unikernel's nearest is ``app_main``), then ``exit`` with the exact
status and the TSC. The helper then writes the status V to port 0xf4 (``isa-debug-exit``):

=============  ==========================================================================
V              meaning
=============  ==========================================================================
s & 63         the app exited with status s (a signal N is reported as 128 + N, as a shell
               does, with ``"signal": N`` in the ``exit`` event)
0x40           no such app in the initramfs (COM2 ``load_error``, kind ``not_found``)
0x42           ``execve`` refused it (``load_error``, kind ``bad_elf``)
=============  ==========================================================================

Machines: ``pc`` and ``q35`` boot it every time. On ``microvm`` the Debian kernel sometimes
stops before its first console line (about one boot in five here, after "Fast TSC calibration
failed"), so a Linux machine there needs a timeout and a retry.

A Linux kernel panic (for example too little memory) reboots at once (``panic=-1``), and
``-no-reboot`` turns that into QEMU's exit: the outcome is ``Panicked`` with no COM2 report;
:func:`linux_panic_message` finds the kernel's own words on the console.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any

from . import cpio, paths
from .cpio import Member
from .errors import BootError

__all__ = [
    "LinuxKernel",
    "LinuxGuest",
    "LinuxUnavailable",
    "find_kernel",
    "find_busybox",
    "build_initramfs",
    "prepare",
    "availability",
    "linux_config",
    "linux_machine",
    "run_linux",
    "compile_linux_app",
    "linux_panic_message",
    "guest_dir",
    "INIT_SCRIPT",
    "HELPER_SOURCE",
    "LINUX_KERNEL_ARGS",
    "LINUX_MILESTONES",
]

#: What a Linux guest's command line starts with: the console on COM1, no kernel log chatter
#: (the unikernel prints none either), and a panic ends the machine at once.
LINUX_KERNEL_ARGS = ("console=ttyS0", "quiet", "panic=-1")

#: The milestones a Linux guest sends on COM2, in order.
LINUX_MILESTONES = ("init", "app_exec")

#: Packages tried with ``apt-get download``: Debian's cloud kernel (small, made for VMs), then
#: Debian's generic and Ubuntu's virtual/generic kernels. Each is a metapackage that depends on
#: the versioned package holding ``/boot/vmlinuz-*``.
KERNEL_PACKAGES = ("linux-image-cloud-amd64", "linux-image-amd64", "linux-image-virtual",
                   "linux-image-generic")


@dataclass(frozen=True)
class PinnedDeb:
    """One Debian package, named exactly: where it lies in the archive, and its digests."""

    package: str
    version: str
    archive: str     # the archive's base URL
    pool_path: str   # its path under the archive
    size: int
    sha256: str
    sha1: str        # snapshot.debian.org's name for the file

    def urls(self) -> list[str]:
        """Where to fetch it, first the archive (``$LABKIT_DEBIAN_MIRROR`` replaces
        deb.debian.org), then snapshot.debian.org, which never drops a version."""
        mirror = os.environ.get("LABKIT_DEBIAN_MIRROR", "").rstrip("/")
        archive = self.archive if not mirror else \
            mirror + self.archive[len("https://deb.debian.org"):]
        return [f"{archive}/{self.pool_path}", f"https://snapshot.debian.org/file/{self.sha1}"]


#: The Linux guest's kernel on every machine: Debian 12's cloud kernel package (its digests
#: from Debian's signed package index).
PINNED_KERNEL = PinnedDeb(
    package="linux-image-6.1.0-57-cloud-amd64", version="6.1.192-3",
    archive="https://deb.debian.org/debian-security",
    pool_path="pool/updates/main/l/linux-signed-amd64/"
              "linux-image-6.1.0-57-cloud-amd64_6.1.192-3_amd64.deb",
    size=26_705_532,
    sha256="4fdd0172a8c3f41a97e92465b2ac1867e1c10d82d7aeed3d26ee7a5d14df1754",
    sha1="c012d284d480c5bc14b557fa314d97b1dd7615c1")

#: virtio drivers loaded by /init when the kernel has them as modules, in dependency order.
VIRTIO_MODULES = ("virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                  "virtio_pci", "failover", "net_failover", "virtio_net", "virtio_balloon")

#: busybox applets linked into /bin: what /init uses, and enough for a student's shell.
APPLETS = ("sh", "mount", "umount", "insmod", "lsmod", "ip", "ifconfig", "ping", "cat", "ls",
           "echo", "ps", "free", "dmesg", "uname", "sleep", "grep", "head", "tail", "wc", "env",
           "mkdir", "rm", "cp", "mv", "true", "false", "test", "top", "vi", "nc", "wget", "id")


class LinuxUnavailable(BootError):
    """No Linux kernel (or no busybox, or no static C library) could be had: the message says
    what was tried and what to do."""


WHAT_TO_DO = (
    "What to do, any one of:\n"
    "  - point LABKIT_LINUX_KERNEL at an x86-64 Linux kernel image (a bzImage such as "
    "/boot/vmlinuz-* copied from any Debian or Ubuntu machine);\n"
    f"  - with HTTPS access to deb.debian.org or snapshot.debian.org (through https_proxy if "
    f"there is one), run this again: labkit downloads the lab's kernel, Debian 12's "
    f"{PINNED_KERNEL.package} ({PINNED_KERNEL.urls()[0]});\n"
    "  - on Debian/Ubuntu, `sudo apt-get update` once lets labkit fall back to the "
    "distribution's cloud kernel (`apt-get download`, no root needed);\n"
    "  - otherwise the lessons run without the Linux side: they say what they skipped and show "
    "cited figures instead.")


# ------------------------------------------------------------------------------ the guest's code
#: The guest's own code, kept as files of the package, not as Python strings.
_GUEST_DATA = resources.files("labkit") / "data" / "linux_guest"

#: /init of the guest, a busybox shell script (labkit/data/linux_guest/init.sh).
INIT_SCRIPT = (_GUEST_DATA / "init.sh").read_text()

#: ``labkit-guest``, the guest's C helper (labkit/data/linux_guest/labkit-guest.c).
HELPER_SOURCE = (_GUEST_DATA / "labkit-guest.c").read_text()


# ------------------------------------------------------------------------------ where things are
def guest_dir() -> Path:
    """``images/linux-guest/``: the downloaded kernel, busybox, helper and initramfs files
    (``images/linux/`` holds the apps' static Linux builds)."""
    return paths.images_dir() / "linux-guest"


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    """Hold ``images/linux-guest/.lock`` so that two processes never fetch or build at once."""
    import fcntl

    folder = guest_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------ the kernel
@dataclass(frozen=True)
class LinuxKernel:
    """A Linux kernel image for the guest, and where it came from."""

    path: Path
    version: str
    source: str                  # how it was found, for humans and the bench record
    modules: Path | None = None  # a folder of the virtio .ko files, if it has them as modules

    def module_files(self) -> list[Path]:
        """The virtio modules, in an order /init can load them (each after what it
        depends on, from the ``depends=`` line of the module's own ``.modinfo``)."""
        if self.modules is None or not self.modules.is_dir():
            return []
        files = {m: self.modules / f"{m}.ko" for m in VIRTIO_MODULES
                 if (self.modules / f"{m}.ko").is_file()}
        order: list[str] = []

        def visit(name: str, path: tuple[str, ...] = ()) -> None:
            if name in order or name not in files or name in path:
                return
            for dep in module_depends(files[name].read_bytes()):
                visit(dep, (*path, name))
            order.append(name)

        for name in files:
            visit(name)
        return [files[m] for m in order]


def module_depends(ko: bytes) -> list[str]:
    """The modules a ``.ko`` file names in its ``depends=`` modinfo entry."""
    found = re.search(rb"(?:^|\0)depends=([^\0]*)", ko)
    return [d for d in found.group(1).decode(errors="replace").split(",") if d] if found else []


def bzimage_version(path: str | os.PathLike[str]) -> str | None:
    """The version string of an x86 bzImage (the setup header's ``kernel_version``), or None
    when the file is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x10000)   # the string follows the setup code (0x44c0 in 6.1)
    except OSError:
        return None
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        return None
    (offset,) = struct.unpack_from("<H", head, 0x20E)
    start = offset + 0x200
    if not 0x200 <= start < len(head):
        return ""
    raw = head[start:start + 256].split(b"\0", 1)[0]
    return raw.decode(errors="replace").split(" ", 1)[0]


def _kernel_at(path: Path, source: str, modules: Path | None = None) -> LinuxKernel | None:
    if not (path.is_file() and os.access(path, os.R_OK)):
        return None
    version = bzimage_version(path)
    if version is None:
        return None
    return LinuxKernel(path, version or path.name, source, modules)


def _cached_kernel() -> LinuxKernel | None:
    folder = guest_dir()
    record = folder / "SOURCE.json"
    pinned = f"vmlinuz-{PINNED_KERNEL.package[len('linux-image-'):]}"
    for path in sorted(folder.glob("vmlinuz-*"), key=lambda p: (p.name == pinned, p.name),
                       reverse=True):
        source = "images/linux-guest (cached)"
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(record.read_text())
            if info.get("kernel") == path.name:
                source = f"{info.get('how', 'cached')}, cached in images/linux-guest"
        modules = folder / f"modules-{path.name[len('vmlinuz-'):]}"
        found = _kernel_at(path, source, modules if modules.is_dir() else None)
        if found is not None:
            return found
    return None


def _boot_kernel() -> LinuxKernel | None:
    for path in sorted(Path("/boot").glob("vmlinuz-*"), reverse=True):
        version = path.name[len("vmlinuz-"):]
        host_modules = Path("/lib/modules") / version / "kernel"
        found = _kernel_at(path, f"{path} (this machine's kernel)")
        if found is not None:
            modules = _copy_host_modules(host_modules, version) if host_modules.is_dir() else None
            return LinuxKernel(found.path, found.version, found.source, modules)
    return None


def _copy_host_modules(tree: Path, version: str) -> Path | None:
    """The host's virtio modules for ``version``, uncompressed into the cache (busybox's
    insmod wants plain .ko files); None when it has none (drivers built in, or zstd)."""
    out = guest_dir() / f"modules-{version}"
    wanted = set(VIRTIO_MODULES)
    found = False
    for path in tree.rglob("*.ko*"):
        name, _, ext = path.name.partition(".ko")
        if name not in wanted:
            continue
        data = _decompress_module(path.read_bytes(), ext)
        if data is None:
            continue
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write(out / f"{name}.ko", data)
        found = True
    return out if found else None


def _decompress_module(data: bytes, ext: str) -> bytes | None:
    if ext == "":
        return data
    if ext == ".xz":
        return lzma.decompress(data)
    if ext == ".gz":
        return gzip.decompress(data)
    return None  # .zst: no decompressor in Python's standard library


def find_kernel(fetch: bool = True) -> LinuxKernel:
    """A Linux kernel for the guest (see the module docstring for the order); with ``fetch``
    False nothing is downloaded. Raises :class:`LinuxUnavailable` saying what to do."""
    env = os.environ.get("LABKIT_LINUX_KERNEL")
    if env:
        found = _kernel_at(Path(env), "LABKIT_LINUX_KERNEL")
        if found is None:
            raise LinuxUnavailable(f"LABKIT_LINUX_KERNEL={env} is not a readable x86 Linux "
                                   "kernel image (bzImage): fix the path or unset it")
        modules = guest_dir() / f"modules-{found.version}"
        return LinuxKernel(found.path, found.version, found.source,
                           modules if modules.is_dir() else None)
    with _locked():
        found = _cached_kernel()
        pin_failed = ""
        if found is None and fetch:
            try:
                found = _fetch_pinned_kernel()
            except LinuxUnavailable as exc:
                pin_failed = str(exc)
        found = found or _boot_kernel()
        if found is not None:
            return found
        if not fetch:
            raise LinuxUnavailable("no Linux kernel in images/linux-guest/ or /boot, and "
                                   "downloading was not allowed.\n" + WHAT_TO_DO)
        return _fetch_kernel(pin_failed)


# ------------------------------------------------------------------------------ the pinned kernel
def _fetch_url(url: str, target: Path, pin: PinnedDeb, timeout: float = 60.0) -> str | None:
    """Download ``url`` into ``target`` checking size and SHA-256; None when done, else why
    not. urllib honours http_proxy/https_proxy."""
    import urllib.error
    import urllib.request

    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
                if out.tell() > pin.size:
                    break
        size = tmp.stat().st_size
        if size != pin.size or h.hexdigest() != pin.sha256:
            return f"{url}: not the expected file ({size} bytes, sha256 {h.hexdigest()[:16]}...)"
        os.replace(tmp, target)
        return None
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return f"{url}: {exc}"
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_pinned_kernel() -> LinuxKernel:
    """Download :data:`PINNED_KERNEL` and unpack it into ``images/linux-guest/`` (lock
    held); raises :class:`LinuxUnavailable` saying which URLs failed."""
    pin = PINNED_KERNEL
    folder = guest_dir()
    deb = folder / Path(pin.pool_path).name
    errors = []
    for url in pin.urls():
        why = _fetch_url(url, deb, pin)
        if why is None:
            break
        errors.append(why)
    else:
        raise LinuxUnavailable("could not download the lab's Linux kernel "
                               f"{pin.package} {pin.version}: " + "; ".join(errors))
    try:
        kernel, modules = _unpack_kernel(deb, folder)
    finally:
        deb.unlink(missing_ok=True)
    how = f"Debian 12's {pin.package} {pin.version}, the lab's pinned kernel"
    _atomic_write(folder / "SOURCE.json", json.dumps(
        {"kernel": kernel.name, "package": pin.package, "version": pin.version, "how": how,
         "sha256": pin.sha256}, indent=2).encode() + b"\n")
    found = _kernel_at(kernel, how + ", unpacked into images/linux-guest", modules)
    if found is None:
        raise LinuxUnavailable(f"{kernel} from {pin.package} is not a bzImage")
    return found


# ------------------------------------------------------------------------------ apt-get download
def _apt(args: Sequence[str], cwd: Path | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def _apt_depends(package: str) -> list[str] | None:
    """The packages ``package`` depends on, or None when apt does not know it."""
    proc = _apt(["apt-cache", "depends", package], timeout=60)
    if proc.returncode != 0 or "Depends:" not in proc.stdout:
        return None if proc.returncode != 0 or not proc.stdout.strip() else []
    return [line.split(":", 1)[1].strip().strip("<>") for line in proc.stdout.splitlines()
            if line.strip().startswith("Depends:")]


def _resolve_kernel_package() -> str | None:
    """The versioned package behind the first kernel metapackage apt knows."""
    for meta in KERNEL_PACKAGES:
        deps = _apt_depends(meta)
        if deps is None:
            continue
        for dep in deps:
            if dep.startswith("linux-image-") and re.search(r"\d", dep):
                return dep
    return None


def _deb_members(deb: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """The files of a .deb's data archive: through ``dpkg-deb`` when it is installed, else
    read here (ar + tar with gzip or xz; Ubuntu's zstd needs dpkg-deb)."""
    if shutil.which("dpkg-deb"):
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for info in tar:
                    yield info, tar.extractfile(info) if info.isfile() else None
        finally:
            proc.stdout.close()
            proc.wait()
        return
    blob = deb.read_bytes()
    if not blob.startswith(b"!<arch>\n"):
        raise LinuxUnavailable(f"{deb} is not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(blob):
        name = blob[pos:pos + 16].decode().strip().rstrip("/")
        size = int(blob[pos + 48:pos + 58].decode().strip())
        data = blob[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise LinuxUnavailable(f"{deb} is compressed with zstd: install dpkg "
                                       "(dpkg-deb) to unpack it")
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                for info in tar:
                    yield info, tar.extractfile(info) if info.isfile() else None
            return
    raise LinuxUnavailable(f"{deb} has no data archive")


def _unpack_kernel(deb: Path, folder: Path) -> tuple[Path, Path | None]:
    """Take ``boot/vmlinuz-*`` and the virtio modules out of a kernel package."""
    kernel: Path | None = None
    version = ""
    modules: dict[str, bytes] = {}
    for info, f in _deb_members(deb):
        name = info.name.lstrip("./")
        if f is None:
            continue
        if re.fullmatch(r"boot/vmlinuz-[^/]+", name):
            version = name[len("boot/vmlinuz-"):]
            kernel = _atomic_write(folder / f"vmlinuz-{version}", f.read())
        elif name.startswith("lib/modules/") and ".ko" in name:
            mod, _, ext = Path(name).name.partition(".ko")
            if mod in VIRTIO_MODULES:
                data = _decompress_module(f.read(), ext)
                if data is not None:
                    modules[mod] = data
    if kernel is None:
        raise LinuxUnavailable(f"{deb.name} holds no boot/vmlinuz-*")
    mod_dir = None
    if modules:
        mod_dir = folder / f"modules-{version}"
        mod_dir.mkdir(exist_ok=True)
        for mod, data in modules.items():
            _atomic_write(mod_dir / f"{mod}.ko", data)
    return kernel, mod_dir


def _download(package: str, folder: Path) -> Path:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        proc = _apt(["apt-get", "download", package], cwd=Path(tmp))
        debs = sorted(Path(tmp).glob("*.deb"))
        if proc.returncode != 0 or not debs:
            raise LinuxUnavailable(f"`apt-get download {package}` failed: "
                                   f"{(proc.stderr or proc.stdout).strip()[-400:]}\n" + WHAT_TO_DO)
        target = folder / debs[0].name
        os.replace(debs[0], target)
        return target


def _fetch_kernel(pin_failed: str = "") -> LinuxKernel:
    """Download and unpack the distribution's kernel into ``images/linux-guest/`` (lock
    held): the fallback when the pinned kernel could not be had (``pin_failed`` says why)."""
    note = f"{pin_failed}\n" if pin_failed else ""
    if shutil.which("apt-get") is None or shutil.which("apt-cache") is None:
        raise LinuxUnavailable(f"{note}no Linux kernel found and this is not a Debian/Ubuntu "
                               "machine (no apt-get) to download one.\n" + WHAT_TO_DO)
    folder = guest_dir()
    package = _resolve_kernel_package()
    if package is None and os.geteuid() == 0:
        _apt(["apt-get", "update", "-qq"])      # a fresh container has no package lists yet
        package = _resolve_kernel_package()
    if package is None:
        raise LinuxUnavailable("apt knows none of the kernel packages "
                               f"{', '.join(KERNEL_PACKAGES)} (no package lists: run "
                               "`sudo apt-get update`).\n" + WHAT_TO_DO)
    deb = _download(package, folder)
    try:
        kernel, modules = _unpack_kernel(deb, folder)
    finally:
        deb.unlink(missing_ok=True)
    version = deb.name.split("_")[1] if deb.name.count("_") >= 2 else "?"
    how = (f"apt-get download {package} ({version.replace('%3a', ':')}), this distribution's "
           "kernel, not the lab's pinned one")
    _atomic_write(folder / "SOURCE.json", json.dumps(
        {"kernel": kernel.name, "package": package, "version": version, "how": how},
        indent=2).encode() + b"\n")
    found = _kernel_at(kernel, how + ", unpacked into images/linux-guest", modules)
    if found is None:
        raise LinuxUnavailable(f"{kernel} from {package} is not a bzImage")
    return found


# ------------------------------------------------------------------------------ busybox, helper
def _is_static(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return False
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error, IndexError):
        return False
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def find_busybox(fetch: bool = True) -> Path:
    """A statically linked busybox: ``$LABKIT_BUSYBOX``, the cached one, the host's (Debian
    package busybox-static), or ``busybox-static`` downloaded with ``apt-get download``."""
    candidates = [os.environ.get("LABKIT_BUSYBOX"), str(guest_dir() / "busybox"),
                  shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"]
    for c in candidates:
        if c and Path(c).is_file() and _is_static(Path(c)):
            return Path(c)
    if fetch and shutil.which("apt-get"):
        with _locked() as folder:
            if (folder / "busybox").is_file():
                return folder / "busybox"
            deb = _download("busybox-static", folder)
            try:
                for info, f in _deb_members(deb):
                    if f is not None and info.name.lstrip("./") in ("bin/busybox",
                                                                     "usr/bin/busybox"):
                        return _atomic_write(folder / "busybox", f.read(), 0o755)
            finally:
                deb.unlink(missing_ok=True)
    raise LinuxUnavailable("no statically linked busybox for the Linux guest: install the "
                           "Debian/Ubuntu package busybox-static (or set LABKIT_BUSYBOX)")


def build_helper() -> Path:
    """``labkit-guest`` (:data:`HELPER_SOURCE`) compiled with ``gcc -static``, cached by its
    source's hash."""
    folder = guest_dir() / "build"
    out = folder / f"labkit-guest-{_digest(HELPER_SOURCE)}"
    if out.is_file():
        return out
    gcc = paths.find_tool("gcc")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "labkit-guest.c"
        src.write_text(HELPER_SOURCE)
        binary = Path(tmp) / "labkit-guest"
        proc = subprocess.run([gcc, "-static", "-O2", "-s", "-Wall", "-Wextra", "-Werror", "-o",
                               str(binary), str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise LinuxUnavailable("cannot build the guest helper with `gcc -static` (is the "
                                   "static C library there? Debian/Ubuntu package libc6-dev):\n"
                                   + proc.stderr.strip()[-800:])
        return _atomic_write(out, binary.read_bytes(), 0o755)


# ------------------------------------------------------------------------------ initramfs
def linux_apps() -> list[str]:
    """The apps with a static Linux build in ``images/linux/``."""
    folder = paths.images_dir() / "linux"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and os.access(p, os.X_OK) and not p.name.startswith("."))


_DIR, _FILE, _EXEC, _LINK, _CHR = 0o040755, 0o100644, 0o100755, 0o120777, 0o020600


def initramfs_entries(apps: Sequence[str], kernel: LinuxKernel | None, busybox: Path,
                      helper: Path, extra: Mapping[str, Path] | None = None,
                      ) -> list[Member]:
    """What the initramfs holds, as cpio members (see :func:`build_initramfs`); ``extra``
    maps more app names to static binaries anywhere (a student's program)."""
    entries = [Member(d, b"", _DIR) for d in ("bin", "apps", "dev", "proc", "sys", "tmp", "lib",
                                              "lib/modules")]
    entries.append(Member("dev/console", b"", _CHR, (5 << 8) | 1))
    entries.append(Member("init", INIT_SCRIPT.encode(), _EXEC))
    entries.append(Member("bin/busybox", busybox.read_bytes(), _EXEC))
    entries += [Member(f"bin/{a}", b"busybox", _LINK) for a in APPLETS]
    entries.append(Member("bin/labkit-guest", helper.read_bytes(), _EXEC))
    for app in apps:
        binary = paths.images_dir() / "linux" / app
        if not binary.is_file():
            raise BootError(f"no Linux build of app {app!r} at {binary}: build it with "
                            "`make build` (kernel/Makefile builds images/linux/APP)")
        entries.append(Member(f"apps/{app}", binary.read_bytes(), _EXEC))
    for name, binary in (extra or {}).items():
        entries.append(Member(f"apps/{name}", Path(binary).read_bytes(), _EXEC))
    if kernel is not None:
        entries += [Member(f"lib/modules/{i:02d}-{m.name}", m.read_bytes(), _FILE)
                    for i, m in enumerate(kernel.module_files())]
    return entries


def build_initramfs(apps: Sequence[str] | None = None, kernel: LinuxKernel | None = None,
                    modules: bool = True, fetch: bool = True,
                    extra: Mapping[str, Path] | None = None) -> Path:
    """The initramfs (cpio newc, gzip) for ``apps`` (default: every app in ``images/linux/``),
    cached in ``images/linux-guest/`` under a name made from its contents' hash. The default
    set is also written as ``images/linux-guest/initramfs.cpio.gz``. ``modules`` adds the
    virtio modules of ``kernel`` (which /init loads only when a virtio device is present);
    ``extra`` adds static programs from elsewhere (see :func:`compile_linux_app`)."""
    default_set = apps is None and not extra
    apps = linux_apps() if apps is None else list(apps)
    if not apps and not extra:
        raise BootError("no apps built for Linux in images/linux/: run `make build`")
    busybox = find_busybox(fetch)
    helper = build_helper()
    entries = initramfs_entries(apps, kernel if modules else None, busybox, helper, extra)
    key = _digest(*(f"{e.name}:{e.mode}:{e.rdev}" for e in entries),
                  *(hashlib.sha256(e.data).hexdigest() for e in entries))
    label = "all" if default_set else "-".join([*apps, *(extra or {})])[:40]
    if any(e.name.startswith("lib/modules/") and e.name.endswith(".ko") for e in entries):
        label += "+virtio"
    with _locked() as folder:
        out = folder / f"initramfs-{label}-{key}.cpio.gz"
        if not out.is_file():
            _atomic_write(out, gzip.compress(cpio.pack(entries), compresslevel=9, mtime=0))
        _forget_old(folder, f"initramfs-{label}-{'?' * 16}.cpio.gz", keep=out)
        if default_set:
            plain = folder / "initramfs.cpio.gz"
            if not plain.is_file() or plain.read_bytes() != out.read_bytes():
                shutil.copyfile(out, plain)
    return out


def _forget_old(folder: Path, pattern: str, keep: Path, age: float = 24 * 3600) -> None:
    """Remove earlier builds of the same initramfs, once they are a day old: another process
    may have just built one and not yet handed it to QEMU."""
    import time

    for old in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if old != keep and time.time() - old.stat().st_mtime > age:
                old.unlink()


# ------------------------------------------------------------------------------ the guest
@dataclass(frozen=True)
class LinuxGuest:
    """Everything a Linux boot needs: the kernel and an initramfs holding ``apps``."""

    kernel: LinuxKernel
    initramfs: Path
    apps: tuple[str, ...]

    def describe(self) -> str:
        return (f"Linux {self.kernel.version} ({self.kernel.source}); initramfs "
                f"{self.initramfs.name}, {self.initramfs.stat().st_size / 1024:,.0f} KiB, "
                f"apps: {', '.join(self.apps)}")


def prepare(apps: Sequence[str] | None = None, modules: bool = True, fetch: bool = True,
            extra: Mapping[str, Path] | None = None) -> LinuxGuest:
    """Find (or fetch) the kernel and build the initramfs for ``apps`` (default: all) and
    ``extra`` programs; raises :class:`LinuxUnavailable`."""
    kernel = find_kernel(fetch)
    chosen = tuple(linux_apps() if apps is None and not extra else apps or ())
    initramfs = build_initramfs(None if apps is None and not extra else chosen, kernel, modules,
                                fetch, extra)
    return LinuxGuest(kernel, initramfs, (*chosen, *(extra or {})))


#: kernel/Makefile's LINUX_CFLAGS: how the lab apps are built as static Linux programs.
LINUX_CFLAGS = ("-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-static", "-pthread")


def compile_linux_app(source: str | os.PathLike[str], name: str | None = None,
                      out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Build a C file as a static Linux program the way ``kernel/Makefile`` builds the lab
    apps; returns the binary (put it in a guest with ``prepare(extra={name: binary})``)."""
    src = Path(source)
    if not src.is_file():
        raise BootError(f"{source}: no such file")
    out = Path(out_dir or tempfile.mkdtemp(prefix="labkit-linux-app-")) / (name or src.stem)
    proc = subprocess.run([paths.find_tool("gcc"), *LINUX_CFLAGS, "-o", str(out), str(src)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BootError(f"{src.name} does not compile as a static Linux program:\n"
                        + proc.stderr.strip()[-1500:])
    return out


def availability(fetch: bool = True) -> tuple[bool, str]:
    """``(True, what will boot)`` or ``(False, why not and what to do)``; never raises."""
    try:
        return True, prepare(fetch=fetch).describe()
    except (LinuxUnavailable, BootError, OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)


def linux_config(app: str | None = "hello", *args: str, guest: LinuxGuest | None = None,
                 kernel_args: Sequence[str] = (), **options: Any) -> Any:
    """The :class:`~labkit.qemuargs.MachineConfig` that boots ``app`` on Linux with the same
    options a unikernel machine takes (``machine``, ``memory``, ``icount``, ``net`` ...).
    ``kernel_args`` are added to :data:`LINUX_KERNEL_ARGS` (e.g. ``["mitigations=off"]``)."""
    from .qemuargs import MachineConfig

    if guest is None:   # the app alone; for a busybox command (sh, dmesg ...) every app
        guest = prepare(apps=[app] if app in linux_apps() else None)
    if "kernel" in options or "initrd" in options:
        raise TypeError("linux_config chooses kernel and initrd itself: pass guest=...")
    return MachineConfig(app=app, args=args, kernel=guest.kernel.path, initrd=guest.initramfs,
                         linux=True, kernel_args=(*LINUX_KERNEL_ARGS, *kernel_args), **options)


def linux_machine(app: str | None = "hello", *args: str, guest: LinuxGuest | None = None,
                  echo: IO[str] | None = None, kernel_args: Sequence[str] = (),
                  **options: Any) -> Any:
    """A :class:`~labkit.machine.Machine` (not started) that boots ``app`` on Linux."""
    from .machine import Machine

    return Machine(config=linux_config(app, *args, guest=guest, kernel_args=kernel_args,
                                       **options), echo=echo)


async def run_linux(app: str | None = "hello", *args: str, timeout: float = 60.0,
                    **options: Any) -> Any:
    """Boot ``app`` on Linux, wait for it to end (killing it after ``timeout`` s) and return
    the stopped machine, as :func:`labkit.machine.run` does for the unikernel."""
    machine = linux_machine(app, *args, **options)
    await machine.start()
    try:
        await machine.wait(timeout)
    finally:
        await machine.close()
    return machine


_PANIC = re.compile(r"Kernel panic - not syncing: (.*)")


def linux_panic_message(console_text: str) -> str | None:
    """The reason a Linux guest gave for its panic, from the console; None if it did not."""
    found = _PANIC.findall(console_text)
    return found[-1].strip() if found else None
