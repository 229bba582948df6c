# SPDX-License-Identifier: MIT
"""labkit.lessons.counted: instruction counts read from the built binaries agree with what
syscall_bench measures under icount, whatever the compiler made of the loops; an unrolled
loop counts per iteration, and a loop whose length depends on data is refused."""

from __future__ import annotations

import subprocess

import pytest

from labkit import paths
from labkit.elf import load_elf
from labkit.lessons.counted import (
    agrees,
    derive_call_costs,
    iterations_per_pass,
    linux_loop,
    loop_body,
)
from labkit.lessons.syscalls import linux_binary, measure_call_costs

LOOPS = """\
volatile long sink;
long time_empty(long n) { for (long i = 0; i < n; i++) sink = i; return n; }
long branchy(long n) { for (long i = 0; i < n; i++) { if (i & 1) sink = i; else sink = -i; }
                       return n; }
"""


def build_loops(tmp_path, *flags: str):
    src = tmp_path / "loops.c"
    src.write_text(LOOPS)
    so = tmp_path / "loops.so"
    subprocess.run([paths.find_tool("gcc"), "-O2", "-fPIC", "-shared", "-nostdlib", *flags,
                    "-o", str(so), str(src)], check=True, timeout=60)
    return load_elf(so)


@pytest.mark.boot
def test_the_counted_instructions_are_what_icount_measures():
    counted = derive_call_costs("syscall_bench")
    assert counted.loop.count >= 3 and counted.getpid_loop.count > counted.loop.count
    kinds = {i.where.split()[0] for i in counted.getpid_loop.instructions}
    assert kinds == {"app", "kernel"}, "the call was not followed into the kernel"
    assert counted.getpid_loop.instructions[-1].text.startswith("j")
    costs = measure_call_costs(10000, icount=True)
    assert agrees(costs.loop, counted.loop.per_iteration), (costs, counted.loop)
    assert agrees(costs.getpid, counted.getpid), (costs, counted.getpid)


def test_the_linux_build_loop_is_counted_too():
    binary = linux_binary("syscall_bench")
    if not binary.exists():
        pytest.skip("no Linux build of syscall_bench (cross-compiled kernel tree)")
    loop = linux_loop(binary)
    assert loop.count >= 3 and loop.per_iteration == loop.count / loop.iterations


def test_an_unrolled_loop_counts_per_iteration(tmp_path):
    image = build_loops(tmp_path, "-funroll-loops", "--param", "max-unroll-times=2")
    body = loop_body(image, "time_empty")
    assert iterations_per_pass(body) == 2
    plain = loop_body(build_loops(tmp_path, "-fno-unroll-loops"), "time_empty")
    assert iterations_per_pass(plain) in (1, 2)   # gcc 14 unrolls by 2 even at plain -O2


def test_a_loop_with_branches_inside_is_refused(tmp_path):
    image = build_loops(tmp_path, "-funroll-loops", "--param", "max-unroll-times=2")
    with pytest.raises(ValueError, match="branch|backward"):
        loop_body(image, "branchy")
