# SPDX-License-Identifier: MIT
"""The Linux guest baseline (labkit.linux): its pieces without QEMU, then real boots.

The boot tests need a Linux kernel; labkit fetches one once (``apt-get download``) into
``images/linux-guest/`` and later runs reuse it. Where none can be had (no network, not
Debian/Ubuntu), they are skipped with the reason labkit gives.
"""

from __future__ import annotations

import gzip
import struct

import pytest

from labkit import cpio, linux, qemuargs
from labkit.events import ExitEvent, LoadErrorEvent, Milestone
from labkit.outcome import Exited, LoadFailed


# ----------------------------------------------------------------------------- no QEMU
def test_command_line_and_explanations_for_linux(tmp_path):
    cfg = qemuargs.MachineConfig(app="hello", args=["3"], env={"NAME": "x"}, linux=True,
                                 kernel_args=linux.LINUX_KERNEL_ARGS)
    assert qemuargs.kernel_cmdline(cfg) == "console=ttyS0 quiet panic=-1 NAME=x -- hello 3"
    flags = qemuargs.build_command(cfg, qemuargs.RunDir(tmp_path), tmp_path / "bzImage",
                                   tmp_path / "initramfs.cpio.gz")
    text = qemuargs.explain(flags)
    assert "Linux bzImage" in text and "busybox" in text and "/init" in text
    plain = qemuargs.MachineConfig(app="hello")
    assert "PVH" in qemuargs.explain(qemuargs.build_command(
        plain, qemuargs.RunDir(tmp_path), tmp_path / "k.elf", None))


def test_bzimage_version(tmp_path):
    head = bytearray(0x400)
    head[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", head, 0x20E, 0x100)          # version string at 0x300
    head[0x300:0x320] = b"6.1.0-lab (root@x) #1 SMP\0"
    path = tmp_path / "bz"
    path.write_bytes(bytes(head))
    assert linux.bzimage_version(path) == "6.1.0-lab"
    (tmp_path / "elf").write_bytes(b"\x7fELF" + bytes(0x400))
    assert linux.bzimage_version(tmp_path / "elf") is None


def test_module_depends_and_load_order(tmp_path):
    assert linux.module_depends(b"\0license=GPL\0depends=virtio_ring,virtio\0") == [
        "virtio_ring", "virtio"]
    assert linux.module_depends(b"\0depends=\0") == []
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "virtio_net.ko").write_bytes(b"\0depends=virtio,virtio_ring,net_failover\0")
    (mods / "net_failover.ko").write_bytes(b"\0depends=failover\0")
    (mods / "failover.ko").write_bytes(b"\0depends=\0")
    (mods / "virtio.ko").write_bytes(b"\0depends=virtio_ring\0")
    (mods / "virtio_ring.ko").write_bytes(b"\0depends=\0")
    kernel = linux.LinuxKernel(tmp_path / "bz", "x", "test", mods)
    order = [p.stem for p in kernel.module_files()]
    for before, after in (("virtio_ring", "virtio"), ("virtio", "virtio_net"),
                          ("failover", "net_failover"), ("net_failover", "virtio_net")):
        assert order.index(before) < order.index(after)


def test_initramfs_layout(tmp_path):
    busybox, helper = tmp_path / "busybox", tmp_path / "helper"
    busybox.write_bytes(b"BB")
    helper.write_bytes(b"HELPER")
    entries = linux.initramfs_entries([], None, busybox, helper)
    members = {m.name: m for m in cpio.unpack(cpio.pack(entries))}
    assert members["init"].data.startswith(b"#!/bin/sh\n# SPDX-License-Identifier: MIT")
    assert members["init"].mode == 0o100755
    assert members["bin/sh"].mode == 0o120777 and members["bin/sh"].data == b"busybox"
    assert members["dev/console"].mode == 0o020600 and members["dev/console"].rdev == (5 << 8) | 1
    assert members["bin/labkit-guest"].data == b"HELPER"
    assert b"labkit-guest run" in members["init"].data
    # the same inputs give the same bytes (cache keys, reproducible sizes)
    assert gzip.compress(cpio.pack(entries), mtime=0) == gzip.compress(cpio.pack(entries),
                                                                       mtime=0)


