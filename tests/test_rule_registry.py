"""Every rule of the one registry (certify/core/rules.py) has a fixture that triggers it, in every family.

``FIXTURES`` maps each rule id to a fixture and the code path that runs it: the element analysis (KS, as
``certify element``), the loop-bound analysis (KS501, as ``certify bounds``), the merge (MN, as
``certify merge``) or the gate (GA, as ``certify gate``).  A fixture marks each line where a finding must be
reported with ``EXPECT: <rule id>`` in a comment (``//`` in C++ and Click, ``#`` in YAML); the test compares
the exact set of (file, line) of the rule's findings with the marked lines, so a finding on the wrong line,
a missing one and an extra one all fail.  A rule missing from the table fails too: adding a rule means adding
a fixture that triggers it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from analyzers.analysis import analyze_file
from analyzers.bounds import analyze as analyze_bounds
from analyzers.checks.unsafe import UnsafeCheck
from analyzers.frontend import ParseOptions
from analyzers.policy import load_policy as load_analyzer_policy
from certify.core.findings import Finding
from certify.core.rules import BY_ID, RULES, default_effects
from certify.gate import run_gate
from certify.mergejob import run_merge
from element_db import decision
from element_db.decision import ANALYZER_VERSION, Context, policy_version
from element_db.record import make_record, sha256_file
from element_db.store import Database, LayeredDatabase
from merge.checks import check_network
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.policy import load_policy as load_merge_policy
from merge.system import Network, Tunnel, VirtualDevice, load_system

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
STUBS = os.path.join(os.path.dirname(HERE), "examples", "include")
OPTS = ParseOptions(includes=(os.path.join(FIX, "include"), STUBS))
_EXPECT = re.compile(r"\bEXPECT(?:-CONFIG)?:\s*((?:[A-Z]{2}\d{3}\b[\s,]*)+)")
_INCLUDE = re.compile(r'#include\s+"([^"]+)"')


@dataclass(frozen=True)
class Fixture:
    """A fixture (a file, or a directory with a system.yaml) and the code path that runs it."""

    path: str  # relative to tests/fixtures
    runner: str  # a key of RUNNERS

    @property
    def full(self) -> str:
        return os.path.join(FIX, self.path)


def element(path: str) -> Fixture:
    return Fixture(f"analyzers/{path}", "element")


def network(path: str) -> Fixture:
    return Fixture(f"merge/{path}", "network")


def limited(path: str) -> Fixture:
    """A network fixture checked under the small limits of ``merge/limits/policy.yaml``."""
    return Fixture(f"merge/limits/{path}", "network-limits")


def merge(path: str) -> Fixture:
    return Fixture(f"merge/registry/{path}", "merge")


GATE = Fixture("gate", "gate")

FIXTURES: dict[str, Fixture] = {
    # KS: the element checks, through the element analysis (certify element / library)
    "KS001": element("KS001/bad_parse_error.cc"),
    "KS002": Fixture("analyzers/crash/crash.cc", "crash"),
    "KS003": element("KS003/bad_unused_suppression.cc"),
    "KS004": element("KS004/bad_malformed_suppression.cc"),
    "KS005": element("KS005/bad_unseen_element.cc"),
    "KS101": element("KS101/bad_global_write.cc"),
    "KS102": element("KS102/bad_global_read.cc"),
    "KS103": element("KS103/bad_static_local.cc"),
    "KS104": element("KS104/bad_const_cast.cc"),
    "KS105": element("KS105/bad_unproven_target.cc"),
    "KS201": element("KS201/bad_router.cc"),
    "KS202": element("KS202/bad_other_element.cc"),
    "KS203": element("KS203/bad_handler.cc"),
    "KS301": element("KS301/bad_kernel_calls.cc"),
    "KS302": element("KS302/bad_extern_c.cc"),
    "KS303": element("KS303/bad_unresolved.cc"),
    "KS304": element("KS304/bad_kernel_only.cc"),
    "KS305": element("KS305/bad_kernel_header.cc"),
    "KS306": element("KS306/bad_requires_linuxmodule.cc"),
    "KS307": element("KS307/bad_requires_userlevel.cc"),
    "KS401": element("KS401/bad_asm.cc"),
    "KS402": element("KS402/bad_int_to_pointer.cc"),
    "KS403": element("KS403/bad_reinterpret.cc"),
    "KS404": element("KS404/bad_indirect.cc"),
    "KS405": element("KS405/bad_virtual_call.cc"),
    "KS406": element("KS406/bad_alloca.cc"),
    "KS407": element("KS407/bad_setjmp.cc"),
    "KS408": element("KS408/bad_throw.cc"),
    "KS409": element("KS409/bad_alloc.cc"),
    "KS410": element("KS410/bad_goto.cc"),
    "KS501": Fixture("bounds/annotated.c", "bounds"),
    "KS502": element("KS502/bad_unbounded_loop.cc"),
    # MN: the network checks and the partition, through the merge (certify merge)
    "MN100": network("syntax.click"),
    "MN101": network("devices.click"),
    "MN102": network("classes.click"),
    "MN103": network("classes.click"),
    "MN104": network("library.click"),
    "MN105": network("requires.click"),
    "MN106": network("reserved.click"),
    "MN107": network("devices.click"),
    "MN108": network("devices.click"),
    "MN109": limited("elements.click"),
    "MN110": limited("connections.click"),
    "MN111": limited("depth.click"),
    "MN112": limited("instances.click"),
    "MN113": limited("size.click"),
    "MN114": limited("expansion.click"),
    "MN115": limited("tasks.click"),
    "MN116": limited("devices.click"),
    "MN201": network("ports.click"),
    "MN202": network("ports.click"),
    "MN203": network("ports.click"),
    "MN204": network("ports.click"),
    "MN205": merge("unknown_ports"),
    "MN301": merge("refused"),
    "MN302": merge("refused"),
    "MN303": merge("over_budget"),
    "MN304": merge("moved"),
    "MN305": merge("refused"),
    # GA: the gate (certify gate)
    "GA101": GATE,
    "GA102": GATE,
    "GA103": GATE,
    "GA104": GATE,
    "GA105": GATE,
    "GA106": GATE,
    "GA107": GATE,
}


def expected(fixture: Fixture, rule_id: str) -> set[tuple[str, int]]:
    """(file name, line) of every line of the fixture's files marked with ``rule_id``."""
    out = set()
    for name in _files(fixture):
        with open(name, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = _EXPECT.search(line)
                if m and rule_id in re.findall(r"[A-Z]{2}\d{3}", m.group(1)):
                    out.add((os.path.basename(name), n))
    return out


def _files(fixture: Fixture) -> list[str]:
    """The fixture's files: a directory's files, or a file and the files beside it that it includes."""
    if os.path.isdir(fixture.full):
        return sorted(os.path.join(fixture.full, f) for f in os.listdir(fixture.full))
    with open(fixture.full, encoding="utf-8") as f:
        text = f.read()
    return [fixture.full] + [os.path.join(os.path.dirname(fixture.full), inc) for inc in _INCLUDE.findall(text)]


# --- the code paths ---------------------------------------------------------------------------------------------

def run_element(fixture: Fixture, tmp: str) -> list[Finding]:
    result = analyze_file(fixture.full, OPTS, load_analyzer_policy())
    return list(result.findings) + [f for e in result.elements for f in e.findings + e.config_findings]


def run_crash(fixture: Fixture, tmp: str) -> list[Finding]:
    """The element analysis with a check that fails on a switch statement, as a bug in a check would."""
    def fail(self: Any, node: Any, parents: Any, ctx: Any) -> None:
        raise RuntimeError("a check failed")

    mp = pytest.MonkeyPatch()
    mp.setattr(UnsafeCheck, "visit_SWITCH_STMT", fail, raising=False)
    try:
        result = analyze_file(fixture.full, OPTS, load_analyzer_policy())
    finally:
        mp.undo()
    assert [e.verdict for e in result.elements] == ["error"]
    return [f for e in result.elements for f in e.findings + e.config_findings]


def run_bounds(fixture: Fixture, tmp: str) -> list[Finding]:
    return list(analyze_bounds([fixture.full], ParseOptions()).findings)


def run_network(fixture: Fixture, tmp: str, policy: str | None = None) -> list[Finding]:
    devices = {f"eth{i}": VirtualDevice(f"eth{i}", "eth0", Tunnel("192.0.2.1", "203.0.113.7", i), "ethernet")
               for i in (1, 2)}
    net = Network("net", 1000, fixture.full, os.path.basename(fixture.full), devices)
    return check_network(net, load_merge_policy(policy), stock_elements(), stock_classes()).findings


def run_network_limits(fixture: Fixture, tmp: str) -> list[Finding]:
    return run_network(fixture, tmp, os.path.join(os.path.dirname(fixture.full), "policy.yaml"))


# the merge fixtures' database: every class the merger adds and the fixtures use, certified kernel at 10 units,
# and the fixtures' own classes; SetIPChecksum has no record
PLATFORM = ["FromDevice", "ToDevice", "Queue", "Unqueue", "Strip", "Unstrip", "Classifier", "CheckIPHeader",
            "StoreData", "IPEncap", "EtherEncap", "RoundRobinSched", "PaintSwitch", "Paint", "MarkIPHeader", "Null",
            "Discard", "Counter", "ToHost", "FromHost", "StaticThreadSched", "ScheduleInfo", "BandwidthRatedUnqueue"]
MERGE_RECORDS: dict[str, dict[str, Any]] = {
    **{k: {} for k in PLATFORM},
    "KernelThing": {"verdict": "reject", "port_count": "1/1", "processing": "a/a"},
    "Heavy": {"cost": {"push": "6000"}, "port_count": "1/1", "processing": "a/a"},
    "MyMeter": {},  # certified, with no port count or processing
}


def _record(klass: str, sources: list[tuple[str, str]], verdict: str = "kernel", pv: str | None = None,
            **extra: Any) -> dict[str, Any]:
    return make_record(klass, sources, ANALYZER_VERSION, pv or policy_version(None), verdict, [f"{klass} is {verdict}"],
                       [], certified_at="2026-11-25T18:00:00Z", **extra)


def _context(tmp: str) -> Context:
    """The current versions; sources are looked for only where a record's source_base says (not in the
    repository this test runs in)."""
    empty = os.path.join(tmp, "cwd")
    os.makedirs(empty, exist_ok=True)
    return Context(ANALYZER_VERSION, policy_version(None), None, empty, None, None, policy_version(None))


def run_merge_fixture(fixture: Fixture, tmp: str) -> list[Finding]:
    db = Database(os.path.join(tmp, "db"), create=True)
    for klass, spec in MERGE_RECORDS.items():
        spec = dict(spec)
        verdict = spec.pop("verdict", "kernel")
        spec.setdefault("cost", {"push": "10", "pull": "10", "run_task": "10"})
        db.write(_record(klass, [(f"{klass.lower()}.cc", "0" * 64)], verdict, **spec))
    system = load_system(os.path.join(fixture.full, "system.yaml"))
    out = run_merge(system, load_merge_policy(), LayeredDatabase([db]), "linuxmodule", _context(tmp), tmp,
                    verbose=True)
    return out.findings


def run_gate_fixture(fixture: Fixture, tmp: str) -> list[Finding]:
    """The gate over a database with one record per kind of decision (see gate/net.click)."""
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    db = Database(os.path.join(tmp, "db"), create=True)

    def certify(klass: str, verdict: str = "kernel", base: str = "../src", pv: str | None = None) -> None:
        path = os.path.join(src, f"{klass.lower()}.cc")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"// {klass}\n")
        db.write(_record(klass, [(os.path.basename(path), sha256_file(path))], verdict, pv, source_base=base))

    for klass in ("FromDevice", "ToDevice", "Null", "Queue"):
        certify(klass)
    # Paint: no record (GA101)
    certify("Strip", pv="sha256:" + "0" * 64)  # certified under another policy (GA102)
    certify("Unstrip")
    with open(db.record_path("Unstrip"), encoding="utf-8") as f:
        text = f.read()
    with open(db.record_path("Unstrip"), "w", encoding="utf-8") as f:
        f.write(text.replace('"verdict": "kernel"', '"verdict": "userspace"'))  # tampered (GA103)
    certify("EtherMirror", "reject")  # GA104
    certify("Counter", "error")  # GA105
    certify("Print", "userspace")  # GA106
    certify("SetTimestamp", base="../moved")  # its tree is not where the record says (GA107)
    system = load_system(os.path.join(fixture.full, "system.yaml"))
    return run_gate(system, LayeredDatabase([db]), load_merge_policy(), _context(tmp)).findings


