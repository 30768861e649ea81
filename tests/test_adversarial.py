"""Adversarial element sources: unsafe code hidden from the checks, next to benign look-alikes.

Each ``tests/fixtures/adversarial/<family>/bad_*.cc`` hides one unsafe behaviour a different way (a helper
function, a template, a base class, a header, a macro, a lambda, a table of function pointers...) and marks
the line where it must be reported with ``// EXPECT: KSnnn``; the set of (rule, file, line) of its packet-path
findings must be exactly the marked set (a finding on the wrong line, by the wrong rule, a missing one and an
extra one all fail), and no element of it may be ``kernel``.  Each ``good_*.cc`` is a benign look-alike that
must stay ``kernel`` with no packet-path finding: precision is tested with soundness, so a change that makes
the analysis more precise cannot let a bad fixture in, and a change that makes it more careful cannot push a
good one out unnoticed.  Headers beside a fixture carry their own marks.
"""

from __future__ import annotations

import glob
import os

import pytest
from test_analyzers_fixtures import OPTS, expectations

from analyzers.analysis import analyze_file
from analyzers.policy import load_policy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "fixtures", "adversarial")
CASES = sorted(glob.glob(os.path.join(ROOT, "*", "*.cc")))


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_there_are_adversarial_fixtures():
    bad = [c for c in CASES if os.path.basename(c).startswith("bad_")]
    good = [c for c in CASES if os.path.basename(c).startswith("good_")]
    assert bad and good, "no adversarial fixtures: the soundness tests would pass vacuously"
    for c in CASES:
        assert os.path.basename(c).startswith(("bad_", "good_")), f"{c}: name it bad_*.cc or good_*.cc"


@pytest.mark.parametrize("path", CASES, ids=[os.path.relpath(c, ROOT) for c in CASES])
def test_adversarial(path, policy):
    result = analyze_file(path, OPTS, policy)
    assert result.elements, "the fixture exports no element the analyzer reported"
    got = {("packet", f.rule, os.path.basename(f.file), f.line) for e in result.elements for f in e.findings}
    got |= {("config", f.rule, os.path.basename(f.file), f.line) for e in result.elements for f in e.config_findings}
    want = expectations(path)
    assert sorted(got) == sorted(want)
    if os.path.basename(path).startswith("bad_"):
        assert any(w == "packet" for w, *_ in want), "a bad fixture marks at least one packet-path finding"
        for e in result.elements:
            assert e.verdict != "kernel", (e.cls, e.reasons)
    else:
        for e in result.elements:
            assert e.verdict == "kernel", (e.cls, e.reasons)


def test_silencing_the_goto_rule_never_lets_a_goto_cycle_in(tmp_path):
    """KS410 is a style rule a user policy may set to ``none``; a goto cycle it reported is then KS502 at the goto."""
    quiet = tmp_path / "policy.yaml"
    quiet.write_text("verdicts: {KS410: none}\n")
    lenient = load_policy(str(quiet))
    bad = os.path.join(HERE, "fixtures", "analyzers", "KS410", "bad_goto.cc")
    marked = {line for _w, rule, _f, line in expectations(bad) if rule == "KS410"}
    result = analyze_file(bad, OPTS, lenient)
    for e in result.elements:
        assert e.verdict != "kernel", e.reasons
        assert {f.line for f in e.findings if f.rule == "KS502"} == marked
    good = os.path.join(HERE, "fixtures", "analyzers", "KS410", "good_forward_goto.cc")
    assert all(e.verdict == "kernel" for e in analyze_file(good, OPTS, lenient).elements)
