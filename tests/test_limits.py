"""The limits on what one configuration may expand to (merge/lang/limits.py), checked while it is expanded.

Each hostile configuration (nested compounds that double, wide fan-out, deep nesting, a define chain that
doubles, a huge configuration) is refused with its own rule at the compound instance (or text) that crossed the
limit, having done no more work than the limit allows: the number of elements created before the stop is
counted, and the time is bounded generously (the stop itself takes well under a second).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from merge.checks import check_network
from merge.lang import ClickError, load_file, load_text
from merge.lang.limits import DEFAULT_LIMITS, LimitError, Limits
from merge.lang.router import Router
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.policy import load_policy
from merge.system import Network

SLOW = 5.0  # seconds: a generous bound (each refusal below takes a fraction of a second)


def doubling(levels: int = 20) -> str:
    lines = ["elementclass B0 { input -> Null -> output }"]
    lines += [f"elementclass B{i} {{ input -> B{i - 1} -> B{i - 1} -> output }}" for i in range(1, levels + 1)]
    return "\n".join(lines + [f"Idle -> B{levels} -> Discard;"]) + "\n"


def nested(levels: int) -> str:
    lines = ["elementclass C0 { input -> Null -> output }"]
    lines += [f"elementclass C{i} {{ input -> C{i - 1} -> output }}" for i in range(1, levels)]
    return "\n".join(lines + [f"Idle -> C{levels - 1} -> Discard;"]) + "\n"


def wide(width: int = 1000, copies: int = 100) -> str:
    body = "; ".join(["input -> Null -> output"] + ["Null"] * width)
    lines = [f"elementclass W {{ {body} }}"] + [f"Idle -> w{i} :: W -> Discard;" for i in range(1, copies + 1)]
    return "\n".join(lines) + "\n"


def define_chain(steps: int = 60) -> str:
    lines = ["define($a0 xxxxxxxxxxxxxxxx);"] + [f"define($a{i} $a{i - 1}$a{i - 1});" for i in range(1, steps)]
    return "\n".join(lines + [f"Idle -> Print($a{steps - 1}) -> Discard;"]) + "\n"


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many elements the front end creates (primitive and tunnel), counted as they are."""
    count = [0]
    original = Router.get_element

    def counting(self: Router, *args: Any, **kw: Any) -> Any:
        n = len(self.elements)
        e = original(self, *args, **kw)
        count[0] += len(self.elements) - n
        return e

    monkeypatch.setattr(Router, "get_element", counting)
    yield count


def refused(fn: Callable[[], Any]) -> tuple[LimitError, float]:
    start = time.perf_counter()
    with pytest.raises(LimitError) as info:
        fn()
    return info.value, time.perf_counter() - start


# --- the hostile configurations ------------------------------------------------------------------------------------

def test_the_doubling_compounds_of_the_issue_stop_at_the_instance_limit(created):
    e, took = refused(lambda: load_text(doubling(), "dbl.click", expand_vars=True))
    assert e.limit == "max_compound_instances"
    # the 10,001st instance is a B0 in the body of a B1 (line 2), reached from the top-level B20 (line 22)
    assert (e.location.file, e.location.line, e.location.column) == ("dbl.click", 2, 28)
    assert "(B0): compound instance number 10,001, expanded from 'B20@2' (B20) at dbl.click:22:9" in e.message
    assert "max_compound_instances" in str(e)
    assert created[0] < 5 * DEFAULT_LIMITS.max_compound_instances  # not a million: stopped where it crossed
    assert took < SLOW


def test_wide_fan_out_stops_at_the_element_limit(created):
    e, took = refused(lambda: load_text(wide(), "wide.click"))
    assert e.limit == "max_elements"
    # each line adds 1,003 elements: the 20,001st is in w20, declared on line 21
    assert (e.location.line, e.location.column) == (21, 9)
    assert "compound instance 'w20' (W): element 'w20/Null@" in e.message
    # the limit, plus what parsing made: the class body (1,003) and the 300 top-level elements
    assert created[0] <= DEFAULT_LIMITS.max_elements + 1003 + 300 + 40
    assert took < SLOW


def test_deep_nesting_stops_at_the_depth_limit(created):
    e, took = refused(lambda: load_text(nested(200), "deep.click"))
    assert e.limit == "max_depth"
    # the 33rd level is C167's instance, in the body of C168 (line 169)
    assert (e.location.line, e.location.column) == (169, 30)
    assert "(C167): nested 33 compound instances deep, expanded from 'C199@2'" in e.message
    assert created[0] < 1000  # the 200 class bodies' own elements, and 33 instances' worth
    assert took < SLOW


