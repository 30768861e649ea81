"""Configuration-conditional verdicts: findings that run only when an instance's configuration gives a keyword.

The fixtures (tests/fixtures/conditions/) mark each packet-path finding's line ``// GUARD: Class::_member`` when
the finding must be conditional on that member's keywords, ``// UNCONDITIONAL`` when it must not be; the test
compares the exact sets of lines (and, for the conditional element, the exact conditions).  Then the decision
per instance (element_db.decision.decide_instance), the keywords a configuration gives (merge.partition), and
a merge of two networks whose instances of one class land on different sides.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions
from analyzers.policy import load_policy
from certify.core.decision import Decision
from element_db.decision import ANALYZER_VERSION, condition_keywords, decide_instance, dropped_costs, policy_version
from element_db.record import make_record, schema_errors
from element_db.store import Database
from merge.lang.confparse import given_keywords
from merge.tasks import instance_cost_symbols, instantiate

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures", "conditions")
OPTS = ParseOptions(includes=(os.path.join(HERE, "fixtures", "include"), os.path.join(ROOT, "examples", "include")))
_MARK = re.compile(r"//\s*(GUARD: (\S+)|UNCONDITIONAL)")


def marks(path: str) -> tuple[set[tuple[int, str]], set[int]]:
    guarded, plain = set(), set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = _MARK.search(line)
            if m and m.group(2):
                guarded.add((n, m.group(2)))
            elif m:
                plain.add(n)
    return guarded, plain


def analyze(name: str, policy=None):
    result = analyze_file(os.path.join(FIXTURES, name), OPTS, policy or load_policy())
    assert len(result.elements) == 1
    return result.elements[0]


def observed(rep) -> tuple[set[tuple[int, str]], set[int]]:
    """(line, member) of every conditional finding; lines of the unconditional handler/global findings."""
    guarded = {(f["line"], c["member"]) for c in rep.conditions for f in c["findings"]}
    lines = {f.line for f in rep.findings if f.rule in ("KS101", "KS203")}
    return guarded, lines - {line for line, _ in guarded}


CASES = sorted(n for n in os.listdir(FIXTURES) if n.endswith(".cc"))
BY_HANDLER = {"set_by_handler.cc": ["CALL"], "read_member_set_by_handler.cc": ["STOP"]}


@pytest.mark.parametrize("name", CASES)
def test_fixture_conditions(name):
    want_guarded, want_plain = marks(os.path.join(FIXTURES, name))
    got_guarded, got_plain = observed(analyze(name, dataclasses.replace(load_policy(), tenant_write_handlers=True)))
    if name in BY_HANDLER:  # a write handler sets the member: conditional only when handlers are forbidden
        want_plain |= {line for line, _ in want_guarded}
        want_guarded = set()
    assert got_guarded == want_guarded
    assert got_plain == want_plain


def test_guarded_element_conditions_exactly():
    rep = analyze("guarded.cc")
    assert rep.verdict == "userspace"  # the class's verdict stays the worst case
    assert rep.verdict_unless_configured == "kernel"
    got = [(c["member"], c["keywords"], c["positions"], c["verdict_if_given"],
            sorted({f["line"] for f in c["findings"]})) for c in rep.conditions]
    assert got == [
        ("Guarded::_h", ["ALARM", "CALL"], {"ALARM": 1}, "userspace", [42, 52]),
        ("Guarded::_bytes_on", ["BYTES"], {}, "userspace", [45]),
    ]
    assert rep.conditions[0]["guard"] == ("Guarded::_h is set in configure() only when ALARM or CALL is given "
                                          "(guarded.cc:30, guarded.cc:32)")
    # the handler calls cost what no declaration says: both conditions hold every call of the routine, so an
    # instance giving none of ALARM, CALL and BYTES never spends it
    assert rep.cost == {"simple_action": "3*cost_HandlerCall__call_write + 10"}
    assert [c.get("cost_symbols") for c in rep.conditions] == [["cost_HandlerCall__call_write"]] * 2
    assert rep.to_json()["conditions"] == rep.conditions


def test_a_cost_symbol_an_unguarded_call_also_spends_is_never_dropped():
    rep = analyze("cost_also_unguarded.cc")
    assert [c["member"] for c in rep.conditions] == ["CostAlsoUnguarded::_h"]
    assert "cost_HandlerCall__call_write" in rep.cost["simple_action"]
    assert "cost_symbols" not in rep.conditions[0]


@pytest.mark.parametrize("given, dropped", [
    (frozenset(), {"cost_a", "cost_b"}),
    (frozenset({"CALL"}), {"cost_b"}),           # cost_a: listed by the CALL condition, which is met
    (frozenset({"BYTES"}), set()),               # cost_a and cost_b: both listed by the BYTES condition
    (None, set()),                               # the configuration could not be read: the worst case
])
def test_dropped_costs(given, dropped):
    record = {"conditions": [
        {"keywords": ["CALL", "ALARM"], "cost_symbols": ["cost_a"]},
        {"keywords": ["BYTES"], "cost_symbols": ["cost_a", "cost_b"]},
        {"keywords": ["OTHER"]},
    ]}
    assert dropped_costs(record, given) == dropped


def test_the_merge_costs_an_instance_without_the_guarded_calls():
    record = {"cost": {"simple_action": "3*cost_HandlerCall__call_write + 10"}, "cost_symbols": {},
              "conditions": [{"keywords": ["ALARM", "CALL"], "positions": {"ALARM": 1},
                              "cost_symbols": ["cost_HandlerCall__call_write"]}]}
    cost = record["cost"]["simple_action"]
    assert instantiate(cost, instance_cost_symbols(record, "10"), "10", 1500) == 10
    assert instantiate(cost, instance_cost_symbols(record, "10, true"), "10, true", 1500) == float("inf")
    assert instantiate(cost, instance_cost_symbols(record, "CALL x.reset"), "CALL x.reset", 1500) == float("inf")
    assert instantiate(cost, instance_cost_symbols(record, "$n"), "$n", 1500) == float("inf")


@pytest.mark.parametrize("name", sorted(BY_HANDLER))
def test_write_handler_setting_the_member_counts_only_when_tenants_may_call_it(name):
    forbidden = analyze(name, dataclasses.replace(load_policy(), tenant_write_handlers=False))
    assert [c["keywords"] for c in forbidden.conditions] == [BY_HANDLER[name]]
    allowed = analyze(name, dataclasses.replace(load_policy(), tenant_write_handlers=True))
    assert allowed.conditions == [] and allowed.verdict_unless_configured is None


@pytest.mark.parametrize("name, want", [
    # Args reads the members themselves (TimedSource's form); ALARM is also the second positional argument
    ("read_member.cc", [
        ("ReadMember::_stop", ["STOP"], {}, [28], "ReadMember::_stop is set in configure() only when STOP is given "
                                                  "(read_member.cc:19)"),
        ("ReadMember::_alarm", ["ALARM"], {"ALARM": 1}, [30], "ReadMember::_alarm is set in configure() only when "
                                                              "ALARM is given (read_member.cc:18)")]),
    # plain copies of keyword locals (RatedSource's form): _stop unset by the constructor, overwritten by configure
    ("copied_local.cc", [
        ("CopiedLocal::_stop", ["STOP"], {}, [38], "CopiedLocal::_stop is set in configure() only when STOP is given "
                                                   "(copied_local.cc:28)"),
        ("CopiedLocal::_bytes", ["BYTES"], {"BYTES": 1}, [42], "CopiedLocal::_bytes is set in configure() only when "
                                                               "BYTES is given (copied_local.cc:30)")]),
])
def test_member_read_by_args_and_copied_local_conditions_exactly(name, want):
    rep = analyze(name)
    assert (rep.verdict, rep.verdict_unless_configured) == ("userspace", "kernel")
    got = [(c["member"], c["keywords"], c["positions"], sorted({f["line"] for f in c["findings"]}), c["guard"])
           for c in rep.conditions]
    assert got == want
    assert all(c["verdict_if_given"] == "userspace" for c in rep.conditions)


def test_certify_element_prints_the_condition():
    r = subprocess.run([sys.executable, "-m", "certify", "element", os.path.join(FIXTURES, "guarded.cc"),
                        "-I", os.path.join(ROOT, "examples", "include"), "-j", "1"], capture_output=True, timeout=120)
    out = r.stdout.decode()
    assert "verdict: Guarded: userspace (kernel unless ALARM or CALL or BYTES is given;" in out, out
    r = subprocess.run([sys.executable, "-m", "certify", "element", os.path.join(FIXTURES, "guarded.cc"),
                        "-I", os.path.join(ROOT, "examples", "include"), "-j", "1", "--json"], capture_output=True,
                       timeout=120)
    e = json.loads(r.stdout)["elements"][0]
    assert e["verdict_unless_configured"] == "kernel"
    assert [c["keywords"] for c in e["conditions"]] == [["ALARM", "CALL"], ["BYTES"]]


# ------------------------------------------------------------------------------------------ per instance

CONDITIONS = [
    {"keywords": ["ALARM", "CALL"], "positions": {"ALARM": 1}, "verdict_if_given": "userspace",
     "member": "Guarded::_h", "guard": "Guarded::_h is set in configure() only when ALARM or CALL is given (g.cc:30)",
     "findings": [{"rule": "KS203", "file": "g.cc", "line": 42, "column": 13}]},
    {"keywords": ["POKE"], "positions": {}, "verdict_if_given": "reject", "member": "Guarded::_p",
     "guard": "Guarded::_p is set in configure() only when POKE is given (g.cc:33)",
     "findings": [{"rule": "KS301", "file": "g.cc", "line": 50, "column": 9}]},
]


def record(verdict="reject", unless="kernel", conditions=CONDITIONS):
    extra = {"conditions": conditions, "verdict_unless_configured": unless} if conditions else {}
    return make_record("Guarded", [("g.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), verdict, ["r"], [],
                       certified_at="2026-11-25T18:00:00Z", **extra)


def decision(rec, state="fresh"):
    placement = {"kernel": "kernel", "userspace": "user"}.get(rec["verdict"], "refused")
    return Decision("Guarded", state, placement if state == "fresh" else "refused", verdict=rec["verdict"], record=rec)


def test_record_with_conditions_fits_the_schema():
    assert schema_errors(record()) == []
    bad = dict(record(), conditions=[{"keywords": [], "verdict_if_given": "kernel", "findings": [], "guard": ""}])
    assert schema_errors(bad)


def test_condition_keywords_with_positions():
    assert condition_keywords(record()) == {"ALARM": 1, "CALL": None, "POKE": None}
    assert condition_keywords(None) == {}


@pytest.mark.parametrize("given, placement, verdict", [
    (frozenset(), "kernel", "kernel"),
    (frozenset({"CALL"}), "user", "userspace"),
    (frozenset({"ALARM"}), "user", "userspace"),
    (frozenset({"POKE"}), "refused", "reject"),
    (frozenset({"CALL", "POKE"}), "refused", "reject"),
    (None, "refused", "reject"),  # the configuration could not be read: the class's worst case
])
def test_decide_instance(given, placement, verdict):
    d = decide_instance(decision(record()), given)
    assert (d.placement, d.verdict, d.conditional) == (placement, verdict, True)


def test_decide_instance_keeps_the_class_decision_without_conditions_or_fresh_record():
    assert decide_instance(decision(record(verdict="userspace", conditions=[])), frozenset()).placement == "user"
    stale = decide_instance(decision(record(), state="stale"), frozenset())
    assert (stale.placement, stale.conditional) == ("refused", False)
    unconditional_userspace = decide_instance(decision(record(verdict="userspace", unless="userspace",
                                                              conditions=CONDITIONS[:1])), frozenset())
    assert unconditional_userspace.placement == "user"


@pytest.mark.parametrize("config, given", [
    ("", set()),
    ("SHARED true", {"SHARED"}),
    ("CALL c.reset, AFTER 1000", {"CALL"}),
    ("CALL", {"CALL"}),
    ("5", set()),  # one positional argument: LIMIT, position 0
    ("5, true", {"ALARM"}),  # the second positional argument is ALARM
    ("LIMIT 5, ALARM true", {"ALARM"}),
    ('"CALL c.reset"', set()),  # a quoted argument is not a keyword
    ("AFTER 3 // CALL c.reset\n", set()),  # a comment
])
def test_given_keywords(config, given):
    wanted = {"CALL": None, "ALARM": 1, "SHARED": None}
    assert given_keywords(config, wanted) == given


def test_given_keywords_fails_closed_on_unexpanded_variables():
    assert given_keywords("CALL $handler", {"CALL": None}) is None


# ------------------------------------------------------------------------------------------ a merge

SYSTEM = """version: 1
platform: {task_budget: 20000, max_packet_length: 1500}
physical:
  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}
