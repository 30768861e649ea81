"""Partition: kernel or container per element, channels for cut edges, tasks fitted to the budget."""

import json
import subprocess
import sys

import pytest

from element_db.decision import ANALYZER_VERSION, policy_version
from element_db.record import make_record
from element_db.store import Database, LayeredDatabase
from merge.lang import load_file
from merge.lang.stock_classes import stock_elements
from merge.ports import check_ports

SYSTEM = """version: 1
platform: {{task_budget: {budget}, max_packet_length: 1500}}
physical:
  eth0: {{address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}}
networks:
  net:
    uid: 1000
    cpu_share: 0.5
    config: net.click
    devices:
      eth1: {{physical: eth0, tunnel: {{local: 192.0.2.1, remote: 203.0.113.7, key: 1}}, inner: ethernet}}
"""
STOCK = ["FromDevice", "Classifier", "Strip", "CheckIPHeader", "Counter", "Discard", "Queue", "ToDevice", "Unstrip",
         "StoreData", "IPEncap", "EtherEncap", "Unqueue", "RoundRobinSched", "PaintSwitch", "Paint", "MarkIPHeader",
         "StaticThreadSched", "ScheduleInfo", "ToHost", "FromHost", "EtherMirror", "Null", "BandwidthRatedUnqueue"]


