# SPDX-License-Identifier: MIT
"""kvstore with real Redis clients, on the unikernel and on the Linux guest (the same
source), through QEMU's hostfwd: redis-cli checks of every SET option and of INCR's range
and parsing errors against what the Redis documentation gives; redis-benchmark with
pipelining and no error; commands with many arguments; a CRLF missing after a bulk value;
a client that pipelines 200 GETs of a 100 KB value without reading while others are served;
100 clients at once. About 40 s on the unikernel and 60 s on Linux."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time

import pytest

from labkit import paths
from labkit.net.realclients import (
    LINUX,
    UNI,
    missing,
    parse_redis_benchmark,
    redis_benchmark,
    serve,
)


def fixed_fd_table() -> int | None:
    """The unikernel's descriptor table size, if the C library fixes one."""
    found = re.search(r"#define NOFILE (\d+)", (paths.kernel_dir() / "libc" / "fd.c").read_text())
    return int(found.group(1)) if found else None


# (arguments, redis-cli's answer) in order, on an empty store
SET_AND_INCR = [
    (["SET", "k", "v"], "OK"),
    (["SET", "k", "w", "NX"], "(nil)"),                   # exists: not set
    (["GET", "k"], '"v"'),
    (["SET", "k", "x", "XX"], "OK"),
    (["GET", "k"], '"x"'),
    (["SET", "new", "v", "XX"], "(nil)"),                 # does not exist: not set
    (["EXISTS", "new"], "(integer) 0"),
    (["SET", "new", "v", "NX"], "OK"),
    (["SET", "k", "y", "GET"], '"x"'),                    # the old value
    (["SET", "k", "z", "NX", "GET"], '"y"'),              # not set, old value still given
    (["GET", "k"], '"y"'),
    (["SET", "none", "v", "GET"], "(nil)"),
    (["SET", "k", "v", "NX", "XX"], "(error) ERR syntax error"),
    (["SET", "k", "v", "EX"], "(error) ERR syntax error"),
    (["SET", "k", "v", "EX", "10", "PX", "100"], "(error) ERR syntax error"),
    (["SET", "k", "v", "KEEPTTL", "EX", "10"], "(error) ERR syntax error"),
    (["SET", "k", "v", "BOGUS"], "(error) ERR syntax error"),
    (["SET", "k", "v", "EX", "ten"], "(error) ERR value is not an integer or out of range"),
    (["SET", "k", "v", "EX", "0"], "(error) ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "PX", "-5"], "(error) ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", "9223372036854775807"],
     "(error) ERR invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", "100"], "OK"),
    (["TTL", "k"], "(integer) 100"),
    (["SET", "k", "v2", "KEEPTTL"], "OK"),
    (["TTL", "k"], "(integer) 100"),
    (["SET", "k", "v3"], "OK"),                           # a plain SET clears the TTL
    (["TTL", "k"], "(integer) -1"),
    (["TTL", "absent"], "(integer) -2"),
    (["SET", "gone", "v", "PX", "300"], "OK"),
    (["SET", "n", "9223372036854775806"], "OK"),
    (["INCR", "n"], "(integer) 9223372036854775807"),
    (["INCR", "n"], "(error) ERR increment or decrement would overflow"),
    (["GET", "n"], '"9223372036854775807"'),              # unchanged
    (["SET", "m", "-9223372036854775808"], "OK"),
    (["DECR", "m"], "(error) ERR increment or decrement would overflow"),
    (["DECRBY", "m", "-9223372036854775808"], "(error) ERR decrement would overflow"),
    (["INCRBY", "m", "10"], "(integer) -9223372036854775798"),
    (["SET", "s", " 5"], "OK"),
    (["INCR", "s"], "(error) ERR value is not an integer or out of range"),
    (["SET", "s", "05"], "OK"),
    (["INCR", "s"], "(error) ERR value is not an integer or out of range"),
    (["SET", "s", "9223372036854775808"], "OK"),
    (["INCR", "s"], "(error) ERR value is not an integer or out of range"),
    (["INCRBY", "fresh", "x"], "(error) ERR value is not an integer or out of range"),
    (["DECR", "fresh"], "(integer) -1"),
    (["GET"], "(error) ERR wrong number of arguments for 'get' command"),
    (["NOSUCH", "a"], "(error) ERR unknown command 'NOSUCH', with args beginning with: 'a'"),
]


def redis_cli_checks(port: int) -> list[str]:
    def cli(*args: str) -> str:
        return subprocess.run(["redis-cli", "--no-raw", "-p", str(port), *args],
                              capture_output=True, text=True, timeout=15).stdout.strip()

    failures = []
    for args, want in SET_AND_INCR:
        got = cli(*args)
        if got != want:
            failures.append(f"{' '.join(args)}: got {got!r}, want {want!r}")
    time.sleep(0.5)                                       # "gone" had 300 ms to live
    for args, want in ((["GET", "gone"], "(nil)"), (["EXISTS", "gone"], "(integer) 0")):
        if (got := cli(*args)) != want:
            failures.append(f"{' '.join(args)} after its PX: got {got!r}, want {want!r}")
    return failures


def resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def read_exactly(s: socket.socket, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        chunk = s.recv(min(1 << 20, size - len(out)))
        if not chunk:
            raise AssertionError(f"closed after {len(out)} of {size} bytes")
        out += chunk
    return bytes(out)


def many_arguments(port: int) -> None:
    keys = [b"key%d" % i for i in range(1000)]
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        for i in range(0, 1000, 2):
            s.sendall(resp(b"SET", keys[i], b"x"))
        assert read_exactly(s, 5 * 500) == b"+OK\r\n" * 500
        s.sendall(resp(b"DEL", *keys))                    # RESP: 1001 arguments
        assert read_exactly(s, 6) == b":500\r\n"
        inline = b"EXISTS " + b" ".join(keys[:300]) + b"\r\n"
        s.sendall(b"SET key1 y\r\n" + inline)             # inline: 301 tokens
        assert read_exactly(s, 5 + 4) == b"+OK\r\n:1\r\n"
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nvXX\r\n")   # no CRLF after "v"
        assert read_exactly(s, 5).startswith(b"-ERR ")
        s.settimeout(10)
        s.recv(4096)                                       # the rest of the error line
        assert s.recv(4096) == b"", "the connection stays open after a protocol error"


def slow_reader(port: int) -> None:
    """One client pipelines 200 GETs of a 100 KB value and reads nothing; another is served
    meanwhile; then the first reads all 200 replies, intact."""
    value = bytes(range(256)) * 400                        # 102,400 bytes
    reply = b"$%d\r\n%s\r\n" % (len(value), value)
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    other = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        slow.sendall(resp(b"SET", b"big", value))
        assert read_exactly(slow, 5) == b"+OK\r\n"
        slow.sendall(resp(b"GET", b"big") * 200)
        time.sleep(1.0)                                    # the server is now stuck on it, or not
        for i in range(50):
            t0 = time.monotonic()
            other.sendall(resp(b"INCR", b"other"))
            assert read_exactly(other, len(b":%d\r\n" % (i + 1))) == b":%d\r\n" % (i + 1)
            assert time.monotonic() - t0 < 5
        for i in range(200):
            assert read_exactly(slow, len(reply)) == reply, f"reply {i}"
    finally:
        slow.close()
        other.close()


def many_clients(port: int, count: int = 100) -> None:
    conns = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(s)
            s.sendall(b"PING\r\n")
            assert read_exactly(s, 7) == b"+PONG\r\n"
        for i, s in enumerate(conns):                      # all still served
            s.sendall(resp(b"ECHO", b"%d" % i))
            want = b"$%d\r\n%d\r\n" % (len(b"%d" % i), i)
            assert read_exactly(s, len(want)) == want
    finally:
        for s in conns:
            s.close()


@pytest.fixture(scope="module")
def linux_guest():
    from labkit import linux

    try:
        return linux.prepare(apps=["kvstore"])
    except linux.LinuxUnavailable as exc:
        pytest.skip(f"no Linux guest here: {str(exc).splitlines()[0]}")


def guest_of(name: str, request: pytest.FixtureRequest) -> tuple[str, object]:
    return (UNI, None) if name == UNI else (LINUX, request.getfixturevalue("linux_guest"))


@pytest.mark.boot
@pytest.mark.parametrize("name", [UNI, LINUX])
async def test_kvstore_protocol_and_slow_reader(name, request):
    guest, linux_guest = guest_of(name, request)
    async with serve(guest, "kvstore", linux_guest=linux_guest) as (m, port):
        await asyncio.to_thread(many_arguments, port)
        await asyncio.to_thread(slow_reader, port)
        if not missing("redis-cli"):
            failures = await asyncio.to_thread(redis_cli_checks, port)
            assert not failures, "\n".join(failures)
        if not missing("redis-benchmark"):
            run = await asyncio.to_thread(redis_benchmark, port, "ping,set,get", 20000, 8, 16)
            assert run.errors == 0, run.output[-1500:]
            assert {"PING_INLINE", "PING_MBULK", "SET", "GET"} <= set(run.rps), run.output
        assert m.state.alive
        if missing("redis-cli") or missing("redis-benchmark"):
            pytest.skip(missing("redis-cli") or missing("redis-benchmark"))


@pytest.mark.boot
@pytest.mark.parametrize("name", [
    pytest.param(UNI, marks=pytest.mark.xfail(
        (fixed_fd_table() or 1024) < 128, strict=True,
        reason=f"the unikernel's fd table holds {fixed_fd_table()} descriptors "
               "(kernel/libc/fd.c)")),
    LINUX])
async def test_kvstore_serves_100_clients(name, request):
    guest, linux_guest = guest_of(name, request)
    async with serve(guest, "kvstore", linux_guest=linux_guest) as (_, port):
        await asyncio.to_thread(many_clients, port, 100)


def test_redis_benchmark_report_is_read_with_its_errors():
    out = ("PING_INLINE: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r"
           "                   \rPING_INLINE: 540540.56 requests per second, p50=0.151 msec\n"
           "SET: 512820.50 requests per second, p50=0.159 msec\n\n")
    assert parse_redis_benchmark(out) == ({"PING_INLINE": 540540.56, "SET": 512820.50}, 0)
    failed = "SET: rps=0.0\rError from server: ERR unknown command\n\n(exit status 1)"
    assert parse_redis_benchmark(failed) == ({}, 2)