RUNNERS: dict[str, Callable[[Fixture, str], list[Finding]]] = {
    "element": run_element, "crash": run_crash, "bounds": run_bounds, "network": run_network,
    "network-limits": run_network_limits,
    "merge": run_merge_fixture, "gate": run_gate_fixture,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Fixture], list[Finding]]:
    """The findings of each fixture, each run once."""
    done: dict[Fixture, list[Finding]] = {}

    def get(fixture: Fixture) -> list[Finding]:
        if fixture not in done:
            tmp = str(tmp_path_factory.mktemp(fixture.runner))
            done[fixture] = RUNNERS[fixture.runner](fixture, tmp)
        return done[fixture]

    return get


# --- the tests ------------------------------------------------------------------------------------------------------

def test_every_rule_of_the_registry_has_a_fixture_in_every_family():
    assert set(FIXTURES) == {r.id for r in RULES}, "a rule without a fixture, or a fixture for no rule"
    assert {r.id[:2] for r in RULES} == {"KS", "MN", "GA"}


@pytest.mark.parametrize("rule_id", [r.id for r in RULES])
def test_the_fixture_triggers_the_rule_on_the_marked_lines(rule_id, runs):
    assert rule_id in FIXTURES, f"{rule_id} has no fixture: add one to FIXTURES"
    fixture = FIXTURES[rule_id]
    want = expected(fixture, rule_id)
    assert want, f"{fixture.path} marks no line with EXPECT: {rule_id}"
    findings = [f for f in runs(fixture) if f.rule == rule_id]
    assert {(os.path.basename(f.file), f.line) for f in findings} == want
    rule = BY_ID[rule_id]
    assert all(f.severity == rule.severity for f in findings), "the registry's severity (no policy changes it here)"
    assert all(f.message for f in findings)