def write_db(path, extra=(), unit="10"):
    db = Database(str(path), create=True)
    for k in STOCK:
        db.write(make_record(k, [(f"{k}.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), "kernel", ["certified"], [],
                             certified_at="2026-11-25T18:00:00Z", cost={"push": unit, "pull": unit, "run_task": unit}))
    for k, verdict, cost, symbols, *ports in extra:
        kw = {"cost": cost} if cost is not None else {}
        if ports:
            kw["port_count"], kw["processing"] = ports[0]
        if symbols:
            kw["cost_symbols"] = symbols
        db.write(make_record(k, [(f"{k}.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), verdict,
                             [f"{k} is {verdict}"], [],
                             certified_at="2026-11-25T18:00:00Z", **kw))
    return db


def run_merge(tmp_path, config, extra=(), budget=20000, target="linuxmodule"):
    (tmp_path / "system.yaml").write_text(SYSTEM.format(budget=budget))
    (tmp_path / "net.click").write_text(config)
    db = write_db(tmp_path / "db", extra)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", str(tmp_path / "system.yaml"),
                        "--db", db.path, "--no-stock", "--out", str(out), "--target", target], capture_output=True,
                       timeout=120)
    plan = json.loads((out / "plan.json").read_text()) if (out / "plan.json").exists() else None
    return r, out, plan


def reparsed_clean(path, db=None):
    g = load_file(str(path)).graph
    meta = LayeredDatabase([Database(str(db))]).port_metadata(stock_elements()) if db else stock_elements()
    errors = [f for f in check_ports(g, meta) if f.severity == "error"]
    assert errors == [], errors
    return g


def test_all_certified_stays_in_kernel(tmp_path):
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> Strip(14) -> Unstrip(14) -> Queue -> ToDevice(eth1);\n")
    assert r.returncode == 0, r.stderr.decode()
    assert not (out / "net").exists()
    assert plan["channels"] == {"net": []}
    assert {p["side"] for p in plan["placements"]["net"].values()} == {"kernel", "device"}
    assert all(t["fits"] for t in plan["tasks"])
    reparsed_clean(out / "master.click")


def test_uncertifiable_element_in_the_middle_of_a_chain(tmp_path):
    r, out, plan = run_merge(
        tmp_path, "FromDevice(eth1) -> Strip(14) -> f :: MyFilter -> Unstrip(14) -> Queue -> ToDevice(eth1);\n",
        extra=[("MyFilter", "userspace", {"push": "5"}, None)])
    assert r.returncode == 0, r.stderr.decode()
    assert plan["placements"]["net"]["f"]["side"] == "user"
    chans = plan["channels"]["net"]
    assert [(c["direction"], c["from"], c["to"]) for c in chans] == [("to_user", "Strip@2", "f"), ("to_kernel", "f", "Unstrip@4")]
    dev0, dev1 = chans[0]["endpoint"], chans[1]["endpoint"]
    assert len(dev0) <= 15 and dev0 != dev1
    user = (out / "net" / "user.click").read_text()
    master = (out / "master.click").read_text()
    assert f"_platform/ch0/from :: FromDevice({dev0}, PROMISC true, SNAPLEN 65535);" in user
    # the annotation area is restored, then the 14 bytes Strip(14) left before the data (Unstrip(14) re-exposes
    # them) go back to the headroom; the network header is none here (an Ethernet tunnel, Strip(14))
    assert "_platform/ch0/annoroom :: Unstrip(62);" not in user and "net/_platform/ch0/annoroom :: Unstrip(62);" in master
    assert "_platform/ch0/anno42 [0] -> [0] _platform/ch0/annostrip;" in user
    assert "_platform/ch0/annostrip [0] -> [0] _platform/ch0/headroom;" in user
    assert "_platform/ch0/headroom :: Strip(14);" in user
    assert "_platform/ch0/headroom [0] -> [0] f;" in user
    assert "f [0] -> [0] _platform/ch1/queue;" in user  # f pushes; the device pulls
    assert f"_platform/ch1/to :: ToDevice({dev1});" in user
    master = (out / "master.click").read_text()
    assert f"net/_platform/ch0/to :: ToHost({dev0});" in master
    assert f"net/_platform/ch1/from :: FromHost({dev1});" in master
    assert "net/_platform/ch1/headroom [0] -> [0] net/Unstrip@4;" in master
    # none after Strip(14) of an Ethernet tunnel; after the unknown MyFilter nothing before the device reads it
    assert [c["carries"] for c in chans] == [{"annotations": 48, "headroom": 14, "network_header": "none"},
                                             {"annotations": 48, "headroom": 64, "network_header": "not needed"}]
    # after MyFilter (a class of its own) the headroom is not known: 64 bytes cross, the most a stock Click
    # configuration strips and re-exposes
    reparsed_clean(out / "master.click")
    reparsed_clean(out / "net" / "user.click")
    for name in ("launch.sh", "certify-net.service"):
        assert dev0 in (out / "net" / name).read_text()
    assert "CPUQuota=50%" in (out / "net" / "certify-net.service").read_text()


def test_pull_side_element_in_user_space(tmp_path):
    r, out, plan = run_merge(
        tmp_path, "FromDevice(eth1) -> Queue -> p :: MyPull -> ToDevice(eth1);\n",
        extra=[("MyPull", "userspace", {"pull": "5"}, None, ("1", "l"))])
    assert r.returncode == 0, r.stderr.decode()
    user = (out / "net" / "user.click").read_text()
    master = (out / "master.click").read_text()
    # kernel: the queue's pull output needs a task to feed the push channel
    assert "net/Queue@2 [0] -> [0] net/_platform/ch0/unqueue;" in master
    # container: a queue where the push channel meets p's pull input; p is pulled by the device directly
    assert "_platform/ch0/annostrip [0] -> [0] _platform/ch0/rqueue;" in user
    assert "p [0] -> [0] _platform/ch1/annoroom;" in user
    # kernel: the platform's output task pulls from a queue after the channel
    assert "net/_platform/ch1/rqueue [0] -> [0] net/_platform/out;" in master
    reparsed_clean(out / "master.click")
    reparsed_clean(out / "net" / "user.click", tmp_path / "db")


def test_task_over_budget_is_split(tmp_path):
    chain = " -> ".join(["Null"] * 120)  # 10 units each: the network's receive task (BURST 1) is over 1000
    r, out, plan = run_merge(tmp_path, f"FromDevice(eth1) -> {chain} -> Queue -> ToDevice(eth1);\n",
                             extra=[], budget=1000)
    assert r.returncode == 0, r.stderr.decode()
    assert plan["splits"], plan["tasks"]
    assert all(t["fits"] for t in plan["tasks"])
    split = plan["splits"][0]
    assert split["cost_before"] > 1000 and split["task_cost_after"] <= 1000 and split["new_task_cost"] <= 1000
    runs = {t["task"]: t["packets_per_run"] for t in plan["tasks"]}
    assert runs["platform/eth0/from"] == 8 and runs["platform/eth0/to"] == 16 and runs[split["unqueue"]] == 1
    assert split["task"] == "net/_platform/eth1/recv" and split["unqueue"] == "net/_platform/split0/unqueue"
    master = (out / "master.click").read_text()
    assert split["unqueue"] + " :: Unqueue" in master
    assert split["unqueue"] + " 1" in master  # a network's new task runs on the network's thread
    reparsed_clean(out / "master.click")


def test_single_element_over_budget_or_unbounded_moves_out(tmp_path):
    r, out, plan = run_merge(
        tmp_path, "FromDevice(eth1) -> h :: Heavy(4) -> u :: Mystery -> Queue -> ToDevice(eth1);\n",
        extra=[("Heavy", "kernel", {"push": "n * p_length"}, {"n": "arg:0", "p_length": "packet_length"}),
               ("Mystery", "kernel", None, None)],
        budget=5000)
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert "MN304: element 'h' of network net moved to its container: in task net/_platform/eth1/recv, it alone costs 6000 units" in err
    assert "MN304: element 'u' of network net moved to its container: in task net/_platform/eth1/recv, its cost is unknown" in err
    assert plan["placements"]["net"]["h"]["side"] == "user" and plan["placements"]["net"]["u"]["side"] == "user"
    assert all(t["fits"] for t in plan["tasks"])


def test_reject_refuses_the_merge(tmp_path):
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> k :: KernelThing -> Queue -> ToDevice(eth1);\n",
                             extra=[("KernelThing", "reject", {"push": "1"}, None)])
    assert r.returncode == 1
    assert "net.click:1:21: MN302: element 'k' of network net: class KernelThing is rejected: KernelThing is reject" in r.stderr.decode()
    assert not (out / "master.click").exists()


def test_uncertified_refuses_the_merge(tmp_path):
    # a stock class with no record in this database
    r, out, _ = run_merge(tmp_path, "FromDevice(eth1) -> x :: SetIPChecksum -> Queue -> ToDevice(eth1);\n")
    assert r.returncode == 1
    assert "MN301: element 'x' of network net: class SetIPChecksum cannot run anywhere: missing record" in r.stderr.decode()


def test_unchanged_inputs_give_identical_outputs(tmp_path):
    cfg = "FromDevice(eth1) -> Strip(14) -> f :: MyFilter -> Unstrip(14) -> Queue -> ToDevice(eth1);\n"
    extra = [("MyFilter", "userspace", {"push": "5"}, None)]
    _, out1, _ = run_merge(tmp_path / "a", cfg, extra) if (tmp_path / "a").mkdir() is None else None
    _, out2, _ = run_merge(tmp_path / "b", cfg, extra) if (tmp_path / "b").mkdir() is None else None
    for name in ("master.click", "net/user.click"):
        assert (out1 / name).read_text() == (out2 / name).read_text()
    p1 = json.loads((out1 / "plan.json").read_text())
    p2 = json.loads((out2 / "plan.json").read_text())
    strip = lambda p: json.dumps(p, sort_keys=True).replace(str(tmp_path / "a"), "X").replace(str(tmp_path / "b"), "X")  # noqa: E731
    assert strip(p1) == strip(p2)


def test_userlevel_channels_are_veth_pairs(tmp_path):
    """userlevel: the master uses one end of a veth pair per cut edge, the container the other; the platform's
    channels.sh creates them once (they outlive the containers)."""
    r, out, plan = run_merge(
        tmp_path, "FromDevice(eth1) -> Strip(14) -> f :: MyFilter -> Unstrip(14) -> Queue -> ToDevice(eth1);\n",
        extra=[("MyFilter", "userspace", {"push": "5"}, None)], target="userlevel")
    assert r.returncode == 0, r.stderr.decode()
    master = (out / "master.click").read_text()
    user = (out / "net" / "user.click").read_text()
    chans = plan["channels"]["net"]
    assert [(c["endpoint"][-2:], c["peer"][-2:]) for c in chans] == [("x0", "y0"), ("x1", "y1")]
    assert f"net/_platform/ch0/to :: ToDevice({chans[0]['endpoint']});" in master
    assert f"_platform/ch0/from :: FromDevice({chans[0]['peer']}, PROMISC true, SNAPLEN 65535);" in user
    assert f"_platform/ch1/to :: ToDevice({chans[1]['peer']});" in user
    assert f"net/_platform/ch1/from :: FromDevice({chans[1]['endpoint']}, PROMISC true, SNAPLEN 65535);" in master
    script = (out / "channels.sh").read_text()
    for c in chans:
        assert f"ip link add {c['endpoint']} mtu 9000 type veth peer name {c['peer']} mtu 9000" in script
        assert f"ip link set {c['peer']} netns certify-net" in script
    reparsed_clean(out / "master.click")
    reparsed_clean(out / "net" / "user.click")


@pytest.mark.skipif(__import__("shutil").which("click") is None, reason="needs a built user-level click on PATH")
def test_user_click_runs_in_real_click(tmp_path):
    """user.click with its channel devices replaced by FromDump/ToDump: packets cross and are processed."""
    from realclick import read_pcap, write_pcap  # examples/ (tests/conftest.py puts it on sys.path)

    stock_mirror = [("EtherMirror", "userspace", {"push": "5"}, None)]
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> Null -> m :: EtherMirror -> Null -> Queue -> ToDevice(eth1);\n",
                             extra=stock_mirror)
    assert r.returncode == 0, r.stderr.decode()
    chans = plan["channels"]["net"]
    user = (out / "net" / "user.click").read_text()
    user = user.replace(f"FromDevice({chans[0]['peer']}, PROMISC true, SNAPLEN 65535)", "FromDump(in.pcap, STOP false)")
    user = user.replace(f"ToDevice({chans[1]['peer']})", "ToDump(out.pcap)")
    (tmp_path / "run.click").write_text(user + "\nScript(wait 1s, stop);\n")
    header = bytes.fromhex("020000000002" "020000000001" "88b5")
    annos = [bytes([i]) * 4 + bytes(range(4, 48)) for i in range(3)]  # destination IP, paint, ... per packet
    frames = [bytes.fromhex("0a0000000001" "0a0000000002" "0800") + bytes([i]) * 46 for i in range(3)]
    noise = bytes.fromhex("333300000016" "020000000009" "86dd") + bytes(60)  # the host stack's IPv6: filtered out
    write_pcap(tmp_path / "in.pcap", [header + annos[0] + frames[0], noise] + [header + a + f for a, f in zip(annos[1:], frames[1:])])
    run = subprocess.run(["click", "run.click"], cwd=tmp_path, capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    got = read_pcap(tmp_path / "out.pcap")
    # mirrored, in order, re-framed, each packet's annotation area carried across the container unchanged
    assert got == [header + a + f[6:12] + f[0:6] + f[12:] for a, f in zip(annos, frames)]


def test_platform_elements_without_record_costs_take_declared_costs(tmp_path):
    """The merger's own elements fall back on merge/data/platform_costs.yaml; a network's own do not."""
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> q :: Queue -> ToDevice(eth1);\n",
                             extra=[("FromDevice", "kernel", None, None), ("Queue", "kernel", None, None),
                                    ("ToDevice", "kernel", None, None)])
    assert r.returncode == 0, r.stderr.decode()
    assert "MN304: element 'q' of network net moved to its container" in r.stderr.decode()
    assert plan["placements"]["net"]["q"]["side"] == "user"
    declared = sorted({n for t in plan["tasks"] for n in t.get("declared", [])})
    assert "platform/eth0/from" in declared and "platform/eth0/queue" in declared
    assert all(t["fits"] for t in plan["tasks"])