networks:
  frank:
    uid: 1000
    cpu_share: 0.5
    config: frank.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.7, key: 1}, inner: ethernet}
  grace:
    uid: 1001
    cpu_share: 0.5
    config: grace.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.8, key: 2}, inner: ethernet}
"""
STOCK = ["FromDevice", "Classifier", "Strip", "CheckIPHeader", "Counter", "Discard", "Queue", "ToDevice", "Unstrip",
         "StoreData", "IPEncap", "EtherEncap", "Unqueue", "RoundRobinSched", "PaintSwitch", "Paint", "MarkIPHeader",
         "StaticThreadSched", "ScheduleInfo", "ToHost", "FromHost", "BandwidthRatedUnqueue"]


def test_merge_places_each_instance_by_its_configuration(tmp_path):
    db = Database(str(tmp_path / "db"), create=True)
    for k in STOCK:
        db.write(make_record(k, [(f"{k}.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), "kernel", ["ok"], [],
                             certified_at="2026-11-25T18:00:00Z", cost={"push": "10", "pull": "10", "run_task": "10"}))
    tally = [{"keywords": ["SHARED"], "positions": {}, "verdict_if_given": "userspace", "member": "Tally::_shared",
              "guard": "Tally::_shared is set in configure() only when SHARED is given (tally.cc:22)",
              "findings": [{"rule": "KS101", "file": "tally.cc", "line": 28, "column": 13}]}]
    db.write(make_record("Tally", [("tally.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), "userspace",
                         ["userspace: KS101 global-write (1 finding)"], [], certified_at="2026-11-25T18:00:00Z",
                         cost={"simple_action": "3"}, port_count="1/1", processing="a/a", conditions=tally,
                         verdict_unless_configured="kernel",
                         packet_layout={"moves_data": False, "sets_network_header": False,
                                        "reads_network_header": False, "makes_packets": False}))
    (tmp_path / "system.yaml").write_text(SYSTEM)
    (tmp_path / "frank.click").write_text("FromDevice(eth1) -> Tally -> Queue -> ToDevice(eth1);\n")
    (tmp_path / "grace.click").write_text("FromDevice(eth1) -> t :: Tally(SHARED true) -> Queue -> ToDevice(eth1);\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", str(tmp_path / "system.yaml"),
                        "--db", db.path, "--no-stock", "--out", str(out)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    plan = json.loads((out / "plan.json").read_text())
    frank, grace = plan["placements"]["frank"]["Tally@2"], plan["placements"]["grace"]["t"]
    assert frank["side"] == "kernel"
    assert frank["condition"] == {"given": [], "keywords": ["SHARED"], "verdict": "kernel"}
    assert "kernel unless SHARED is given, and its configuration gives none of them" in frank["reason"]
    assert grace["side"] == "user"
    assert grace["condition"] == {"given": ["SHARED"], "keywords": ["SHARED"], "verdict": "userspace"}
    assert "its configuration gives SHARED, which makes it userspace" in grace["reason"]
    assert "frank/Tally@2" in (out / "master.click").read_text()
    assert "Tally(SHARED true)" in (out / "grace" / "user.click").read_text()


CLICK_SRC = os.environ.get("CLICK_SRC")


@pytest.mark.skipif(not CLICK_SRC, reason="CLICK_SRC is not set (a Click source tree)")
def test_real_counter_is_conditional_on_its_call_keywords():
    assert CLICK_SRC is not None
    policy = dataclasses.replace(load_policy(), tenant_write_handlers=False)
    result = analyze_file(os.path.join(CLICK_SRC, "elements", "standard", "counter.cc"),
                          ParseOptions(click_root=CLICK_SRC), policy)
    rep = next(e for e in result.elements if e.cls == "Counter")
    assert rep.verdict == "userspace"
    assert [(c["member"], c["keywords"]) for c in rep.conditions] == [
        ("Counter::_count_trigger_h", ["COUNT_CALL"]), ("Counter::_byte_trigger_h", ["BYTE_COUNT_CALL"])]
    assert all(f["rule"] != "KS203" for f in rep.to_json()["findings"]
               if not any(f["line"] == g["line"] for c in rep.conditions for g in c["findings"]))


@pytest.mark.skipif(not CLICK_SRC, reason="CLICK_SRC is not set (a Click source tree)")
@pytest.mark.parametrize("file, cls, member, keywords, lines", [
    ("timedsource.cc", "TimedSource", "TimedSource::_stop", ["STOP"], [84]),  # .read("STOP", _stop)
    ("ratedsource.cc", "RatedSource", "RatedSource::_stop", ["STOP"], [102, 127]),  # _stop = stop;
    ("infinitesource.cc", "InfiniteSource", "InfiniteSource::_end_h", ["END_CALL", "STOP"], [134, 149]),
])
def test_real_sources_stop_the_driver_only_when_configured_to(file, cls, member, keywords, lines):
    assert CLICK_SRC is not None
    result = analyze_file(os.path.join(CLICK_SRC, "elements", "standard", file), ParseOptions(click_root=CLICK_SRC),
                          load_policy())
    rep = next(e for e in result.elements if e.cls == cls)
    assert [(c["member"], c["keywords"], c["positions"], sorted({f["line"] for f in c["findings"]}))
            for c in rep.conditions] == [(member, keywords, {}, lines)]
