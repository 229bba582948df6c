#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for qemu-system-x86_64 in unit tests: opens labkit's COM1/COM2 FIFOs and connects
to its QMP socket like QEMU does, plays a QMP peer, writes a script of output and exits.

The script comes from $FAKE_QEMU (JSON): com1 (text), com2 (list of lines), qmp_events (list of
event names, or [name, data] pairs) sent after negotiation, hold (seconds before exiting;
"forever" waits for QMP quit), exit (status), stderr (text printed first), refuse (exit before
connecting).
"""

import json
import os
import socket
import sys
import threading
import time


def chardevs(argv):
    found = {}
    for i, word in enumerate(argv):
        if word == "-chardev":
            spec = dict(kv.split("=", 1) for kv in argv[i + 1].split(",")[1:] if "=" in kv)
            found[spec["id"]] = spec["path"]
    return found


def send(sock, obj):
    sock.sendall((json.dumps(obj) + "\r\n").encode())


def event(name, data=None):
    msg = {"event": name, "timestamp": {"seconds": int(time.time()), "microseconds": 0}}
    if data is not None:
        msg["data"] = data
    return msg


class Messages:
    """JSON objects from a stream socket (QMP clients need not send newlines)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = ""
        self.eof = False
        self.decoder = json.JSONDecoder()

    def next(self, block):
        while True:
            text = self.buf.lstrip()
            if text:
                try:
                    obj, end = self.decoder.raw_decode(text)
                    self.buf = text[end:]
                    return obj
                except ValueError:
                    pass
            self.sock.settimeout(None if block else 0.05)
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                return None
            if not chunk:
                self.eof = True
                return None
            self.buf += chunk.decode()


def main():
    script = json.loads(os.environ.get("FAKE_QEMU", "{}"))
    if script.get("stderr"):
        sys.stderr.write(script["stderr"])
        sys.stderr.flush()
    if script.get("refuse"):
        sys.exit(1)
    devs = chardevs(sys.argv)
    serial = {name: open(devs[name] + ".out", "wb", buffering=0) for name in ("com1", "com2")}
    qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qmp.connect(devs["qmp"])
    running = "-S" not in sys.argv
    send(qmp, {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                   "package": "fake"}, "capabilities": ["oob"]}})
    reader = Messages(qmp)
    while True:
        msg = reader.next(block=True)
        if msg.get("execute") == "qmp_capabilities":
            send(qmp, {"return": {}, "id": msg.get("id")})
            break
    serial["com1"].write(script.get("com1", "").encode())
    if script.get("echo"):  # read one line typed into COM1 and print it back, then exit
        def echo():
            with open(devs["com1"] + ".in", "rb", buffering=0) as typed:
                line = b""
                while not line.endswith(b"\n"):
                    line += typed.read(1)
            serial["com1"].write(b"you typed: " + line)
            os._exit(int(script.get("exit", 1)))

        threading.Thread(target=echo, daemon=True).start()
    for line in script.get("com2", []):
        serial["com2"].write((line + "\n").encode())
    for item in script.get("qmp_events", []):
        name, data = (item, None) if isinstance(item, str) else item
        send(qmp, event(name, data))
    hold = script.get("hold", 0)
    deadline = None if hold == "forever" else time.time() + float(hold)
    while deadline is None or time.time() < deadline:
        msg = reader.next(block=False)
        if msg is None:
            if reader.eof:
                break
            continue
        cmd, mid = msg.get("execute"), msg.get("id")
        if cmd == "query-status":
            send(qmp, {"return": {"status": "running" if running else "prelaunch",
                                  "singlestep": False, "running": running}, "id": mid})
        elif cmd == "stop":
            running = False
            send(qmp, {"return": {}, "id": mid})
            send(qmp, event("STOP"))
        elif cmd == "cont":
            running = True
            send(qmp, {"return": {}, "id": mid})
            send(qmp, event("RESUME"))
        elif cmd == "quit":
            send(qmp, {"return": {}, "id": mid})
            send(qmp, event("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"}))
            sys.exit(0)
        else:
            send(qmp, {"error": {"class": "CommandNotFound",
                                 "desc": f"The command {cmd} has not been found"}, "id": mid})
    sys.exit(int(script.get("exit", 1)))


if __name__ == "__main__":
    main()