def test_a_task_runs_burst_packets_per_run(tmp_path):
    """A task's cost per run is its BURST times its most expensive path; BURST -1 (no limit) moves it out."""
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> Queue -> u :: Unqueue(-1) -> Queue -> ToDevice(eth1);\n",
                             budget=20000)
    assert r.returncode == 0, r.stderr.decode()
    assert ("MN304: element 'u' of network net moved to its container: in task net/u, it handles an unbounded "
            "number of packets per run (BURST)") in r.stderr.decode()
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> Queue -> u :: Unqueue(BURST 4) -> Queue -> ToDevice(eth1);\n",
                             budget=20000)
    assert r.returncode == 0, r.stderr.decode()
    task = next(t for t in plan["tasks"] if t["task"] == "net/u")
    assert task["packets_per_run"] == 4 and task["cost"] == 4 * 30  # Queue pull + Unqueue + Queue push, 10 each


def test_packets_per_run_reads_burst():
    from merge.tasks import INF, packets_per_run

    spec = {"keyword": "BURST", "position": 1, "default": 8}
    assert packets_per_run("eth0", spec) == 8
    assert packets_per_run("eth0, 4", spec) == 4
    assert packets_per_run("eth0, PROMISC true, BURST 32", spec) == 32
    assert packets_per_run("eth0, BURST -1", spec) == INF
    assert packets_per_run("eth0, BURST lots", spec) == INF
    assert packets_per_run("eth0", None) == 1


