"""analyzers.loopmath on its own: guards against empty ranges, hazards, nest sums, the time cap, tidy."""

from __future__ import annotations

import struct
import time

import pytest
import sympy
from sympy import Integer, Symbol

from analyzers import loopmath as lm

n = Symbol("n", integer=True, nonnegative=True)
s = Symbol("s", integer=True)
i = Symbol("i", integer=True)


def count(a: object, op: str, b: object, kind: str = "+", step: int = 1, unsigned: bool = False,
          test_first: bool = True) -> lm.TripCount:
    return lm.trip_count(lm.CountingLoop(sympy.sympify(a), op, sympy.sympify(b), kind, step, unsigned, test_first))


@pytest.mark.parametrize("a, b", [(5, 2), (0, -3), (10, 10)])
def test_empty_ranges_are_zero_not_negative(a: int, b: int) -> None:
    assert count(a, "<", b).count == 0
    assert count(b, ">", a).count == 0 if b <= a else True


def test_signed_symbol_keeps_its_guard() -> None:
    got = count(0, "<", s).count
    assert got is not None and got.subs(s, -4) == 0 and got.subs(s, 4) == 4


@pytest.mark.parametrize("args, reason", [
    ((Integer(10), ">=", 0, "-", 1, True), "always true"),
    ((n, ">=", 2, "-", 3, True), "wrap-around"),
    ((0, "!=", 9, "+", 2), "jumps over"),
    ((0, "!=", s, "+", 1), "not provably reachable"),
    ((0, "<", 10, "-", 1), "moves away"),
    ((0, "<", n, "*", 2), "start at zero"),
    ((n, ">", -1, ">>", 1), "fixed point"),
])
def test_hazards_are_unbounded(args: tuple[object, ...], reason: str) -> None:
    got = count(*args)  # type: ignore[arg-type]
    assert got.status == "unbounded" and got.count is None and reason in got.reason


def test_not_equal_reachable_is_exact() -> None:
    assert count(0, "!=", n).count == n
    assert count(12, "!=", 0, "-", 3).count == 4


def test_do_while_runs_once() -> None:
    assert count(5, "<", 0, test_first=False).count == 1
    assert count(0, "<", 10, "+", 3, test_first=False).count == 4


def test_triangular_and_triple_totals() -> None:
    inner = count(i + 1, "<", n).count
    outer = lm.Range(i, Integer(0), 1, count(0, "<", n).count)
    assert inner is not None
    assert sympy.expand(lm.nest_total(inner, [outer]) - n * (n - 1) / 2) == 0
    assert lm.nest_maximum(inner, [outer]) == sympy.Max(0, n - 1)


def test_enumerated_total_for_stepped_inner_loop() -> None:
    inner = count(0, "<=", i, "+", 2).count
    outer = lm.Range(i, Integer(0), 1, Integer(10))
    assert inner is not None
    assert lm.nest_total(inner, [outer]) is None  # floor inside the sum: no closed form attempted
    assert lm.enumerate_total(inner, [outer]) == 30


def test_cap_interrupts_and_is_released() -> None:
    def slow() -> int:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 5:
            pass
        return 1

    t0 = time.perf_counter()
    with pytest.raises(lm.CapExceeded):
        lm.capped(slow, 0.1)
    assert time.perf_counter() - t0 < 1
    assert lm.capped(lambda: 7, 0.1) == 7


def test_tidy_drops_only_guards_that_change_nothing() -> None:
    e = sympy.Max(0, n - 1) * (sympy.Max(0, n - 1) + 1) / 2
    assert sympy.expand(lm.tidy(e) - (n - 1) * n / 2) == 0
    kept = sympy.Max(0, n - 3) + 1
    assert lm.tidy(kept) == kept  # n = 0 gives 1, not -2


def test_float_counters_are_simulated_in_their_precision() -> None:
    # gcc on x86-64 gives 101, 21 and 100 for these loops (rounding makes the double one run once more)
    assert lm.float_trip_count(Integer(0), "<", Integer(10), "+", sympy.Rational(0.1), 64, False).count == 101
    step = sympy.Rational(1, 2)
    assert lm.float_trip_count(Integer(-5), "<=", Integer(5), "+", step, 32, False).count == 21
    tenth = sympy.Rational(float(struct.unpack("f", struct.pack("f", 0.1))[0]))
    assert lm.float_trip_count(Integer(0), "<", Integer(10), "+", tenth, 32, False).count == 100
    assert lm.float_trip_count(n, "<", Integer(5), "+", step, 32, False).status == "unbounded"
