# SPDX-License-Identifier: MIT
"""The loader against damaged apps: 2,000+ damaged copies of hello.so and libc_test.so (cut
short at random points; 1-3 bytes changed in the ELF header, program headers, dynamic section,
hash, symbol, string and relocation tables; three fixed seeds) must each get a verdict, never a
panic, a hang or a reset.

Most copies go through the kernel's ``loadcheck=1`` mode: one boot loads up to 60 archive
members in turn (checks, mapping, relocation, protection, then unmapping) and sends one COM2
``loadcheck`` event per member, which costs ~0.1 s per boot instead of ~0.1 s per copy. A
smaller set of damaged copies of hello.so is booted for real, so that what loads also runs:
each must end in a load error (status 129-141), run hello to its normal end, or (a damaged
file that passes every check but is wrong, e.g. a relocation moved to another GOT slot, so a
call goes through a slot left unbound) crash in the app after the loader announced
``app_loaded``: never a panic while loading, a hang or a reset. The copies come from
``kernel/fuzz/mutate.py``."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from labkit import paths
from labkit.cpio import write_archive
from labkit.events import Milestone, UnknownEvent
from labkit.machine import run
from labkit.outcome import Exited, LoadFailed, Panicked

pytestmark = pytest.mark.boot

SEEDS = (1, 2, 3)
PER_SEED = {"hello.so": 350, "libc_test.so": 350}      # 3 * 700 = 2,100 copies
MEMBERS_PER_BOOT = 60                                   # bootfs keeps 64 files
FULL_BOOTS = 60
VERDICTS = {"ok", "bad_elf", "truncated", "no_memory", "unresolved_symbol"}


def _mutate():
    path = paths.repo_root() / "kernel" / "fuzz" / "mutate.py"
    spec = importlib.util.spec_from_file_location("mutate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module
    spec.loader.exec_module(module)
    return module


def _copies(app: str, seed: int, n: int) -> list[tuple[str, bytes]]:
    data = (paths.images_dir() / "apps" / app).read_bytes()
    return list(_mutate().damaged_copies(data, n, seed))


async def _loadcheck(archive, expected: int) -> list[dict]:
    m = await run("hello", options={"loadcheck": 1}, initrd=archive, timeout=60)
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 0, \
        f"{m.outcome.describe()}\n{m.console.text[-2000:]}"
    verdicts = [e.data for e in m.events.events
                if isinstance(e, UnknownEvent) and e.ev == "loadcheck"]
    assert len(verdicts) == expected, m.console.text[-2000:]
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
            assert v["kind"] in VERDICTS, (label, v)
            kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
        assert verdicts[-1]["kind"] == "ok", verdicts[-1]
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
    app_faults = 0
    for label, outcome, console, loaded in results:
        if isinstance(outcome, LoadFailed):
            assert 129 <= outcome.status <= 141, (label, outcome)
            continue
        if isinstance(outcome, Panicked) and outcome.panic is not None and loaded:
            app_faults += 1                            # the loader had finished: the app ran
            continue
        assert isinstance(outcome, Exited) and outcome.app_status == 0, \
            (label, outcome.describe(), console[-1500:])
        assert "Hello from the unikernel!" in console, label
    assert app_faults <= FULL_BOOTS // 10, app_faults
    print(f"{FULL_BOOTS} full boots: {app_faults} app faults after a complete load")
