# SPDX-License-Identifier: MIT
"""The loader against damaged apps: 2,000+ damaged copies of hello.so and libc_test.so (cut
short at random points; 1-3 bytes changed in the ELF header, program headers, dynamic section,
hash, symbol, string and relocation tables; three fixed seeds) must each get a verdict, never a
panic, a hang or a reset.

Most copies go through the kernel's ``loadcheck=1`` mode: one boot loads up to 60 archive
members in turn (checks, mapping, relocation, protection, then unmapping) and sends one COM2
``loadcheck`` event per member, which costs ~0.1 s per boot instead of ~0.1 s per copy. A
smaller set of damaged copies of hello.so is booted for real, so that what loads also runs:
each must end in a load error (status 129-141) or run hello to its normal end: never a panic
(in the loader or later in the app, e.g. through a GOT slot a damaged relocation left
unbound), a hang or a reset. One damage no loader can see is let through: a defined function's
address in .dynsym moved to another place inside the code (main at 0x1001 instead of 0x1040).
Every address in an executable segment may start a function; only the symbol table says
which do, and it is the damaged part, so the app then runs from a wrong instruction. The
copies come from ``kernel/fuzz/mutate.py``."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import struct
import subprocess
import sys

import pytest

from labkit import paths
from labkit.cpio import write_archive
from labkit.events import LoadCheckDone, LoadCheckEvent, Milestone
from labkit.machine import run
from labkit.outcome import Exited, LoadFailed, Panicked

pytestmark = pytest.mark.boot

SEEDS = (1, 2, 3)
PER_SEED = {"hello.so": 350, "libc_test.so": 350}      # 3 * 700 = 2,100 copies
MEMBERS_PER_BOOT = 60                                   # bootfs keeps 64 files
FULL_BOOTS = 100
VERDICTS = {"ok", "bad_elf", "truncated", "no_memory", "unresolved_symbol"}


def _mutate():
    path = paths.repo_root() / "kernel" / "fuzz" / "mutate.py"
    spec = importlib.util.spec_from_file_location("mutate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module
    spec.loader.exec_module(module)
    return module


def _moved_code_symbols(intact: bytes, copy: bytes) -> bool:
    """The copy differs from the intact file in the address of a defined function symbol, and
    that address still lies in an executable segment (see the module docstring)."""
    phoff, phnum = struct.unpack_from("<Q", intact, 32)[0], struct.unpack_from("<H", intact, 56)[0]
    code = []
    for i in range(phnum):
        p_type, p_flags, _, p_vaddr, _, _, p_memsz = struct.unpack_from(
            "<IIQQQQQ", intact, phoff + i * 56)
        if p_type == 1 and p_flags & 1:
            code.append((p_vaddr, p_vaddr + p_memsz))
    dynsym = _mutate().regions(intact)["dynsym"]
    for at in range(dynsym[0], dynsym[1], 24):
        shndx_old, value_old = struct.unpack_from("<HQ", intact, at + 6)
        if len(copy) < at + 16:
            return False
        shndx_new, value_new = struct.unpack_from("<HQ", copy, at + 6)
        in_code = any(lo <= value_new < hi for lo, hi in code)
        if shndx_old and shndx_new and value_new != value_old and in_code:
            return True
    return False


def _copies(app: str, seed: int, n: int) -> list[tuple[str, bytes]]:
    data = (paths.images_dir() / "apps" / app).read_bytes()
    return list(_mutate().damaged_copies(data, n, seed))


async def _loadcheck(archive, expected: int) -> list[LoadCheckEvent]:
    m = await run("hello", options={"loadcheck": 1}, initrd=archive, timeout=60)
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 0, \
        f"{m.outcome.describe()}\n{m.console.text[-2000:]}"
    verdicts = m.events.of_type(LoadCheckEvent)
    assert len(verdicts) == expected, m.console.text[-2000:]
    done = m.events.of_type(LoadCheckDone)
    assert len(done) == 1 and done[0].loaded + done[0].refused == expected, done
    return verdicts


@pytest.mark.parametrize("app", sorted(PER_SEED))
async def test_every_damaged_copy_gets_a_verdict(app, tmp_path):
    copies = [(f"s{seed}-{label}", blob) for seed in SEEDS
              for label, blob in _copies(app, seed, PER_SEED[app])]
    intact = (paths.images_dir() / "apps" / app).read_bytes()
    kinds: dict[str, int] = {}
    for start in range(0, len(copies), MEMBERS_PER_BOOT):
        batch = copies[start:start + MEMBERS_PER_BOOT]
        members = [(f"{start + i:05d}.so", blob) for i, (_, blob) in enumerate(batch)]
        members.append(("intact.so", intact))           # the control must load every time
        archive = write_archive(tmp_path / f"batch{start}.cpio", members)
        verdicts = await _loadcheck(archive, len(members))
        for (label, _), v in zip(batch + [("intact", b"")], verdicts, strict=True):
            assert v.verdict in VERDICTS, (label, v)
            kinds[v.verdict] = kinds.get(v.verdict, 0) + 1
        assert verdicts[-1].verdict == "ok", verdicts[-1]
    refused = sum(n for k, n in kinds.items() if k != "ok")
    assert refused > len(copies) // 2, kinds           # the damage is real
    print(f"{app}: {len(copies)} damaged copies: {kinds}")


async def test_damaged_hello_boots_end_in_a_load_error_or_run_normally():
    copies = _copies("hello.so", 7, FULL_BOOTS)
    sem = asyncio.Semaphore(2)

    async def boot(label: str, blob: bytes, tmp) -> tuple[str, object, str]:
        async with sem:
            archive = write_archive(tmp / f"{len(label)}-{abs(hash(label))}.cpio",
                                    [("hello.so", blob)])
            m = await run("hello", initrd=archive, timeout=30)
            loaded = any(isinstance(e, Milestone) and e.name == "app_loaded"
                         for e in m.events.events)
            return label, m.outcome, m.console.text, loaded

    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        results = await asyncio.gather(*(boot(lbl, b, Path(d)) for lbl, b in copies))
    refused = moved = 0
    intact = (paths.images_dir() / "apps" / "hello.so").read_bytes()
    blobs = dict(copies)
    for label, outcome, console, loaded in results:
        if isinstance(outcome, LoadFailed):
            assert 129 <= outcome.status <= 141, (label, outcome)
            refused += 1
            continue
        if isinstance(outcome, Panicked) and loaded and _moved_code_symbols(intact, blobs[label]):
            moved += 1                                 # a well-formed file that points elsewhere
            continue
        assert not isinstance(outcome, Panicked), \
            (label, "after app_loaded" if loaded else "while loading", outcome.describe(),
             console[-1500:])
        assert isinstance(outcome, Exited) and outcome.app_status == 0, \
            (label, outcome.describe(), console[-1500:])
        assert "Hello from the unikernel!" in console, label
    print(f"{FULL_BOOTS} full boots: {refused} refused, {FULL_BOOTS - refused - moved} ran, "
          f"{moved} ran from a moved function address, 0 other panics")


def test_fuzz_regressions_replay_under_sanitizers():
    """The host build of the loader and the archive parser (``make fuzz``'s shim, ASan and
    UBSan, no libFuzzer) runs the seeds and every input a fuzz run kept in
    kernel/fuzz/regressions/ without a finding."""
    if shutil.which("clang") is None:
        pytest.skip("clang is not installed: the host fuzz build needs it")
    kernel = paths.repo_root() / "kernel"
    r = subprocess.run(["make", "-s", "-C", str(kernel), "fuzz-replay"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "libclang_rt" in r.stderr:
        pytest.skip("clang's sanitizer runtime is missing (Debian: libclang-rt-14-dev)")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    kept = [p for p in (kernel / "fuzz" / "regressions").rglob("*") if p.is_file()
            and not p.name.startswith(".")]
    assert kept, "no regression inputs"
    assert r.stdout.count("replayed") == 2, r.stdout