def test_a_task_reaches_every_branch_not_only_the_worst():
    """Every element a task can run is checked, so one round moves every culprit of a dispatching task."""
    import networkx as nx

    from merge.tasks import CostModel

    g = nx.MultiDiGraph()
    for n, k in [("src", "FromDevice"), ("cl", "Classifier"), ("a", "Mystery"), ("b", "Mystery"), ("q", "Queue"),
                 ("after", "Null"), ("pullsrc", "Queue"), ("u", "Unqueue")]:
        g.add_node(n, klass=k, config="")
    for a, b, fp in [("src", "cl", 0), ("cl", "a", 0), ("cl", "b", 1), ("a", "q", 0), ("b", "q", 0), ("q", "after", 0),
                     ("pullsrc", "u", 0)]:
        g.add_edge(a, b, key=(fp, 0), from_port=fp, to_port=0)
    meta = {"Queue": {"processing": "h/l"}, "Unqueue": {"processing": "l/h"}, "Classifier": {"processing": "h/h"}}
    m = CostModel(g, {}, meta, 1500, frozenset({"FromDevice", "Unqueue"}))
    assert m.reach("src") == ["a", "b", "cl", "q"]  # stops at the queue; both branches
    assert m.reach("u") == ["pullsrc"]


def test_an_agnostic_element_on_a_receive_path_is_not_a_task(tmp_path):
    """SetTimestamp runs no task: it is costed on its network's receive path, not as a task pulling from it."""
    r, out, plan = run_merge(tmp_path, "FromDevice(eth1) -> s :: SetTimestamp -> Queue -> ToDevice(eth1);\n",
                             extra=[("SetTimestamp", "kernel", {"simple_action": "14"}, None)])
    assert r.returncode == 0, r.stderr.decode()
    assert plan["placements"]["net"]["s"]["side"] == "kernel"
    recv = next(t for t in plan["tasks"] if t["task"] == "net/_platform/eth1/recv")
    assert "net/s" in recv["path"] and not any(t["task"] == "net/s" for t in plan["tasks"])
