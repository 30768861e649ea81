"""certify merge: the master configuration, its plan, determinism and isolation."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from merge.combine import gre_pattern
from merge.lang import load_file
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.ports import check_ports
from merge.system import Tunnel, VirtualDevice

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "system.yaml")
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "merge_golden", "example.master.click")


def merge(system, out, *extra):
    """The structural merge these tests are about: certification off (--no-certify; test_layers.py certifies)."""
    return subprocess.run(
        [sys.executable, "-m", "certify", "merge", "--system", system, "--out", str(out), "--no-certify", *extra],
        capture_output=True, timeout=120,
    )


def sections(text):
    out = {}
    title = None
    for line in text.splitlines():
        if line.startswith("// --- "):
            title = line[7:]
            out[title] = []
        elif title is not None and line:
            out[title].append(line)
    return out


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    r = merge(EXAMPLE, out)
    assert r.returncode == 0, r.stderr.decode()
    with open(out / "master.click") as f:
        text = f.read()
    with open(out / "plan.json") as f:
        plan = json.load(f)
    return out, text, plan


def test_example_master_matches_golden(example, update_golden):
    _, text, _ = example
    if update_golden:
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            f.write(text)
    with open(GOLDEN) as f:
        assert text == f.read()


def test_master_reparses_and_passes_port_checks(example):
    out, text, plan = example
    g = load_file(str(out / "master.click")).graph
    assert set(g.nodes) == set(plan["elements"])
    errors = [f for f in check_ports(g, stock_elements()) if f.severity != "note"]
    assert errors == []
    notes = [f for f in check_ports(g, stock_elements()) if f.severity == "note"]
    assert notes == []  # every element the merger placed has known ports


def test_only_stock_classes(example):
    out, _, _ = example
    g = load_file(str(out / "master.click")).graph
    assert {d["klass"] for _, d in g.nodes(data=True)} <= stock_classes()


def test_networks_are_isolated_in_the_graph(example):
    """No connection joins two networks; each tunnel's dispatcher port feeds only its own network."""
    out, _, plan = example
    g = load_file(str(out / "master.click")).graph
    net = {n: plan["elements"][n]["network"] for n in g.nodes}
    for u, v in g.edges():
        if net[u] and net[v]:
            assert net[u] == net[v], (u, v)
    for phys, info in plan["physical"].items():
        if not info["used"]:
            continue
        for u, v, d in g.out_edges(f"platform/{phys}/gre", data=True):
            if d["from_port"] < len(info["tunnels"]):
                network = info["tunnels"][d["from_port"]].split(".")[0]
                assert net[v] == network
    # and each network's packets leave only through its own encapsulation
    for n in g.nodes:
        if n.endswith("/ether") and net[n]:
            dev = n.split("/")[-2]
            conf = plan["networks"][net[n]]["devices"][dev]
            ip = n[: -len("ether")] + "ip"
            assert g.nodes[ip]["config"] == f"47, {conf['local']}, {conf['remote']}"


def test_plan_describes_every_element(example):
    _, _, plan = example
    els = plan["elements"]
    assert plan["threads"] == 4 and plan["target"] == "linuxmodule"
    assert els["alice/p1/c"] == {"network": "alice", "origin": "network", "original": "p1/c", "reason": "the network's own element",
                                 "file": os.path.join(ROOT, "examples", "networks", "alice.click"), "line": 11, "column": 37}
    assert els["bob/_platform/eth1/decap"]["replaces"] == "in"
    assert els["bob/_platform/eth1/inbox"]["network"] == "bob" and els["bob/_platform/eth1/recv"]["network"] == "bob"
    assert els["platform/eth0/gre"]["origin"] == "platform" and els["platform/eth0/gre"]["network"] is None
    assert all(e["reason"] for e in els.values())


def test_deterministic(example, tmp_path):
    out, text, _ = example
    r = merge(EXAMPLE, tmp_path)
    assert r.returncode == 0
    assert (tmp_path / "master.click").read_text() == text
    assert (tmp_path / "plan.json").read_text() == (out / "plan.json").read_text()


def _example_copy(tmp_path, change):
    d = tmp_path / "ex"
    shutil.copytree(os.path.join(ROOT, "examples"), d)
    with open(d / "system.yaml") as f:
        data = yaml.safe_load(f)
    change(data)
    with open(d / "system.yaml", "w") as f:
        yaml.safe_dump(data, f)
    return str(d / "system.yaml")


def test_adding_a_network_changes_only_its_own_section(example, tmp_path):
    _, text, _ = example

    def add(data):
        data["networks"]["aaron"] = {
            "uid": 1009, "config": "networks/carol.click",
            "devices": {"eth1": {"physical": "eth0", "tunnel": {"local": "192.0.2.1", "remote": "203.0.113.99"}, "inner": "ip"}},
        }
        data["networks"]["carol"]["cpu_share"] = 0.4

    r = merge(_example_copy(tmp_path, add), tmp_path / "out")
    assert r.returncode == 0, r.stderr
    before, after = sections(text), sections((tmp_path / "out" / "master.click").read_text())
    assert set(after) - set(before) == {"network aaron (config networks/carol.click)"}
    for title in before:
        if title.startswith("network "):
            assert after[title] == before[title], title


def test_removing_a_network_changes_only_its_own_section(example, tmp_path):
    _, text, _ = example
    r = merge(_example_copy(tmp_path, lambda d: d["networks"].pop("bob")), tmp_path / "out")
    assert r.returncode == 0
    before, after = sections(text), sections((tmp_path / "out" / "master.click").read_text())
    assert set(before) - set(after) == {"network bob (config networks/bob.click)"}
    for title in after:
        if title.startswith("network "):
            assert after[title] == before[title]


