"""The bundled demo runs and flattens both example networks."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_runs(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")], capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "alice          10           8       5  Counter, EtherMirror, FromDevice, Queue, ToDevice" in out
    assert "cl/c [2] -> [0] Discard@10;" in out


def test_demo_merges_three_networks_over_two_devices():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")], capture_output=True, cwd=ROOT, timeout=120)
    out = r.stdout.decode()
    assert "merged 3 networks into" in out
    # each tunnel's packets are handed over to its network's own queue (its receive task runs on its thread)
    assert "platform/eth0/gre [1] -> [0] bob/_platform/eth1/inbox;" in out
    assert "platform/eth1/gre [1] -> [0] carol/_platform/eth1/inbox;" in out
    assert "bob/_platform/eth1/inbox [0] -> [0] bob/_platform/eth1/recv;" in out


def test_demo_certifies_the_bundled_elements_and_gates_two_networks():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")], capture_output=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    out = r.stdout.decode()
    assert "4 files analyzed" in r.stderr.decode()
    assert "network dave: passes" in out
    assert "network eve: FAILS: class KernelPoke is rejected: reject: KS301 kernel-symbol (1 finding)" in out
    # the partition: FlowTap in dave's container between two channels, the rest of dave in the kernel (TTLGuard's
    # record says its packet path keeps the network header where it was, so the cut after it needs no move)
    assert "network dave: 4 elements in the kernel, in its container: FlowTap@3" in out
    assert "channel ckbfcdf3x1: TTLGuard@2 [0] (kernel) -> [0] FlowTap@3 (container)" in out
    assert "channel ckbfcdf3x0: FlowTap@3 [0] (container) -> [0] Queue@4 (kernel)" in out
    # the platform's receive task runs the dispatch alone (up to each network's hand-over queue): its cost does
    # not depend on the networks behind it
    assert ("task platform/eth0/from split between platform/eth0/strip and platform/eth0/checkip: "
            "95280 units -> 9072 + 11922 (budget 12000)") in out
    # bob's own receive task is split on bob's side
    assert ("task bob/_platform/eth1/recv split between bob/CheckIPHeader@7 and bob/DecIPTTL@8: "
            "12192 units -> 9582 + 3756 (budget 12000)") in out
    # the platform's own Counters (unmatched, bad) now have a cost of their own (RateEWMA's update is declared):
    # the receive task is cut once more, before the Ethernet classifier
    assert ("task platform/eth0/from split between platform/eth0/from and platform/eth0/ether: "
            "27248 units -> 8872 + 3443 (budget 12000)") in out
    assert "task platform/eth0/from: 8872 of 12000 units per run (8 packets)" in out
    assert "in its container: ARPResponder@5" in out  # a search loop with no proven bound: userspace


def test_demo_places_one_class_by_each_instance_configuration():
    """Tally's record is conditional ("kernel unless SHARED is given"): frank's instance runs in the kernel, grace's
    (SHARED true) in her container; plan.json says why, per instance."""
    import json

    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")], capture_output=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    out = r.stdout.decode()
    assert "network frank: 4 elements in the kernel, in its container: none" in out
    assert "network grace: 3 elements in the kernel, in its container: t" in out
    assert "kernel unless SHARED is given, and its configuration gives none of them" in out
    assert "its configuration gives SHARED, which makes it userspace" in out
    with open(os.path.join(ROOT, "out", "partitioned", "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)
    frank, grace = plan["placements"]["frank"]["Tally@2"], plan["placements"]["grace"]["t"]
    assert (frank["side"], frank["condition"]["given"]) == ("kernel", [])
    assert (grace["side"], grace["condition"]["given"]) == ("user", ["SHARED"])
    with open(os.path.join(ROOT, "out", "demo-db", "Tally.json"), encoding="utf-8") as f:
        record = json.load(f)
    assert (record["verdict"], record["verdict_unless_configured"]) == ("userspace", "kernel")
    assert [c["keywords"] for c in record["conditions"]] == [["SHARED"]]


def test_demo_ends_with_the_report():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")], capture_output=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0
    last = r.stdout.decode().strip().splitlines()[-2:]
    assert last[0] == f"report: {os.path.join(ROOT, 'out', 'report', 'index.html')}"
    # drawn from the partitioned plan: dave's page shows FlowTap in his container, not in the kernel
    with open(os.path.join(ROOT, "out", "report", "networks", "dave.html"), encoding="utf-8") as f:
        page = f.read()
    assert "<tr><td><code>FlowTap@3</code></td><td>user</td>" in page
    assert "<td><code>TTLGuard@2 [0] -&gt; [0] FlowTap@3</code></td>" in page
