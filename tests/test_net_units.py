# SPDX-License-Identifier: MIT
"""labkit.net without a guest: frames, pcap files, the malformed-frame generator, the NIC's QEMU
flags and the parsing of the kernel's net events."""

from __future__ import annotations

import doctest

import pytest

import labkit.net.bench
import labkit.net.config
import labkit.net.frames
import labkit.net.malformed
import labkit.net.stats
from labkit.errors import BootError
from labkit.net import NetConfig, read_pcap, write_pcap
from labkit.net import frames as fr
from labkit.net.malformed import KINDS, malformed_frames
from labkit.qemuargs import MachineConfig, RunDir, build_command


@pytest.mark.parametrize("module", [labkit.net.frames, labkit.net.config, labkit.net.malformed,
                                    labkit.net.stats])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_checksum_matches_rfc1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2, complemented 220d.
    assert fr.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_tcp_frame_roundtrip_with_mss():
    raw = fr.tcp_frame(fr.GUEST_MAC, fr.HOST_MAC, fr.HOST_IP, fr.GUEST_IP, 1234, 80, 7, 0, fr.SYN,
                       options=b"\x02\x04\x05\xb4")
    f = fr.parse(raw)
    assert f.tcp.has(fr.SYN) and f.tcp.mss == 1460 and f.tcp.checksum_ok and f.ip.checksum_ok
    assert "TCP 1234 > 80 [S]" in f.summary()
    bad = fr.parse(fr.tcp_frame(fr.GUEST_MAC, fr.HOST_MAC, fr.HOST_IP, fr.GUEST_IP, 1, 2, 0, 0,
                                fr.ACK, bad_checksum=True))
    assert not bad.tcp.checksum_ok


def test_parse_never_raises_on_garbage():
    for _, frame in malformed_frames(2000, seed=3):
        fr.parse(frame)
        assert frame


def test_generator_is_reproducible_and_covers_every_kind():
    a = list(malformed_frames(300, seed=5))
    assert a == list(malformed_frames(300, seed=5))
    assert {k for k, _ in malformed_frames(2000, seed=5)} == set(KINDS)


def test_pcap_roundtrip(tmp_path):
    frames = [(1.5, b"\x01" * 60), (2.25, b"\x02" * 1514)]
    path = write_pcap(tmp_path / "x.pcap", frames)
    back = read_pcap(path)
    assert [f for _, f in back] == [f for _, f in frames]
    assert abs(back[1][0] - 2.25) < 1e-6
    with pytest.raises(ValueError):
        (tmp_path / "bad.pcap").write_bytes(b"nope" * 10)
        read_pcap(tmp_path / "bad.pcap")


def test_wire_flags_keep_sockets_in_the_run_dir(tmp_path):
    config = MachineConfig(app="netecho", net="wire")
    words = [w for f in build_command(config, RunDir(tmp_path), tmp_path / "k.elf", None)
             for w in f.words]
    netdev = words[words.index("-netdev") + 1]
    assert f"local.path={tmp_path}/net-qemu.sock" in netdev
    assert f"remote.path={tmp_path}/net-wire.sock" in netdev
    assert any(w.startswith("virtio-net-pci,netdev=n0") for w in words)


def test_user_flags_forward_only_on_loopback_with_free_ports(tmp_path):
    net = NetConfig("user", forward={80: 0, 6379: 0}, pcap=tmp_path / "t.pcap")
    config = MachineConfig(app="httpd", net=net)
    words = [w for f in build_command(config, RunDir(tmp_path), tmp_path / "k.elf", None)
             for w in f.words]
    netdev = words[words.index("-netdev") + 1]
    for guest in (80, 6379):
        host = net.host_port(guest)
        assert 0 < host < 65536
        assert f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" in netdev
    assert "0.0.0.0" not in netdev
    assert any(w.startswith("filter-dump,") for w in words)


def test_bad_net_configs_are_refused():
    with pytest.raises(BootError):
        MachineConfig(net="tap")
    with pytest.raises(BootError):
        NetConfig("wire", forward={80: 0})
    with pytest.raises(BootError):
        NetConfig("user").host_port(80)


def test_report_formats_costs():
    from labkit.net.bench import NetBench, PathCosts
    from labkit.net.stats import STAGES, StageCost

    costs = tuple(StageCost(s, 10.0, 5.0) for s in STAGES)
    result = NetBench({("UDP echo", "classic"): PathCosts("classic", "UDP echo", 10, costs, 10, 0)},
                      {"classic": 100.0, "channels": 90.0}, {"classic": 1000.0, "channels": 1100.0})
    text = labkit.net.bench.report(result)
    assert "UDP echo (10), net=classic" in text and "requests/s x1.10" in text
