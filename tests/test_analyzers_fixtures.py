"""Rule fixtures: each tests/fixtures/analyzers/<rule>/{bad,good}_*.cc carries its expectations inline.

``// EXPECT: KS101`` marks a line where a packet-path finding of that rule must be
reported, ``// EXPECT-CONFIG: KS409`` a configuration-time finding; the test
compares the exact set of (rule, file, line) triples, so a missing finding and
an extra one both fail.  Headers beside a fixture carry their own expectations.
"""

from __future__ import annotations

import glob
import os
import re

import pytest

from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions
from analyzers.policy import load_policy

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "analyzers")
INCLUDE = os.path.join(HERE, "fixtures", "include")  # test-only stubs (asm/)
STUBS = os.path.join(os.path.dirname(HERE), "examples", "include")  # the stub Click headers, shared with the demo
OPTS = ParseOptions(includes=(INCLUDE, STUBS))
_EXPECT = re.compile(r"//\s*EXPECT(-CONFIG)?:\s*((?:KS\d{3}\s*)+)")

CASES = sorted(glob.glob(os.path.join(FIXTURES, "KS*", "*.cc")))


def expectations(path: str) -> set[tuple[str, str, str, int]]:
    """(where, rule, file name, line) for the fixture and the headers beside it that it includes."""
    files = [path]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for inc in re.findall(r'#include\s+"([^"]+)"', text):
        files.append(os.path.join(os.path.dirname(path), inc))
    out = set()
    for name in files:
        with open(name, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = _EXPECT.search(line)
                if m:
                    where = "config" if m.group(1) else "packet"
                    for rid in m.group(2).split():
                        out.add((where, rid, os.path.basename(name), n))
    return out


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_every_rule_has_a_bad_and_a_good_fixture():
    from analyzers.rules import RULES

    dirs = {os.path.basename(os.path.dirname(c)) for c in CASES}
    # KS002, a crash: tested by test_analyzers.py with a check that raises; KS501, a contradicted
    # annotation: tested by the loop-bound fixtures (tests/test_bounds_*.py)
    untestable = {"KS002", "KS501"}
    for r in RULES:
        if r.id in untestable:
            continue
        assert r.id in dirs, f"no fixture directory for {r.id}"
        names = [os.path.basename(c) for c in CASES if os.path.basename(os.path.dirname(c)) == r.id]
        assert any(n.startswith("bad_") for n in names), f"{r.id}: no bad_*.cc"
        assert any(n.startswith("good_") for n in names), f"{r.id}: no good_*.cc"


@pytest.mark.parametrize("path", CASES, ids=[os.path.relpath(c, FIXTURES) for c in CASES])
def test_fixture(path, policy):
    result = analyze_file(path, OPTS, policy)
    assert result.elements, "the fixture exports no element the analyzer reported"
    got = set()
    for e in result.elements:
        for where, findings in (("packet", e.findings), ("config", e.config_findings)):
            for f in findings:
                got.add((where, f.rule, os.path.basename(f.file), f.line))
    want = expectations(path)
    assert sorted(got) == sorted(want)
    rank = ["none", "userspace", "reject", "error"]
    classes = [policy.verdict_class(rule) for where, rule, _f, _l in want if where == "packet"]
    worst = max(classes, key=rank.index, default="none")
    expected = "kernel" if worst == "none" else worst
    for e in result.elements:
        assert e.verdict == expected, (e.cls, e.reasons)
    if os.path.basename(path).startswith("good_"):
        assert expected == "kernel"