def test_a_refused_network_stops_the_merge_and_writes_nothing(tmp_path):
    def bad(data):
        data["networks"]["bob"]["config"] = "networks/evil.click"

    sysfile = _example_copy(tmp_path, bad)
    with open(os.path.join(os.path.dirname(sysfile), "networks", "evil.click"), "w") as f:
        f.write("FromDevice(eth1) -> ToHost;\nFromDevice(eth0) -> Discard;\n")
    r = merge(sysfile, tmp_path / "out")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "evil.click:1:21: MN102: class ToHost is not allowed in a virtual network" in err
    assert "evil.click:2:1: MN101: FromDevice uses device 'eth0', which is not assigned to network bob" in err
    assert "merge refused: network bob failed the checks" in err
    assert not (tmp_path / "out" / "master.click").exists()


def test_bad_system_is_exit_2(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\n")
    r = merge(str(p), tmp_path / "out")
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"{p}:1:1: error: (top level): missing required field")


def test_targets_and_accounting(tmp_path):
    def vserver(data):
        data["platform"]["accounting"] = "vserver"
        del data["networks"]["alice"]["bandwidth"]

    r = merge(_example_copy(tmp_path, vserver), tmp_path / "out", "--target", "userlevel")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "master.click").read_text()
    assert "platform/contexts :: VSStaticThreadSched(1 101, 2 102, 3 103);" in text
    assert "platform/eth0/from :: FromDevice(eth0, SNIFFER false);" in text
    assert "alice/_platform/out :: Unqueue;" in text
    assert ("platform/threads :: StaticThreadSched(alice/_platform/eth1/recv 1, alice/_platform/eth2/recv 1, "
            "alice/_platform/out 1, bob/_platform/eth1/recv 2, bob/_platform/out 2, carol/_platform/eth1/recv 3, "
            "carol/_platform/out 3);") in text


def test_gre_patterns():
    keyed = VirtualDevice("eth1", "eth0", Tunnel("192.0.2.1", "203.0.113.7", 42), "ethernet")
    plain = VirtualDevice("eth1", "eth0", Tunnel("192.0.2.1", "203.0.113.7"), "ip")
    assert gre_pattern(keyed) == "0/45 9/2f 12/cb007107 16/c0000201 20/20006558 24/0000002a"
    assert gre_pattern(plain) == "0/45 9/2f 12/cb007107 16/c0000201 20/00000800"


def test_hostile_names_stay_inside_their_network(tmp_path):
    """Names that spell another network's or the platform's elements are only ever the network's own."""

    def hostile(data):
        data["networks"]["bob"]["config"] = "networks/hostile.click"

    sysfile = _example_copy(tmp_path, hostile)
    with open(os.path.join(os.path.dirname(sysfile), "networks", "hostile.click"), "w") as f:
        f.write(
            "define($q 7);\n"
            "platform/eth0/queue :: Queue;\n"          # the platform's transmit queue, by name
            "alice/p1/c :: Counter;\n"                 # alice's element, by name
            "elementclass Queue { input -> Null -> output }\n"  # shadow a class
            "FromDevice(eth1) -> alice/p1/c -> platform/eth0/queue -> u :: Unqueue -> Queue -> Paint($q) -> SimpleQueue\n"
            "  -> ToDevice(eth1);\n"
        )
    r = merge(sysfile, tmp_path / "out")
    assert r.returncode == 0, r.stderr.decode()
    g = load_file(str(tmp_path / "out" / "master.click")).graph
    assert "bob/platform/eth0/queue" in g and "bob/alice/p1/c" in g
    # the platform's queue is fed only by encapsulation chains
    assert {u for u, _ in g.in_edges("platform/eth0/queue")} == {"alice/_platform/eth1/ether", "bob/_platform/eth1/ether"}
    # alice's counter is fed only by alice's decapsulation
    assert {u for u, _ in g.in_edges("alice/p1/c")} == {"alice/_platform/eth1/decap"}
    # the shadowing class changed only bob's own Queue; bob's task runs on bob's thread
    assert g.nodes["bob/Queue@5/Null@1"]["klass"] == "Null"
    assert g.nodes["bob/Paint@6"]["config"] == "7"
    threads = g.nodes["platform/threads"]["config"]
    assert "bob/u 2" in threads and "bob/_platform/out 2" in threads


def test_merge_without_certification_says_it_certified_nothing(example, tmp_path):
    r = merge(EXAMPLE, tmp_path)
    assert r.returncode == 0
    assert r.stderr.decode().splitlines() == [
        "certify: warning: certification is off (--no-certify): the networks' elements are placed in the master "
        "without any certification record"]
    _, _, plan = example
    assert plan["certification"] == "none"
    r = merge(EXAMPLE, tmp_path, "--db", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.decode() == ("certify merge: error: --no-certify reads no database: drop --db, --no-stock, "
                                 "--source-root and --analyzer-policy, or drop --no-certify\n")


def test_output_that_cannot_be_written_is_bad_input(tmp_path):
    r = subprocess.run([sys.executable, "-m", "certify", "gate", "--system", EXAMPLE, "--sarif",
                        str(tmp_path / "no" / "such" / "dir.sarif")], capture_output=True)
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert r.stderr.decode().strip().endswith(f"certify: error: {tmp_path / 'no' / 'such' / 'dir.sarif'}: No such file or directory")
