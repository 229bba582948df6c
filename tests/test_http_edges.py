# SPDX-License-Identifier: MIT
"""httpd at the edges of HTTP/1.1 (RFC 9110, RFC 9112), on the unikernel and on the Linux
guest (the same source): a table of hostile and unusual requests sent over raw sockets
through QEMU's hostfwd, each with the status it must get and whether the connection must
stay usable (then a second request on it must get its own answer: the framing held). The
server must still answer afterwards. One boot per guest; about 15 s on the unikernel and
30 s on Linux."""

from __future__ import annotations

import asyncio
import http.client
import socket
import time

import pytest

from labkit import cpio, paths
from labkit.net.realclients import LINUX, UNI, parse_ab, parse_wrk, serve

HOST = b"Host: lab"
H = HOST + b"\r\n"
GET_HELLO = b"GET /hello HTTP/1.1\r\n" + H + b"\r\n"


def get(target: bytes, *fields: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return b"GET " + target + b" " + version + b"\r\n" + b"".join(f + b"\r\n" for f in fields) \
        + b"\r\n"


def head_of(size: int) -> bytes:
    """A GET /hello whose head (blank line included) is exactly ``size`` bytes."""
    start = b"GET /hello HTTP/1.1\r\n" + H + b"X-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


# (what, request, status, connection still usable after it)
CASES = [
    ("plain GET", GET_HELLO, 200, True),
    ("LF-only line endings", b"GET /hello HTTP/1.1\nHost: lab\n\n", 200, True),
    ("a query string is ignored", get(b"/hello?x=1&y", HOST), 200, True),
    ("empty lines before the request", b"\r\n\r\n" + GET_HELLO, 200, True),
    ("absolute form", get(b"http://lab/hello", HOST), 200, True),
    ("HEAD has no body", b"HEAD /bytes/100 HTTP/1.1\r\n" + H + b"\r\n", 200, True),
    ("/bytes/0", get(b"/bytes/0", HOST), 200, True),
    ("/bytes/-1", get(b"/bytes/-1", HOST), 404, True),
    ("/bytes/2^64-1", get(b"/bytes/18446744073709551615", HOST), 404, True),
    ("/bytes/ over its limit", get(b"/bytes/1073741825", HOST), 404, True),
    ("/bytes/ not a number", get(b"/bytes/12ab", HOST), 404, True),
    ("the app's own ELF", get(b"/httpd.so", HOST), 404, True),
    ("a path on Linux", get(b"//init", HOST), 404, True),
    ("dot-dot", get(b"/../init", HOST), 404, True),
    ("a 300-byte URL keeps the connection", get(b"/" + b"u" * 300, HOST), 404, True),
    ("a 3000-byte URL", get(b"/" + b"u" * 3000, HOST), 414, True),
    ("a request line over 8 KiB", get(b"/" + b"u" * 9000, HOST), 414, False),
    ("a head of 8191 bytes", head_of(8191), 200, True),
    ("a head of 8192 bytes", head_of(8192), 431, False),
    ("a 9000-byte field", get(b"/hello", HOST, b"X-Big: " + b"b" * 9000), 431, False),
    ("POST with a body, then a GET on the same connection",
     b"POST /hello HTTP/1.1\r\n" + H + b"Content-Length: 11\r\n\r\nhello=world", 405, True),
    ("POST with a body split over the GET's head",
     b"PUT / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\n\r\nGET ", 405, True),
    ("GET with a body", get(b"/hello", HOST, b"Content-Length: 5") + b"12345", 200, True),
    ("a body over 1 MiB", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2000000\r\n\r\n",
     413, False),
    ("Expect: 100-continue with a body",
     b"POST / HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 10\r\n\r\n",
     405, False),
    ("chunked body", b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n", 501, False),
    ("an unknown method", b"BREW /hello HTTP/1.1\r\n" + H + b"\r\n", 501, True),
    ("a lower-case method", b"get /hello HTTP/1.1\r\n" + H + b"\r\n", 501, True),
    ("HTTP/2.0 in HTTP/1 framing", get(b"/hello", HOST, version=b"HTTP/2.0"), 505, False),
    ("a broken version", get(b"/hello", HOST, version=b"HTTP/1.1x"), 400, False),
    ("HTTP/1.1 without Host", get(b"/hello"), 400, False),
    ("two Hosts", get(b"/hello", HOST, HOST), 400, False),
    ("space before the colon", get(b"/hello", b"Host : lab"), 400, False),
    ("a folded line", get(b"/hello", HOST, b" folded"), 400, False),
    ("a NUL in the request line", b"G\0T /hello HTTP/1.1\r\n" + H + b"\r\n", 400, False),
    ("a bare CR in a field", get(b"/hello", HOST, b"X-A: 1\r2"), 400, False),
    ("Content-Length -1", get(b"/hello", HOST, b"Content-Length: -1"), 400, False),
    ("two Content-Lengths that disagree",
     get(b"/hello", HOST, b"Content-Length: 1", b"Content-Length: 2") + b"xx", 400, False),
    ("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, False),
    ("a target that is no path", get(b"hello", HOST), 400, False),
    ("HTTP/1.0 closes", get(b"/hello", version=b"HTTP/1.0"), 200, False),
    ("HTTP/1.0 with keep-alive", get(b"/hello", b"Connection: keep-alive",
                                     version=b"HTTP/1.0"), 200, True),
    ("Connection: close", get(b"/hello", HOST, b"Connection: close"), 200, False),
]


class Reply:
    def __init__(self, status: int, fields: dict[str, str], body: bytes) -> None:
        self.status, self.fields, self.body = status, fields, body


def read_reply(s: socket.socket, buf: bytearray, head_request: bool = False) -> Reply:
    """One response from s (buf holds bytes already read and keeps what follows)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before a whole answer: {bytes(buf)!r}")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, _ = lines[0].split(" ", 2)
    assert version == "HTTP/1.1", lines[0]
    fields = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    size = 0 if head_request else int(fields["content-length"])
    while len(rest) < size:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("the connection closed inside a body")
        rest += chunk
    buf[:] = rest[size:]
    return Reply(int(status), fields, rest[:size])


def check_case(port: int, request: bytes, status: int, usable: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(request)
        buf = bytearray()
        reply = read_reply(s, buf, request.startswith(b"HEAD"))
        assert reply.status == status
        assert reply.fields["connection"] == ("keep-alive" if usable else "close")
        if status == 405:
            assert reply.fields["allow"] == "GET, HEAD"
        if not usable:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:       # the server closes: end of file
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                buf += chunk
            assert not buf, f"bytes after an answer that closes: {bytes(buf[:80])!r}"
            return
        s.sendall(GET_HELLO)                         # the framing held: a second request
        again = read_reply(s, buf)
        assert (again.status, again.body) == (200, b"hello\n") and not buf


def check_table(port: int) -> list[str]:
    failures = []
    for what, request, status, usable in CASES:
        try:
            check_case(port, request, status, usable)
        except (AssertionError, OSError, ValueError, KeyError) as exc:
            failures.append(f"{what}: {type(exc).__name__}: {exc}")
    return failures


def still_serving(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        for _ in range(20):
            conn.request("GET", "/hello")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"hello\n")
        conn.request("GET", "/bytes/100000")
        resp = conn.getresponse()
        assert resp.status == 200 and len(resp.read()) == 100000
    finally:
        conn.close()


def pipelined(port: int) -> None:
    """Every case that keeps the connection, sent at once on one connection: each answer
    in order, none lost."""
    keep = [(req, status) for _, req, status, usable in CASES if usable]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(b"".join(req for req, _ in keep))
        buf = bytearray()
        got = [read_reply(s, buf, req.startswith(b"HEAD")).status for req, _ in keep]
    assert got == [status for _, status in keep]


@pytest.fixture(scope="module")
def linux_guest():
    from labkit import linux

    try:
        return linux.prepare(apps=["httpd"])
    except linux.LinuxUnavailable as exc:
        pytest.skip(f"no Linux guest here: {str(exc).splitlines()[0]}")


async def run_all(guest: str, linux_guest=None) -> None:
    async with serve(guest, "httpd", linux_guest=linux_guest) as (m, port):
        failures = await asyncio.to_thread(check_table, port)
        assert not failures, "\n".join(failures)
        await asyncio.to_thread(pipelined, port)
        await asyncio.to_thread(still_serving, port)
        assert m.state.alive


@pytest.mark.boot
async def test_hostile_requests_on_the_unikernel():
    await run_all(UNI)


@pytest.mark.boot
async def test_hostile_requests_on_linux(linux_guest):
    await run_all(LINUX, linux_guest)


@pytest.mark.boot
async def test_index_html_comes_from_the_boot_archive(tmp_path):
    """A boot archive with an index.html: / serves it; any other file of the archive,
    the app's own ELF included, stays out of reach."""
    from labkit import Machine
    from labkit.net import NetConfig

    page = b"<!doctype html><title>mine</title><p>from the archive</p>\n"
    archive = tmp_path / "httpd.cpio"
    so = paths.images_dir() / "apps" / "httpd.so"
    cpio.write_archive(archive, [("httpd.so", so.read_bytes()), ("index.html", page),
                                 ("secret.txt", b"not for you\n")])
    net = NetConfig("user", forward={80: 0})
    m = Machine("httpd", net=net, initrd=archive)
    await m.start()
    try:
        await m.console.wait_for("httpd: listening", 30)
        port = net.host_port(80)

        def fetch(target: str) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                conn.request("GET", target)
                resp = conn.getresponse()
                return resp.status, resp.read()
            finally:
                conn.close()

        assert await asyncio.to_thread(fetch, "/") == (200, page)
        for other in ("/index.html", "/secret.txt", "/httpd.so"):
            assert (await asyncio.to_thread(fetch, other))[0] == 404
        assert "/ is index.html" in m.console.text
    finally:
        await m.close()


WRK_REPORT = """Running 1s test @ http://127.0.0.1:18080/nothere
  1 threads and 2 connections
  Latency Distribution
     50%   49.00us
  28023 requests in 1.00s, 3.61MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 28023
Requests/sec:  28016.95
Transfer/sec:      3.61MB
"""
AB_REPORT = """Complete requests:      190
Failed requests:        3
Keep-Alive requests:    190
Non-2xx responses:      4
Requests per second:    3595.70 [#/sec] (mean)
"""


def test_client_reports_are_read_with_their_errors():
    assert parse_wrk(WRK_REPORT) == (28016.95, 28026)
    assert parse_wrk(WRK_REPORT.replace("Non-2xx or 3xx responses: 28023\n", "")) == (28016.95, 3)
    assert parse_ab(AB_REPORT, 200) == (3595.70, 3 + 4 + 10)
    assert parse_ab("apr_socket_recv: Connection reset by peer (104)", 200) == (0.0, 200)
