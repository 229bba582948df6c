# SPDX-License-Identifier: MIT
"""Boot archives: the cpio "newc" format the kernel reads its app and data files from.

The one writer of the format in the tree: labkit's boot archives, the Linux guest's initramfs
(:mod:`labkit.linux`) and the kernel build's (``kernel/tools/mkcpio.py``) all come from here.
Every field but the name, mode, size and device number is 0 (mtime too), so the same inputs
give the same bytes.

Each member is a 110-byte ASCII header (magic ``070701`` and thirteen 8-hex-digit fields), the
NUL-terminated name, padding to a multiple of 4, the data, padding to a multiple of 4. The
archive ends with a member named ``TRAILER!!!``.

>>> blob = pack([("hello.so", b"\\x7fELF"), ("data.txt", b"hi\\n")])
>>> [(m.name, m.data) for m in unpack(blob)]
[('hello.so', b'\\x7fELF'), ('data.txt', b'hi\\n')]
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ArchiveError

__all__ = ["Member", "pack", "unpack", "write_archive", "read_archive"]

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
_FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
           "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")
_HEADER_LEN = 6 + 8 * len(_FIELDS)


@dataclass(frozen=True)
class Member:
    """One file of a boot archive."""

    name: str
    data: bytes
    mode: int = 0o100644
    #: a device node's number, ``major << 8 | minor`` (``(5 << 8) | 1`` is /dev/console)
    rdev: int = 0


def _pad4(n: int) -> int:
    return (4 - n % 4) % 4


def _header(ino: int, name: str, mode: int, size: int, nlink: int = 1, rdev: int = 0) -> bytes:
    encoded = name.encode() + b"\0"
    values = dict.fromkeys(_FIELDS, 0)
    values.update(ino=ino, mode=mode, nlink=nlink, filesize=size, namesize=len(encoded),
                  rdevmajor=rdev >> 8, rdevminor=rdev & 0xFF)
    head = MAGIC + b"".join(b"%08X" % values[f] for f in _FIELDS) + encoded
    return head + b"\0" * _pad4(len(head))


def pack(members: Iterable[tuple[str, bytes] | Member]) -> bytes:
    """Return a newc archive holding ``members`` (``(name, data)`` pairs or :class:`Member`)."""
    out = bytearray()
    for ino, item in enumerate(members, start=1):
        member = item if isinstance(item, Member) else Member(item[0], bytes(item[1]))
        if not member.name or "\0" in member.name or member.name == TRAILER:
            raise ArchiveError(f"invalid member name {member.name!r} in boot archive")
        out += _header(ino, member.name, member.mode, len(member.data), rdev=member.rdev)
        out += member.data + b"\0" * _pad4(len(member.data))
    out += _header(0, TRAILER, 0, 0, nlink=1)
    return bytes(out)


def unpack(blob: bytes) -> list[Member]:
    """Parse a newc archive; raises :class:`ArchiveError` on a malformed one."""
    members: list[Member] = []
    pos = 0
    while True:
        if pos + _HEADER_LEN > len(blob):
            raise ArchiveError(f"cpio archive truncated at offset {pos} (no {TRAILER} member)")
        if blob[pos:pos + 6] != MAGIC:
            raise ArchiveError(f"bad cpio newc magic at offset {pos}: {blob[pos:pos + 6]!r}")
        try:
            fields = {f: int(blob[pos + 6 + 8 * i: pos + 14 + 8 * i], 16)
                      for i, f in enumerate(_FIELDS)}
        except ValueError as exc:
            raise ArchiveError(f"bad cpio header field at offset {pos}") from exc
        name_start = pos + _HEADER_LEN
        name = blob[name_start:name_start + fields["namesize"] - 1].decode(errors="replace")
        data_start = name_start + fields["namesize"]
        data_start += _pad4(data_start)
        data_end = data_start + fields["filesize"]
        if data_end > len(blob):
            raise ArchiveError(f"cpio member {name!r} runs past the end of the archive")
        if name == TRAILER:
            return members
        members.append(Member(name, blob[data_start:data_end], fields["mode"],
                              (fields["rdevmajor"] << 8) | fields["rdevminor"]))
        pos = data_end + _pad4(data_end)


def write_archive(path: str | os.PathLike[str],
                  files: Iterable[str | os.PathLike[str] | tuple[str, bytes]]) -> Path:
    """Write a boot archive at ``path`` from files on disk (stored under their base name)
    or ``(name, data)`` pairs; returns the path. The archive appears whole or not at all
    (written aside, then renamed)."""
    members = []
    for item in files:
        if isinstance(item, tuple):
            members.append(Member(item[0], item[1]))
        else:
            p = Path(item)
            members.append(Member(p.name, p.read_bytes()))
    out = Path(path)
    aside = out.with_name(out.name + ".tmp")
    aside.write_bytes(pack(members))
    os.replace(aside, out)
    return out


def read_archive(path: str | os.PathLike[str]) -> list[Member]:
    """Members of the boot archive at ``path``."""
    return unpack(Path(path).read_bytes())
