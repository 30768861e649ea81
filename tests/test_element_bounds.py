"""Bounds in element verdicts fail closed: a bound analysis that fails, or never sees a packet method, is not kernel."""

import os

import analyzers.element_bounds as eb
from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions
from analyzers.policy import load_policy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPTS = ParseOptions(includes=(os.path.join(HERE, "fixtures", "include"), os.path.join(ROOT, "examples", "include")))
GOOD = os.path.join(HERE, "fixtures", "analyzers", "KS502", "good_bounded_loop.cc")


def test_bounded_element_is_kernel_with_its_cost():
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "kernel"
    assert rep.cost == {"simple_action": "7*p_length + 12"} and rep.cost_symbols == {"p_length": "packet_length"}


def test_a_failing_bound_analysis_is_never_kernel(monkeypatch):
    def boom(path, opts):
        raise RuntimeError("simulated")

    monkeypatch.setattr(eb, "element_bounds", boom)
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "userspace"
    assert [f.rule for f in rep.findings] == ["KS502"] and rep.cost == {"simple_action": None}


def test_a_packet_method_the_bound_analysis_never_saw_is_never_kernel(monkeypatch):
    monkeypatch.setattr(eb, "element_bounds", lambda path, opts: ({}, {}))
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "userspace"
    assert "was not bound-analyzed" in rep.findings[0].message
