"""The merged master run by a real user-level Click, packet by packet.

Needs a built user-level ``click`` on PATH (skips cleanly otherwise; build
Click locally to run it, never in CI).  The userlevel master's physical
devices are replaced by FromDump/ToDump on pcap files we write; then each
network's GRE traffic must reach only its own sub-graph and leave
re-encapsulated with its own tunnel's addresses and key, and everything else
must be dropped.
"""

import shutil
import subprocess
import sys

import pytest
import realclick
from realclick import checksum, gre, ip_header, outer, read_pcap, write_pcap

CLICK = shutil.which("click")
pytestmark = pytest.mark.skipif(CLICK is None, reason="needs a built user-level click on PATH")

MAC_PHYS0, MAC_GW0 = bytes.fromhex("020000000001"), bytes.fromhex("0200000000fe")
MAC_PHYS1, MAC_GW1 = bytes.fromhex("020000000101"), bytes.fromhex("0200000001fe")

SYSTEM = """version: 1
platform: {task_budget: 20000}
physical:
  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}
  eth1: {address: 198.51.100.1, ether: "02:00:00:00:01:01", gateway_ether: "02:00:00:00:01:fe"}
networks:
  alice:
    uid: 1
    config: alice.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.7, key: 42}, inner: ethernet}
  bob:
    uid: 2
    config: bob.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.7, key: 43}, inner: ethernet}
  carol:
    uid: 3
    config: carol.click
    devices:
      eth1: {physical: eth1, tunnel: {local: 198.51.100.1, remote: 203.0.113.9}, inner: ip}
"""
CONFIGS = {
    # alice mirrors Ethernet addresses; bob overwrites the EtherType with 0x88b5; carol echoes IP packets
    "alice.click": "FromDevice(eth1) -> EtherMirror -> Queue -> ToDevice(eth1);\n",
    "bob.click": "FromDevice(eth1) -> StoreData(12, \\<88b5>) -> Queue -> ToDevice(eth1);\n",
    "carol.click": "FromDevice(eth1) -> CheckIPHeader -> Queue -> ToDevice(eth1);\n",
}


def inner_frame(tag):
    return bytes.fromhex("0a0000000001") + bytes.fromhex("0a0000000002") + b"\x08\x00" + tag.ljust(46, b".")


def inner_ip(tag):
    body = tag.ljust(30, b".")
    return ip_header("10.3.0.2", "10.3.0.1", 17, len(body)) + body


@pytest.mark.parametrize("leaf", [None, 1])
def test_master_delivers_each_tunnel_only_to_its_network(tmp_path, leaf):
    """Also with a dispatch tree (``dispatch_leaf: 1``: alice's and bob's tunnels on eth0 are told apart by a
    root Classifier on the key's last byte, each then checked in full by a leaf of its own)."""
    system = SYSTEM if leaf is None else SYSTEM.replace("task_budget: 20000", f"task_budget: 20000, dispatch_leaf: {leaf}")
    (tmp_path / "system.yaml").write_text(system)
    for name, text in CONFIGS.items():
        (tmp_path / name).write_text(text)
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", str(tmp_path / "system.yaml"),
                        "--out", str(tmp_path / "out"), "--target", "userlevel", "--no-certify"],  # the whole master
                       capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    master = (tmp_path / "out" / "master.click").read_text()
    if leaf == 1:
        assert "platform/eth0/gre :: Classifier(27/2a, 27/2b, -);" in master
        assert ("platform/eth0/gre/v2a :: Classifier(0/45 9/2f 12/cb007107 16/c0000201 20/20006558 24/0000002a, -);"
                in master)
        assert "platform/eth0/gre [1] -> [0] platform/eth0/gre/v2b;" in master
    for p in ("eth0", "eth1"):
        old_from = f"platform/{p}/from :: FromDevice({p}, SNIFFER false);"
        old_to = f"platform/{p}/to :: ToDevice({p});"
        assert old_from in master and old_to in master
        master = master.replace(old_from, f"platform/{p}/from :: FromDump(in_{p}.pcap, STOP false);")
        master = master.replace(old_to, f"platform/{p}/to :: ToDump(out_{p}.pcap);")
    master += "\nScript(wait 1s, stop);\n"
    (tmp_path / "test.click").write_text(master)

    a, b, c = inner_frame(b"alice-1"), inner_frame(b"bob-1"), inner_ip(b"carol-1")
    write_pcap(tmp_path / "in_eth0.pcap", [
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.7", "192.0.2.1", gre(0x6558, 42), a),   # alice
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.7", "192.0.2.1", gre(0x6558, 43), b),   # bob
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.7", "192.0.2.1", gre(0x6558, 44), b),   # no such key
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.8", "192.0.2.1", gre(0x6558, 42), a),   # wrong source
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.7", "192.0.2.1", gre(0x6558), a),       # key missing
        outer(MAC_PHYS0, MAC_GW0, "203.0.113.9", "192.0.2.1", gre(0x0800), c),       # carol's tunnel, wrong device
        MAC_PHYS0 + MAC_GW0 + b"\x86\xdd" + bytes(60),                              # not IPv4
    ])
    write_pcap(tmp_path / "in_eth1.pcap", [
        outer(MAC_PHYS1, MAC_GW1, "203.0.113.9", "198.51.100.1", gre(0x0800), c),    # carol
        outer(MAC_PHYS1, MAC_GW1, "203.0.113.7", "198.51.100.1", gre(0x6558, 42), a),  # alice's key on eth1
    ])
    run = subprocess.run([CLICK, "test.click"], cwd=tmp_path, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()

    out0 = read_pcap(tmp_path / "out_eth0.pcap")
    out1 = read_pcap(tmp_path / "out_eth1.pcap")
    mirrored_a = a[6:12] + a[0:6] + a[12:]
    marked_b = b[:12] + b"\x88\xb5" + b[14:]
    expect0 = sorted([
        outer(MAC_GW0, MAC_PHYS0, "192.0.2.1", "203.0.113.7", gre(0x6558, 42), mirrored_a),
        outer(MAC_GW0, MAC_PHYS0, "192.0.2.1", "203.0.113.7", gre(0x6558, 43), marked_b),
    ])
    expect1 = [outer(MAC_GW1, MAC_PHYS1, "198.51.100.1", "203.0.113.9", gre(0x0800), c)]

    def normalize(p):  # IPEncap chooses its own IP ID and TTL: compare the rest, check the checksum
        assert checksum(p[14:34]) == 0
        return realclick.normalize(p)

    assert sorted(normalize(p) for p in out0) == sorted(normalize(p) for p in expect0)
    assert [normalize(p) for p in out1] == [normalize(p) for p in expect1]
