"""Incremental merge and tenant independence.

* After any sequence of installs and uninstalls (some refused), a merge that
  reuses each unchanged network's kept result (merge.incremental.MergeCache)
  writes exactly the files, messages and verdict of a full merge of the same
  inputs.
* One network's placement, tasks and task costs are the same alone and
  beside hundreds of others: the platform hands each network's packets over
  at a queue of its own.
"""

import dataclasses
import ipaddress
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certify.mergejob import run_merge
from element_db.decision import ANALYZER_VERSION, Context, policy_version
from element_db.record import make_record
from element_db.store import Database, LayeredDatabase
from merge.incremental import MergeCache
from merge.policy import load_policy
from merge.system import load_system

STOCK = ["FromDevice", "Classifier", "Strip", "CheckIPHeader", "Counter", "Discard", "Queue", "ToDevice", "Unstrip",
         "StoreData", "IPEncap", "EtherEncap", "Unqueue", "RoundRobinSched", "PaintSwitch", "Paint", "MarkIPHeader",
         "StaticThreadSched", "ScheduleInfo", "ToHost", "FromHost", "EtherMirror", "Null", "BandwidthRatedUnqueue"]

VARIANTS = {
    "plain": "FromDevice(eth1) -> Counter -> Queue -> ToDevice(eth1);\n",
    "mirror": "FromDevice(eth1) -> EtherMirror -> Paint(3) -> Queue -> ToDevice(eth1);\n",
    # a userspace class in the middle: two channels to the network's container
    "container": "FromDevice(eth1) -> Strip(14) -> f :: MyFilter -> Unstrip(14) -> Queue -> ToDevice(eth1);\n",
    # over the budget: the receive task is split
    "long": "FromDevice(eth1) -> " + " -> ".join(["Null"] * 60) + " -> Queue -> ToDevice(eth1);\n",
    # an element that alone breaks the budget moves to the container
    "heavy": "FromDevice(eth1) -> h :: Heavy(4) -> Queue -> ToDevice(eth1);\n",
    # refused: a rejected class, a syntax error
    "reject": "FromDevice(eth1) -> k :: KernelThing -> Queue -> ToDevice(eth1);\n",
    "syntax": "FromDevice(eth1) -> ;\n",
}
NETWORKS = ["n0", "n1", "n2", "n3", "n4"]


def write_db(path):
    db = Database(str(path), create=True)
    pv = policy_version(None)
    for k in STOCK:
        db.write(make_record(k, [(f"{k}.cc", "0" * 64)], ANALYZER_VERSION, pv, "kernel", ["certified"], [],
                             certified_at="2026-11-25T18:00:00Z", cost={"push": "10", "pull": "10", "run_task": "10"}))
    for k, verdict, cost, symbols in [("MyFilter", "userspace", {"push": "5"}, None),
                                      ("Heavy", "kernel", {"push": "n * p_length"},
                                       {"n": "arg:0", "p_length": "packet_length"}),
                                      ("KernelThing", "reject", {"push": "1"}, None)]:
        kw = {"cost_symbols": symbols} if symbols else {}
        db.write(make_record(k, [(f"{k}.cc", "0" * 64)], ANALYZER_VERSION, pv, verdict, [f"{k} is {verdict}"], [],
                             certified_at="2026-11-25T18:00:00Z", cost=cost, **kw))
    return str(path)


def write_system(d, names, budget=500, leaf=2):
    lines = ["version: 1", f"platform: {{task_budget: {budget}, max_packet_length: 1500, dispatch_leaf: {leaf}}}",
             "physical:",
             '  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}',
             '  eth1: {address: 198.51.100.1, ether: "02:00:00:00:01:01", gateway_ether: "02:00:00:00:01:fe"}',
             "networks:"]
    for i, n in enumerate(names):
        phys, local = ("eth0", "192.0.2.1") if i % 3 else ("eth1", "198.51.100.1")
        key = f", key: {i + 1}" if i % 4 else ""
        lines += [f"  {n}:", f"    uid: {1000 + i}", f"    config: {n}.click", "    devices:",
                  f"      eth1: {{physical: {phys}, tunnel: {{local: {local}, remote: {ipaddress.IPv4Address('10.64.0.10') + i}{key}}}, "
                  "inner: ethernet}"]
        if not (d / f"{n}.click").exists():
            (d / f"{n}.click").write_text(VARIANTS["plain"])
    (d / "system.yaml").write_text("\n".join(lines) + "\n")
    return load_system(str(d / "system.yaml"))


def merge(system, names, db, cache):
    sub = dataclasses.replace(system, networks={n: system.networks[n] for n in sorted(names)})
    layered = LayeredDatabase([Database(db)])
    return run_merge(sub, load_policy(), layered, "linuxmodule", Context.current(), cache=cache)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(NETWORKS), st.sampled_from([None, *VARIANTS])), min_size=1, max_size=7))