def test_the_messages_of_mn205_and_mn303(runs):
    """The two MN rules no other test triggers, with their whole message."""
    (f,) = [f for f in runs(FIXTURES["MN205"]) if f.rule == "MN205"]
    assert f.message == "ports of 'm' (MyMeter) are not known; its port checks are skipped"
    assert (f.element, f.network, f.severity) == ("m", "net", "note")
    over = [f for f in runs(FIXTURES["MN303"]) if f.rule == "MN303"]
    assert ("platform element 'platform/eth0/from' on a kernel task costs 80 units, above the budget of 50"
            in [f.message for f in over])
    assert all(f.severity == "error" for f in over)


def test_the_default_verdict_classes_are_the_registry_effects():
    policy = load_analyzer_policy()
    assert policy.verdicts == default_effects()
    assert all(policy.verdict_class(r.id) == r.effect for r in RULES if r.id.startswith("KS"))


def test_a_user_policy_still_changes_a_verdict_class(tmp_path):
    user = tmp_path / "p.yaml"
    user.write_text("version: 1\nverdicts: {KS410: none, KS101: reject}\n")
    policy = load_analyzer_policy(str(user))
    assert (policy.verdict_class("KS410"), policy.verdict_class("KS101")) == ("none", "reject")
    assert policy.verdict_class("KS102") == BY_ID["KS102"].effect