def test_a_define_chain_that_doubles_stops_at_the_expansion_limit():
    e, took = refused(lambda: load_text(define_chain(), "def.click", expand_vars=True))
    assert e.limit == "max_define_bytes"
    assert (e.location.line, e.location.column) == (19, 8)  # define($a18 ...): 16 * 2**18 bytes, 4 MiB
    assert "the value of '$a18'" in e.message
    assert took < SLOW


def test_a_define_chain_inside_a_compound_stops_too():
    """Without --expand-vars, a compound's local variables still expand through each other (ten levels deep)."""
    text = ("elementclass C { define($a0 " + "x" * 60000 + ", $a1 $a0$a0, $a2 $a1$a1, $a3 $a2$a2, $a4 $a3$a3,"
            " $a5 $a4$a4, $a6 $a5$a5, $a7 $a6$a6, $a8 $a7$a7, $a9 $a8$a8);\n"
            " input -> Print($a9) -> output }\nIdle -> c :: C -> Discard;\n")
    e, took = refused(lambda: load_text(text, "local.click"))
    assert e.limit == "max_define_bytes"
    assert (e.location.line, e.location.column) == (3, 9)  # the instance c
    assert "compound instance 'c' (C): variable expansion in the configuration of 'c/Print@1'" in e.message
    assert took < SLOW


def test_one_large_value_used_by_many_elements_stops_at_the_expansion_limit():
    text = "define($big " + "y" * 100_000 + ");\n" + "".join("Idle -> Print($big) -> Discard;\n" for _ in range(100))
    e, took = refused(lambda: load_text(text, "big.click", expand_vars=True))
    assert e.limit == "max_define_bytes"
    assert e.location.line == 2 + DEFAULT_LIMITS.max_define_bytes // 100_000  # the 42nd Print
    assert took < SLOW


def test_a_huge_configuration_is_refused_before_it_is_lexed(tmp_path):
    text = 'Idle -> Print("' + "z" * 5_000_000 + '") -> Discard;\n'
    e, took = refused(lambda: load_text(text, "huge.click"))
    assert e.limit == "max_config_bytes"
    assert (e.location.line, e.location.column) == (1, DEFAULT_LIMITS.max_config_bytes + 1)
    assert "5,000,030 bytes long" in e.message
    assert took < SLOW
    path = tmp_path / "huge.click"
    path.write_text("// padding\n" + text)
    e, took = refused(lambda: load_file(str(path)))
    assert (e.location.file, e.location.line, e.location.column) == (str(path), 2, DEFAULT_LIMITS.max_config_bytes - 10)
    assert took < SLOW


def test_connections_through_a_boundary_multiply_and_stop_at_the_connection_limit():
    text = "p :: { input -> output };\n" + "Idle -> p;\n" * 400 + "p -> Discard;\n" * 400
    e, took = refused(lambda: load_text(text, "fan.click"))
    assert e.limit == "max_connections"
    # 801 connections before; each destination adds 400: the 248th destination (line 649) crosses 100,000
    assert e.location.line == 649
    assert took < SLOW


def test_a_limit_error_is_a_click_error_with_its_location():
    e, _ = refused(lambda: load_text(nested(40), "n.click"))
    assert isinstance(e, ClickError)
    assert str(e).startswith("n.click:9:28: error: compound instance 'C39@2/")


# --- just under each limit ------------------------------------------------------------------------------------------

DOUBLING3 = doubling(3)  # 8 Nulls + Idle + Discard; 15 instances; 4 levels deep


@pytest.mark.parametrize(
    "text, limit, value",
    [
        (DOUBLING3, "max_elements", 10),
        (DOUBLING3, "max_compound_instances", 15),
        (DOUBLING3, "max_depth", 4),
        ("Idle -> Null -> Null -> Null -> Discard;\n", "max_connections", 4),
        ("Idle -> Discard;\n", "max_config_bytes", len("Idle -> Discard;\n")),
        ("define($a xxxxxxxxxx);\nIdle -> Print($a$a) -> Discard;\n", "max_define_bytes", 20),
    ],
)
def test_at_the_limit_passes_and_one_past_is_refused(text, limit, value):
    ok = load_text(text, "t.click", expand_vars=True, limits=Limits(**{limit: value}))
    assert ok.graph.number_of_nodes() > 0
    with pytest.raises(LimitError) as info:
        load_text(text, "t.click", expand_vars=True, limits=Limits(**{limit: value - 1}))
    assert info.value.limit == limit


def test_the_defaults_fit_every_name():
    assert set(Limits.names()) == {"max_elements", "max_connections", "max_depth", "max_compound_instances",
                                   "max_config_bytes", "max_define_bytes", "max_tasks", "max_devices"}


# --- the network policy and the checks ------------------------------------------------------------------------------