def test_incremental_merge_equals_the_full_merge(tmp_path_factory, ops):
    d = tmp_path_factory.mktemp("inc")
    db = write_db(d / "db")
    system = write_system(d, NETWORKS)
    cache = MergeCache()
    accepted: dict[str, str] = {}
    for name, variant in ops:
        candidate = dict(accepted)
        if variant is None:
            candidate.pop(name, None)
        else:
            candidate[name] = VARIANTS[variant]
        for n, text in candidate.items():
            (d / f"{n}.click").write_text(text)
        if not candidate:
            accepted = candidate
            continue
        incremental = merge(system, candidate, db, cache)
        full = merge(system, candidate, db, None)
        assert (incremental.ok, incremental.messages, incremental.refused) == (full.ok, full.messages, full.refused)
        assert incremental.files == full.files
        if full.ok:
            accepted = candidate
        for n, text in accepted.items():  # a refused install leaves the accepted files as they were
            (d / f"{n}.click").write_text(text)


def test_an_unchanged_network_is_neither_checked_nor_partitioned_again(tmp_path):
    db = write_db(tmp_path / "db")
    system = write_system(tmp_path, NETWORKS)
    for i, n in enumerate(NETWORKS):
        (tmp_path / f"{n}.click").write_text(list(VARIANTS.values())[i % 5])
    cache = MergeCache()
    first = merge(system, NETWORKS, db, cache)
    assert first.ok, first.messages
    assert cache.stats == {"check_hits": 0, "checks": 5, "partition_hits": 0, "partitions": 5}
    (tmp_path / "n2.click").write_text(VARIANTS["mirror"])
    second = merge(system, NETWORKS, db, cache)
    assert second.ok
    assert cache.stats == {"check_hits": 4, "checks": 6, "partition_hits": 4, "partitions": 6}
    assert second.files == merge(system, NETWORKS, db, None).files


def test_a_changed_record_redoes_the_networks_that_use_it(tmp_path):
    db = write_db(tmp_path / "db")
    system = write_system(tmp_path, NETWORKS)
    for n in NETWORKS:
        (tmp_path / f"{n}.click").write_text(VARIANTS["heavy"] if n == "n1" else VARIANTS["plain"])
    cache = MergeCache()
    assert merge(system, NETWORKS, db, cache).ok
    # Heavy's cost drops: only n1 used it; its partition is redone, and Heavy now stays in the kernel
    pv = policy_version(None)
    Database(db).write(make_record("Heavy", [("Heavy.cc", "0" * 64)], ANALYZER_VERSION, pv, "kernel", ["ok"], [],
                                   certified_at="2026-11-25T18:00:00Z", cost={"push": "20"}))
    before = dict(cache.stats)
    out = merge(system, NETWORKS, db, cache)
    assert out.ok
    assert cache.stats["partitions"] - before["partitions"] == 1
    plan = json.loads(out.files["plan.json"])
    assert plan["placements"]["n1"]["h"]["side"] == "kernel"
    assert out.files == merge(system, NETWORKS, db, None).files


def _own(plan, net):
    """What the merge decided for one network: placements, channels, splits, its tasks and their costs."""
    tasks = [t for t in plan["tasks"] if t["task"].startswith(net + "/")]
    splits = [s for s in plan["splits"] if s["task"].startswith(net + "/")]
    return plan["placements"][net], plan["channels"][net], splits, tasks


def test_a_network_is_placed_and_costed_the_same_alone_and_beside_500_others(tmp_path):
    db = write_db(tmp_path / "db")
    names = [f"t{i:03d}" for i in range(501)]
    system = write_system(tmp_path, names, budget=500, leaf=16)
    shapes = ["container", "long", "heavy", "mirror", "plain"]
    for i, n in enumerate(names):
        (tmp_path / f"{n}.click").write_text(VARIANTS[shapes[i % len(shapes)]])
    crowd = merge(system, names, db, None)
    assert crowd.ok, crowd.messages[-3:]
    crowd_plan = json.loads(crowd.files["plan.json"])
    assert all(t["fits"] for t in crowd_plan["tasks"])
    for n in ("t000", "t001", "t002", "t250"):  # container, long (split), heavy (moved out), container
        alone = merge(system, [n], db, None)
        assert alone.ok
        assert _own(json.loads(alone.files["plan.json"]), n) == _own(crowd_plan, n)
        assert alone.files.get(f"{n}/user.click") == crowd.files.get(f"{n}/user.click")
    # the dispatch tree: 501 tunnels over two devices, each level's cost independent of any network's pipeline
    for p, tree in crowd_plan["dispatch"].items():
        assert tree["tunnels"] == len(crowd_plan["physical"][p]["tunnels"])
        assert len(tree["levels"]) >= 2 and tree["worst_walk"] < 500