def test_changing_an_effect_changes_the_policy_version(monkeypatch):
    """The policy version covers the registry's effects: a changed effect makes every record stale."""
    before = policy_version(None)
    changed = dict(default_effects(), KS410="none")
    monkeypatch.setattr(decision, "default_effects", lambda: changed)
    assert policy_version(None) != before
    monkeypatch.undo()
    assert policy_version(None) == before


def test_the_stock_database_is_current():
    """Every stock record was certified under the current policy version (re-stamped when it changed)."""
    from element_db.store import STOCK_DB

    current = policy_version(None)
    for name in sorted(os.listdir(STOCK_DB)):
        if name.endswith(".json"):
            with open(os.path.join(STOCK_DB, name), encoding="utf-8") as f:
                assert json.load(f)["policy_version"] == current, name


def test_rules_and_explain_show_each_rule_effect():
    r = subprocess.run([sys.executable, "-m", "certify", "rules"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, sorted(RULES, key=lambda x: x.id)):
        assert line == f"{rule.id}  {rule.symbol:<24} {rule.severity:<8} {rule.effect:<9} {rule.message}"
    r = subprocess.run([sys.executable, "-m", "certify", "explain", "goto"], capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith("KS410 goto (warning)\n")
    assert "\nEffect: userspace: " in r.stdout and "an analyzer policy's verdicts may change it" in r.stdout
    r = subprocess.run([sys.executable, "-m", "certify", "explain", "MN304"], capture_output=True, text=True, timeout=60)
    assert "\nEffect: move: the element runs in its network's user-level container instead of the kernel.\n" in r.stdout