def test_the_policy_carries_the_limits_and_a_user_file_replaces_them_one_by_one(tmp_path):
    assert load_policy().limits == DEFAULT_LIMITS
    user = tmp_path / "policy.yaml"
    user.write_text("version: 1\nlimits: {max_elements: 50}\n")
    assert load_policy(str(user)).limits == Limits(max_elements=50)
    user.write_text("version: 1\nlimits: {max_elements: 0}\n")
    with pytest.raises(ClickError, match="limits.max_elements"):
        load_policy(str(user))
    user.write_text("version: 1\nlimits: {max_widgets: 5}\n")
    with pytest.raises(ClickError, match="max_widgets"):
        load_policy(str(user))


@pytest.mark.parametrize(
    "text, rule",
    [(doubling(), "MN112"), (wide(), "MN109"), (nested(200), "MN111"), (define_chain(), "MN114"),
     ("Idle -> Discard; //" + "." * 2_000_000 + "\n", "MN113")],
)
def test_the_network_checks_report_each_limit_as_its_rule(tmp_path, text, rule):
    path = tmp_path / "net.click"
    path.write_text(text)
    start = time.perf_counter()
    res = check_network(Network("net", 1000, str(path), "net.click", {}), load_policy(), stock_elements(),
                        stock_classes())
    assert time.perf_counter() - start < SLOW
    assert [f.rule for f in res.findings] == [rule]
    assert res.graph is None and not res.ok


SYSTEM = """\
version: 1
platform: {task_budget: 20000, max_packet_length: 1500}
physical:
  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}
networks:
  net:
    uid: 1000
    cpu_share: 0.5
    config: net.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.7, key: 1}, inner: ethernet}
"""


def test_certify_merge_refuses_the_doubling_configuration_quickly(tmp_path):
    (tmp_path / "system.yaml").write_text(SYSTEM)
    (tmp_path / "net.click").write_text(doubling())
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", str(tmp_path / "system.yaml"),
                        "--no-certify", "--out", str(tmp_path / "out")],
                       capture_output=True, timeout=60, cwd=tmp_path)
    took = time.perf_counter() - start
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert "net.click:2:28" in err and "MN112" in err, err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "out" / "master.click")
    assert took < 30  # includes starting Python and loading the merger


def test_certify_parse_applies_the_default_limits(tmp_path):
    (tmp_path / "dbl.click").write_text(doubling())
    r = subprocess.run([sys.executable, "-m", "certify", "parse", "--flatten", "dbl.click"],
                       capture_output=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dbl.click:2:28: error: compound instance"), lines


def test_the_platforms_own_configurations_are_read_without_tenant_limits(tmp_path):
    """A merged master holds every network's elements: the report reads it (and the containers' parts) with
    Limits.none(), not with one tenant's limits."""
    from element_db.store import LayeredDatabase
    from reports.model import load_report_data

    n = DEFAULT_LIMITS.max_elements + 10
    text = "".join(f"s{i} :: Idle -> d{i} :: Discard;\n" for i in range(n // 2 + 1))
    (tmp_path / "master.click").write_text(text)
    (tmp_path / "plan.json").write_text('{"networks": {}, "elements": {}}')
    with pytest.raises(LimitError):
        load_file(str(tmp_path / "master.click"))
    assert load_file(str(tmp_path / "master.click"), limits=Limits.none()).graph.number_of_nodes() == 2 * (n // 2 + 1)
    data = load_report_data(LayeredDatabase.open([], stock=True), str(tmp_path), None)
    assert data.plan == {"networks": {}, "elements": {}}


def test_tasks_and_device_elements_are_counted_after_flattening(tmp_path):
    """A compound of task elements used many times crosses max_tasks at its first task too many; max_devices
    cannot be raised past the 256 ToDevice inputs the egress can tell apart."""
    body = "elementclass Four { input -> Queue -> Unqueue -> Unqueue -> Unqueue -> Unqueue -> output }\n"
    path = tmp_path / "net.click"
    path.write_text(body + "Idle -> " + " -> ".join(["Four"] * 65) + " -> Discard;\n")
    res = check_network(Network("net", 1000, str(path), "net.click", {}), load_policy(), stock_elements(),
                        stock_classes())
    assert [str(f) for f in res.findings] == [
        f"{path}:1:39: MN115: element 'Four@66/Unqueue@2' (Unqueue) is one too many (more than 256 tasks; the limit "
        "max_tasks)"]
    user = tmp_path / "policy.yaml"
    user.write_text("version: 1\nlimits: {max_devices: 1000}\n")
    with pytest.raises(ClickError, match="limits.max_devices: 1000 is greater than the maximum of 256"):
        load_policy(str(user))