def test_unusable_kernel_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_LINUX_KERNEL", str(tmp_path / "nothing"))
    with pytest.raises(linux.LinuxUnavailable, match="LABKIT_LINUX_KERNEL"):
        linux.find_kernel()
    ok, why = linux.availability(fetch=False)
    assert not ok and "LABKIT_LINUX_KERNEL" in why
    assert "cited figures" in linux.WHAT_TO_DO


def test_panic_message():
    text = "[ 1.2] Kernel panic - not syncing: Out of memory and no killable processes...\n"
    assert linux.linux_panic_message(text) == "Out of memory and no killable processes..."
    assert linux.linux_panic_message("all fine") is None


# ----------------------------------------------------------------------------- real boots
@pytest.fixture(scope="module")
def guest():
    """The Linux guest with the apps these tests boot (fetched once, then cached)."""
    try:
        return linux.prepare(apps=["hello", "crash", "syscall_bench"], modules=False)
    except linux.LinuxUnavailable as exc:
        pytest.skip(f"no Linux guest here: {str(exc).splitlines()[0]}")


@pytest.mark.boot
async def test_linux_hello_exit_status_through_the_machine_api(guest):
    m = await linux.run_linux("hello", "3", guest=guest, timeout=60)
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 3, m.console.tail(10)
    assert m.outcome.qemu_status == (3 << 1) | 1 and m.outcome.exact
    assert 'argv[1] = "3"' in m.console.text
    assert "labkit-guest: exit status 3" in m.console.text
    names = [e.name for e in m.events.of_type(Milestone)]
    assert names == list(linux.LINUX_MILESTONES)
    assert m.events.milestones["app_exec"].app == "hello"
    exit_event = m.events.exit
    assert isinstance(exit_event, ExitEvent) and exit_event.status == 3
    assert exit_event.tsc > m.events.milestones["app_exec"].tsc > m.events.milestones["init"].tsc


@pytest.mark.boot
async def test_linux_missing_app_and_a_crash(guest):
    m = await linux.run_linux("no_such_app", guest=guest, timeout=60)
    assert isinstance(m.outcome, LoadFailed) and m.outcome.error == "not_found"
    assert isinstance(m.events.load_error, LoadErrorEvent)
    # On Linux a wild write kills the process, not the machine: init reports 128 + SIGSEGV.
    m = await linux.run_linux("crash", guest=guest, timeout=60)
    assert isinstance(m.outcome, Exited) and m.outcome.app_status == 128 + 11, m.console.tail(5)
    assert "killed by signal 11" in m.console.text


@pytest.mark.boot
async def test_getpid_costs_more_instructions_on_linux(guest):
    from labkit.bench import _costs
    from labkit.machine import run

    uni = _costs(await run("syscall_bench", "2000", icount=0, timeout=60))
    lin = _costs(await linux.run_linux("syscall_bench", "2000", guest=guest, icount=0,
                                       timeout=90))
    assert lin["getpid_ticks_per_call"] > 10 * uni["getpid_ticks_per_call"] > 0
    assert lin["write_ticks_per_call"] > uni["write_ticks_per_call"]
    # the compute-bound control runs the same instructions on both
    assert lin["loop_ticks_per_iter"] == uni["loop_ticks_per_iter"]


def test_exercise_checks_without_linux_count_for_nothing(tmp_path, monkeypatch):
    from labkit.exercises import lesson05

    monkeypatch.setenv("LABKIT_LINUX_KERNEL", str(tmp_path / "no-such-bzImage"))
    for result in (lesson05.check_iteration_cost(1000), lesson05.check_crypto_share(0.5),
                   lesson05.check_compute_parity(tmp_path / "spin.c")):
        assert (result.points, result.max_points) == (0, 0)
        assert "no Linux guest" in result.message and "[FAIL]" not in str(result)
