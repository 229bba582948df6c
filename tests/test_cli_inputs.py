# SPDX-License-Identifier: MIT
"""Bad command lines, as a new user types them: each gets one line on stderr (no traceback)
and a documented exit status: 2 when labkit cannot parse the command line, 125 when it can
but cannot do it. The table below is the one in docs/labkit-cli.md (a test keeps the two in
step). Also: two different programs of the same name run at once keep their own output;
runs leave nothing in TMPDIR or the runtime folder; ``labkit debug`` ends 0 after gdb's
``kill``; a script that leaves an async machine on a stopped loop exits without asyncio noise.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labkit import paths

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "labkit-cli.md"
LABKIT = [sys.executable, "-m", "labkit"]
USAGE, ERROR = 2, 125


@dataclass(frozen=True)
class Row:
    """``labkit COMMAND`` with ``env``, and what it must answer. ``DIR`` stands for a fresh
    folder holding ``ok.c``, an empty ``empty/`` and an empty ``bin/``."""

    command: str
    status: int
    message: str            # a regular expression the one line on stderr must match
    env: dict[str, str] = field(default_factory=dict)


TABLE = [
    # the command line cannot be parsed: 2
    Row("labkit", USAGE, r"^labkit: error: the following arguments are required: COMMAND"),
    Row("labkit frobnicate", USAGE, r"invalid choice: 'frobnicate'"),
    Row("labkit run", USAGE, r"^labkit run: error: the following argument is required: app \("),
    Row("labkit run --memory abc hello", USAGE, r"'abc' is not a memory size"),
    Row("labkit run --memory 0 hello", USAGE, r"'0' is not a memory size"),
    Row("labkit run --memory -5 hello", USAGE, r"'-5' is not a memory size"),
    Row("labkit run --smp 0 hello", USAGE, r"argument --smp: '0' is not a whole number"),
    Row("labkit run --smp two hello", USAGE, r"argument --smp: 'two' is not a whole number"),
    Row("labkit run --timeout -1 hello", USAGE, r"'-1' is not a number of seconds above 0"),
    Row("labkit run --metrics 0 hello", USAGE, r"argument --metrics: '0' is not a whole"),
    Row("labkit run --env foo hello", USAGE, r"argument --env: 'foo' is not NAME=VALUE"),
    Row("labkit run --env lower=1 hello", USAGE, r"'lower' cannot name an environment variable"),
    Row("labkit run --machine vax hello", USAGE, r"argument --machine: invalid choice: 'vax'"),
    Row("labkit run ''", USAGE, r"^labkit: the app name is empty"),
    Row("labkit run --data README.md hello", USAGE, r"--data packs files with a C file or a \.so"),
    Row("labkit build -j 0", USAGE, r"argument -j/--jobs: '0' is not a whole number"),
    Row("labkit student-copy", USAGE, r"the following arguments are required: OUT"),
    # well formed, but labkit cannot do it: 125
    Row("labkit run nosuch", ERROR, r"^labkit: no boot archive for app 'nosuch' .*labkit build"),
    Row("labkit run nosuch.so", ERROR, r"^labkit: nosuch\.so: no such file$"),
    Row("labkit run nosuch.c", ERROR, r"^labkit: nosuch\.c: no such file$"),
    Row("labkit run /etc", ERROR, r"^labkit: /etc: not something labkit boots"),
    Row("labkit run --data nosuch.txt DIR/ok.c", ERROR, r"data file nosuch\.txt: no such file"),
    Row("labkit run --kernel nosuch.elf hello", ERROR, r"kernel image nosuch\.elf does not exist"),
    Row("labkit run hello -- 'a b'", ERROR, r"argument 'a b' cannot be used on the kernel "),
    Row("labkit run --memory 1M hello", ERROR, r"memory 1M \(1024 KiB\) is below the kernel"),
    Row("labkit run hello LONG", ERROR, r"command line too long \(5009 > 4096 bytes\)"),
    Row("labkit inspect nosuch", ERROR, r"^labkit: nosuch: cannot read"),
    Row("labkit inspect README.md", ERROR, r"^labkit: README\.md: not an ELF file"),
    Row("labkit debug nosuch", ERROR, r"no boot archive for app 'nosuch'"),
    Row("labkit grade nosuchexercise", ERROR, r"^labkit: no exercise 'nosuchexercise'"),
    Row("labkit bench --load nosuch.json", ERROR, r"^labkit: nosuch\.json: No such file"),
    Row("labkit build", ERROR, r"^labkit: no kernel sources at .*/empty/kernel: LABKIT_ROOT",
        {"LABKIT_ROOT": "DIR/empty"}),
    Row("labkit run DIR/ok.c", ERROR, r"^labkit: no kernel sources at .*/empty/kernel",
        {"LABKIT_ROOT": "DIR/empty"}),
    Row("labkit run hello", ERROR, r"empty/images/kernel\.elf does not exist: build it",
        {"LABKIT_ROOT": "DIR/empty"}),
    Row("labkit run hello", ERROR, r"^labkit: LABKIT_ROOT=.*/nowhere is not a folder",
        {"LABKIT_ROOT": "DIR/nowhere"}),
    Row("labkit run hello", ERROR, r"^labkit: qemu-system-x86_64 not found: install",
        {"PATH": "DIR/bin"}),
    Row("labkit build", ERROR, r"^labkit: make not found: install", {"PATH": "DIR/bin"}),
]


def _labkit(args: list[str], env: dict[str, str] | None = None, timeout: float = 120,
            cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*LABKIT, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "ok.c").write_text("int main(void) { return 0; }\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bin").mkdir()
    return tmp_path


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.command} {r.env}".strip())
def test_a_bad_command_line_gets_one_line_and_its_status(row, scratch):
    # LONG stands for one argument of 5000 characters (too long for the kernel's command line)
    words = shlex.split(row.command.replace("DIR", str(scratch)).replace("LONG", "x" * 5000))[1:]
    env = {k: v.replace("DIR", str(scratch)) for k, v in row.env.items()}
    proc = _labkit(words, env)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert proc.returncode == row.status, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert re.search(row.message, lines[0]), lines[0]


def test_the_documented_table_is_this_one():
    doc = DOC.read_text()
    for row in TABLE:
        env = " ".join(f"{k}={v}" for k, v in row.env.items())
        shown = f"`{(env + ' ' if env else '')}{row.command}`"
        lines = [line for line in doc.splitlines() if line.startswith(f"| {shown} |")]
        assert lines, f"{shown} is missing from {DOC.name}"
        assert any(line.startswith(f"| {shown} | {row.status} |") for line in lines), lines


@pytest.mark.parametrize("given, passed", [("128M", "128M"), ("128", "128M"), ("1g", "1G"),
                                           ("1.5G", "1.5G"), ("512MiB", "512M"), ("64k", "64K")])
def test_memory_sizes_reach_qemu_in_its_own_form(given, passed):
    from labkit.cli import memory_size

    assert memory_size(given) == passed


@pytest.mark.parametrize("given", ["128B", "abc", "0", "-1", "1X", "", "M"])
def test_what_is_not_a_memory_size(given):
    import argparse

    from labkit.cli import memory_size

    with pytest.raises(argparse.ArgumentTypeError, match="not a memory size"):
        memory_size(given)


# ---------------------------------------------------------------------------- running
@pytest.mark.boot
def test_same_named_programs_run_at_once_keep_their_own_output(tmp_path):
    sources = []
    for who, status in (("first", 3), ("second", 5)):
        folder = tmp_path / who
        folder.mkdir()
        src = folder / "prog.c"
        src.write_text(f'#include <stdio.h>\nint main(void) {{ printf("I am {who}\\n"); '
                       f"return {status}; }}\n")
        sources.append((src, who, status))
    procs = [(subprocess.Popen([*LABKIT, "run", str(src)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True), who, status)
             for src, who, status in sources]
    folders = set()
    for proc, who, status in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == status, err
        assert f"I am {who}" in out and "I am" not in out.replace(f"I am {who}", "")
        folders.add(re.search(r"-> (.*)/prog\.so", err)[1])
    assert len(folders) == 2                  # each source in a folder of its own


@pytest.mark.boot
def test_runs_leave_nothing_in_tmpdir_or_the_runtime_folder(tmp_path):
    tmp, runtime = tmp_path / "tmp", tmp_path / "run"
    tmp.mkdir()
    runtime.mkdir()
    so = tmp_path / "mine.so"
    shutil.copy(paths.app_object("hello"), so)
    src = tmp_path / "mine.c"
    src.write_text("int main(void) { return 4; }\n")
    env = {"TMPDIR": str(tmp), "LABKIT_RUNTIME_DIR": str(runtime)}
    for args, status in (([str(so), "--", "2"], 2), ([str(src)], 4), (["crash"], 255),
                         (["hello"], 0)):
        proc = _labkit(["run", *args], env)
        assert proc.returncode == status, proc.stderr
    time.sleep(0.5)                           # the watchdog's last words
    assert sorted(os.listdir(tmp)) == [] and sorted(os.listdir(runtime)) == []


@pytest.mark.boot
@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_debug_ends_0_after_gdb_kills_the_machine():
    debug = subprocess.Popen([*LABKIT, "debug", "hello"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        command = shlex.split(debug.stdout.readline())
        assert command and os.path.basename(command[0]) == "gdb"
        # gdb itself ends 1 here: QEMU goes at once and gdb reports the broken pipe
        subprocess.run([*command, "-batch", "-ex", "kill"], capture_output=True, timeout=60)
        _, err = debug.communicate(timeout=60)
    finally:
        debug.kill()
    assert debug.returncode == 0, err
    assert err.strip().splitlines()[-1] == "labkit: the debugger ended the machine (gdb's kill)"


SCRIPT = """
import asyncio, sys
import labkit
loop = asyncio.new_event_loop()
m = labkit.Machine("hello", paused=True)
loop.run_until_complete(m.start())
print(m.pid, flush=True)
"""


@pytest.mark.boot
def test_a_script_leaving_a_machine_on_a_stopped_loop_exits_quietly():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    pid = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}"), "QEMU outlived the script"
