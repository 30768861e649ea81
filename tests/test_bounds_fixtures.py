"""Loop-bound fixtures: the expected bound is a comment on each loop line, compared symbolically.

``// BOUND: expr`` (or ``unbounded``), optionally ``STATUS: s`` (default exact when a bound is
given), ``TOTAL: expr`` (iterations per entry of the nest), ``WP: expr`` (the bound in
whole-program mode) and ``EXPECT: KSnnn`` (a finding on that line); ``// COST: expr`` on a
function's line.  Every loop of a fixture must carry a BOUND comment: the exact set of lines is compared.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
import sympy

from analyzers.bounds import analyze
from analyzers.frontend import ParseOptions

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "bounds")
FIXTURES = sorted(f for f in os.listdir(HERE) if f.endswith((".c", ".cc")))
KEYS = re.compile(r"\b(BOUND|STATUS|TOTAL|WP|EXPECT|COST):\s*(.+?)(?=\s+\b(?:BOUND|STATUS|TOTAL|WP|EXPECT|COST):|$)")


def expectations(path: str) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if "//" not in line:
                continue
            comment = line.split("//", 1)[1]
            found = {k: v.strip() for k, v in KEYS.findall(comment)}
            if found:
                out[no] = found
    return out


def same(expected: str, actual: sympy.Expr) -> bool:
    """Equal as functions of the symbols (with their assumptions): simplify, else every grid point."""
    syms = {s.name: s for s in actual.free_symbols}
    exp = sympy.sympify(expected, locals=dict(syms))
    if sympy.simplify(exp - actual) == 0:
        return True
    names = sorted(s.name for s in (actual.free_symbols | exp.free_symbols))
    if len(names) > 3:
        return False
    by_name = {s.name: s for s in actual.free_symbols | exp.free_symbols}
    ranges = [range(0, 14) if by_name[n].is_nonnegative else range(-5, 14) for n in names]
    for point in itertools.product(*ranges):
        env = {by_name[n]: sympy.Integer(v) for n, v in zip(names, point)}
        a, e = sympy.sympify(actual).xreplace(env), sympy.sympify(exp).xreplace(env)
        if sympy.N(a - e, 30) != 0 and not (a.is_infinite and e.is_infinite):
            return False
    return True


@pytest.fixture(scope="module")
def reports() -> dict[tuple[str, bool], object]:
    return {}


def _report(name: str, whole_program: bool, cache: dict[tuple[str, bool], object]):  # type: ignore[no-untyped-def]
    key = (name, whole_program)
    if key not in cache:
        cache[key] = analyze([os.path.join(HERE, name)], ParseOptions(), whole_program=whole_program)
    return cache[key]


@pytest.mark.parametrize("name", FIXTURES)
def test_loop_bounds(name: str, reports: dict[tuple[str, bool], object]) -> None:
    exp = expectations(os.path.join(HERE, name))
    r = _report(name, False, reports)
    loops = {lp.line: lp for lp in r.loops}  # type: ignore[attr-defined]
    assert set(loops) == {no for no, e in exp.items() if "BOUND" in e}, "every loop line carries a BOUND"
    problems = []
    for no, e in sorted(exp.items()):
        if "BOUND" not in e:
            continue
        lp = loops[no]
        if e["BOUND"] == "unbounded":
            if lp.status != "unbounded" or lp.bound is not None:
                problems.append(f"line {no}: expected unbounded, got {lp.bound} [{lp.status}]")
            continue
        want_status = e.get("STATUS", "exact")
        if lp.bound is None or not same(e["BOUND"], lp.bound) or lp.status != want_status:
            problems.append(f"line {no}: expected {e['BOUND']} [{want_status}], got {lp.bound} [{lp.status}]"
                            f" ({lp.reason})")
        if "TOTAL" in e and (lp.total is None or not same(e["TOTAL"], lp.total)):
            problems.append(f"line {no}: expected total {e['TOTAL']}, got {lp.total}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", FIXTURES)
def test_findings_and_costs(name: str, reports: dict[tuple[str, bool], object]) -> None:
    exp = expectations(os.path.join(HERE, name))
    r = _report(name, False, reports)
    ks501 = {(f.rule, f.line) for f in r.findings if f.rule == "KS501"}  # type: ignore[attr-defined]
    assert ks501 == {(e["EXPECT"], no) for no, e in exp.items() if "EXPECT" in e}
    unbounded = {f.line for f in r.findings if f.rule == "KS502"}  # type: ignore[attr-defined]
    assert unbounded == {no for no, e in exp.items() if e.get("BOUND") == "unbounded"}
    costs = {f.line: f.cost for f in r.functions}  # type: ignore[attr-defined]
    for no, e in exp.items():
        if "COST" in e:
            got = costs[no]
            assert (got == sympy.oo) if e["COST"] == "oo" else same(e["COST"], got), f"line {no}: {got}"


@pytest.mark.parametrize("name", [f for f in FIXTURES if "WP:" in open(os.path.join(HERE, f)).read()])
def test_whole_program(name: str, reports: dict[tuple[str, bool], object]) -> None:
    exp = expectations(os.path.join(HERE, name))
    r = _report(name, True, reports)
    loops = {lp.line: lp for lp in r.loops}  # type: ignore[attr-defined]
    for no, e in exp.items():
        if "WP" in e:
            lp = loops[no]
            assert lp.bound is not None and same(e["WP"], lp.bound), f"line {no}: {lp.bound}"
            if e["BOUND"] == "unbounded":  # counted only with the program's values (a symbolic step)
                assert lp.bound_symbolic is None, f"line {no}: {lp.bound_symbolic}"
                continue
            assert lp.bound_symbolic is not None and same(e["BOUND"], lp.bound_symbolic), f"line {no}"


def test_comparison_is_not_textual() -> None:
    n = sympy.Symbol("n", integer=True, nonnegative=True)
    assert same("n*(n-1)/2", n**2 / 2 - n / 2)
    assert same("Max(0, n)", n)
    assert not same("n + 1", n)
    assert not same("floor(n/2)", sympy.ceiling(n / 2))
