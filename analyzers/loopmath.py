"""Loop arithmetic: trip counts of normalized counting loops, nest maxima and totals (pure sympy).

What it decides: for a counting loop ``for (v = a; v OP b; v STEP c)`` (the
counter in :mod:`analyzers.loopcount` normalizes ``for``, ``while`` and ``do``
loops into a :class:`CountingLoop`), the maximum number of iterations per entry
of the loop, as a sympy expression, with a status:

- ``exact``: the count equals the number of iterations the loop runs for every
  value of its symbols (so it is also the maximum);
- ``upper``: a safe over-approximation (a sympy step hit its time cap, a
  logarithmic form that cannot be made exact, an early exit in the body);
- ``unbounded``: no bound could be proven (wrap-around hazards, a step that
  can jump over the bound of ``!=``, a step going away from the bound).

How: additive steps use ``Max(0, floor((b - a + c - 1) / c))`` (ceil through
floor, guarded against empty ranges, PITFALLS.md); multiplicative and dividing
steps are simulated exactly when the values are numbers and otherwise given a
logarithmic closed form.  For nests, the per-entry maximum of an inner loop whose
count depends on enclosing loop variables is the larger of its values at the
two ends of each enclosing variable's range (valid because every count we build
is monotone in a variable it depends on linearly); the exact total is a sympy
summation over the enclosing iterations, with ``Max(0, p + q*k)`` split into
its positive prefix or suffix so sympy never sees a Max inside a Sum.

Every sympy step that may be slow runs under :func:`capped`; when the cap is
hit, the caller falls back to a coarser, still safe bound with status ``upper``.

Assumption (documented in docs/bounds.md): signed arithmetic does not overflow
(it is undefined behaviour in C); unsigned wrap-around is modelled as a hazard.
"""

from __future__ import annotations

import functools
import signal
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sympy
from sympy import Expr, Integer, Max, Min, floor

T = TypeVar("T")
EXACT, UPPER, ANNOTATED, UNBOUNDED = "exact", "upper", "annotated", "unbounded"
SIMULATION_LIMIT = 1 << 16  # numeric multiplicative loops are simulated up to this many iterations
DEFAULT_CAP = 0.5  # seconds per sympy step


class CapExceeded(Exception):
    """A sympy step ran past its time cap."""


def capped(fn: Callable[[], T], seconds: float = DEFAULT_CAP) -> T:
    """Run ``fn`` with a wall-clock cap (SIGALRM, main thread only); raises :class:`CapExceeded`.

    Off the main thread there is no portable way to interrupt sympy, so ``fn`` runs uncapped there.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn()

    def on_alarm(signum: int, frame: object) -> None:
        raise CapExceeded()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass(frozen=True)
class CountingLoop:
    """``v = init; while (v OP bound) { body; v STEP= step; }`` with ``v`` not written in the body.

    ``op`` is one of ``< <= > >= !=`` with the variable on the left; ``step_kind`` one of
    ``+ - * / << >>`` (``/`` and ``>>`` divide, ``<<`` and ``*`` multiply), ``step`` a positive
    constant.  ``test_first`` is False for do-while loops (the body runs once before the test).
    """

    init: Expr
    op: str
    bound: Expr
    step_kind: str
    step: int
    unsigned: bool = False
    test_first: bool = True


@dataclass(frozen=True)
class Deferred:
    """A counting loop whose values are symbols the closed forms cannot count (``i += level``, a
    ``!=`` bound not provably reachable, a hazard that depends on a sign): what is needed to count it
    again once whole-program mode gives the symbols numbers (:func:`analyzers.loopcount.recount`).

    ``cond_step``/``pre``: the update sits in the condition (before the test for ``--v``);
    ``bound_unsigned``: the bound expression's type (None: compared with 0); ``loop_vars``: names
    of enclosing loop variables (a value mentioning them is not one number).
    """

    init: Expr
    op: str
    bound: Expr
    step_kind: str
    step: Expr
    vtype: str
    bound_unsigned: bool | None
    kind: str
    cond_step: bool = False
    pre: bool = False
    early_exit: bool = False
    loop_vars: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TripCount:
    count: Expr | None  # None when unbounded
    status: str
    reason: str = ""
    deferred: Deferred | None = None  # a symbolic step: countable once the program fixes it


def _unbounded(reason: str) -> TripCount:
    return TripCount(None, UNBOUNDED, reason)


def _nonneg(e: Expr) -> bool:
    return bool(e.is_nonnegative)


def _true_at_start(loop: CountingLoop) -> bool | None:
    """Whether the condition holds on entry: True, False, or None when it cannot be decided."""
    rel = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "!=": sympy.Ne}[loop.op]
    r = rel(loop.init, loop.bound)
    if r is sympy.true:
        return True
    if r is sympy.false:
        return False
    return None


def _apply(kind: str, step: int, v: int) -> int:
    if kind == "+":
        return v + step
    if kind == "-":
        return v - step
    if kind == "*":
        return v * step
    if kind == "<<":
        return v << step
    if kind == ">>":
        return v >> step
    return int(v / step)  # C division truncates toward zero


def _holds(op: str, v: float, b: float) -> bool:
    return {"<": v < b, "<=": v <= b, ">": v > b, ">=": v >= b, "!=": v != b}[op]


def _simulate(loop: CountingLoop, a: int, b: int) -> TripCount:
    v, n = a, 0
    while _holds(loop.op, v, b):
        n += 1
        if n > SIMULATION_LIMIT:
            return _unbounded("does not terminate within the simulation limit")
        if loop.unsigned and v < 0:
            return _unbounded("unsigned wrap-around")
        nv = _apply(loop.step_kind, loop.step, v)
        if nv == v:
            return _unbounded("the step does not change the variable")
        v = nv
    return TripCount(Integer(n), EXACT)


def _additive(loop: CountingLoop) -> TripCount:
    a, b, c = loop.init, loop.bound, loop.step
    up = loop.step_kind == "+"
    op = loop.op
    if op == "!=":
        d = b - a if up else a - b
        if d.is_number:
            di = int(d)
            if di >= 0 and di % c == 0:
                return TripCount(Integer(di // c), EXACT)
            return _unbounded("the step jumps over the bound of '!='")
        if c == 1 and _nonneg(d):
            return TripCount(d, EXACT)
        return _unbounded("'!=' bound not provably reachable")
    increasing_cond = op in ("<", "<=")
    if increasing_cond != up:
        start = _true_at_start(loop)
        if start is False:
            return TripCount(Integer(0), EXACT)
        return _unbounded("the step moves away from the bound")
    if up:
        span = (b - a) if op == "<" else (b + 1 - a)
    else:
        if loop.unsigned:
            # v - c wraps below zero unless the bound keeps v >= c before each step
            low = b if op == ">=" else b + 1
            if not _nonneg(low - c):
                return _unbounded("unsigned wrap-around: the variable can step below zero")
        span = (a - b) if op == ">" else (a + 1 - b)
    count = Max(0, floor((span + c - 1) / c)) if c != 1 else Max(0, span)
    return TripCount(sympy.expand(count) if count.is_number else count, EXACT)


def _log_form(loop: CountingLoop) -> TripCount:
    """Multiplying or dividing steps with symbolic values: a logarithmic closed form."""
    a, b, c = loop.init, loop.bound, loop.step
    factor = 2**c if loop.step_kind in ("<<", ">>") else c
    if loop.step_kind in ("*", "<<"):
        if loop.op not in ("<", "<="):
            return _unbounded("a growing variable against a lower bound")
        if not (a.is_number and int(a) >= 1):
            return _unbounded("a multiplied variable that may start at zero or below")
        hi = b if loop.op == "<" else b + 1
        # a * factor**k < hi  <=>  k < log(hi / a): at most ceiling(log(hi/a)) iterations
        return TripCount(Max(0, sympy.ceiling(sympy.log(Max(hi, 1), factor) - sympy.log(a, factor))), UPPER,
                         "logarithmic closed form")
    # dividing: the variable falls to 0 (or -1 for >> of a negative), where it stays
    ok = (loop.op == ">" and b.is_number and int(b) >= 0) or (loop.op == ">=" and b.is_number and int(b) >= 1) \
        or (loop.op == "!=" and b == 0 and (loop.unsigned or _nonneg(a)))
    if ok:
        # a / factor**k >= 1 for k <= log(a): at most floor(log(a)) + 1 iterations
        return TripCount(Max(0, floor(sympy.log(Max(a, 1), factor)) + 1), UPPER, "logarithmic closed form")
    if loop.op in (">", ">=", "!="):
        return _unbounded("a divided variable can stop at a fixed point (0 or -1) that satisfies the condition")
    return _unbounded("a shrinking variable against an upper bound")


@functools.lru_cache(maxsize=4096)
def trip_count(loop: CountingLoop) -> TripCount:
    """The maximum iterations per entry of ``loop`` (for do-while: body executions); memoized."""
    if loop.step <= 0 or (loop.step_kind in ("*", "/") and loop.step == 1):
        return _unbounded("the step does not change the variable")
    if loop.unsigned and loop.op == ">=" and loop.bound.is_number and int(loop.bound) <= 0:
        return _unbounded("unsigned variable compared '>= 0' is always true")
    if not loop.test_first:
        # do-while: the body runs once, then the loop continues from the stepped value
        first = CountingLoop(_step_expr(loop, loop.init), loop.op, loop.bound, loop.step_kind, loop.step,
                             loop.unsigned, True)
        rest = trip_count(first)
        if rest.count is None:
            return rest
        return TripCount(rest.count + 1, rest.status, rest.reason)
    if loop.step_kind in ("+", "-"):
        return _additive(loop)
    if loop.init.is_number and loop.bound.is_number:
        return _simulate(loop, int(loop.init), int(loop.bound))
    return _log_form(loop)


def _round(x: float, width: int) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0]) if width == 32 else x


def float_trip_count(init: Expr, op: str, bound: Expr, step_kind: str, step: sympy.Rational, width: int,
                     body_first: bool) -> TripCount:
    """Iterations of a floating-point counter, simulated in IEEE single (32) or double (64) arithmetic.

    Only numeric values are handled: rounding makes symbolic closed forms unsafe.  The bound is
    converted to the counter's type, as C does in the comparison.
    """
    if not (init.is_number and bound.is_number) or step_kind not in ("+", "-"):
        return _unbounded("a floating-point counter with non-numeric values")
    try:
        v, b, c = _round(float(init), width), _round(float(bound), width), float(step)
    except (TypeError, OverflowError, struct.error):
        return _unbounded("a floating-point counter out of range")
    n = 1 if body_first else 0
    if body_first:
        v = _round(v + c if step_kind == "+" else v - c, width)
    while _holds(op, v, b):  # type: ignore[arg-type]
        n += 1
        nv = _round(v + c if step_kind == "+" else v - c, width)
        if n > SIMULATION_LIMIT or nv == v:
            return _unbounded("a floating-point counter that stops changing or runs past the simulation limit")
        v = nv
    return TripCount(Integer(n), EXACT)


def _step_expr(loop: CountingLoop, v: Expr) -> Expr:
    k, c = loop.step_kind, loop.step
    if k == "+":
        return v + c
    if k == "-":
        return v - c
    if k == "*":
        return v * c
    if k == "<<":
        return v * 2**c
    if v.is_number:
        return Integer(_apply(k, c, int(v)))
    return floor(v / (2**c if k == ">>" else c))


@dataclass(frozen=True)
class Range:
    """The values an enclosing loop's variable takes: ``first + k*delta`` for ``k`` in ``[0, count)``."""

    var: sympy.Symbol
    first: Expr
    delta: int  # signed step; 0 for non-additive loops (their values are not an arithmetic progression)
    count: Expr


def _linear_in(e: Expr, var: sympy.Symbol) -> bool:
    """True when every occurrence of ``var`` in ``e`` sits in an argument that is linear in it."""
    if var not in e.free_symbols:
        return True
    if isinstance(e, (sympy.Max, sympy.Min, sympy.floor, sympy.ceiling, sympy.Add)):
        return all(_linear_in(arg, var) for arg in e.args)
    if isinstance(e, sympy.Mul):
        with_var = [arg for arg in e.args if var in arg.free_symbols]
        others = [arg for arg in e.args if var not in arg.free_symbols]
        return len(with_var) == 1 and all(o.is_number for o in others) and _linear_in(with_var[0], var)
    return bool(e == var)


def nest_maximum(count: Expr, ranges: list[Range]) -> Expr | None:
    """Per-entry maximum of ``count`` over the enclosing loops' ranges (innermost first), or None.

    The count is monotone in each variable it depends on linearly, so the maximum over a range is
    attained at one of its two ends; the ends of an inner range may mention outer variables, which
    the following substitutions replace in turn.
    """
    exprs = [count]
    for r in ranges:
        nxt: list[Expr] = []
        for e in exprs:
            if r.var not in e.free_symbols:
                nxt.append(e)
                continue
            if r.delta == 0 or not _linear_in(e, r.var):
                return None
            # the last value matters only when the range is not empty, where Max(0, X) is X
            last = r.first + r.delta * ((_zero_guard(r.count) or r.count) - 1)
            nxt += [e.subs(r.var, r.first), e.subs(r.var, last)]
        exprs = nxt
        if len(exprs) > 64:
            return None
    return Max(*exprs) if len(exprs) > 1 else exprs[0]


def _zero_guard(m: Expr) -> Expr | None:
    """``L`` for a guard ``Max(0, L)``, else None."""
    if isinstance(m, sympy.Max) and len(m.args) == 2 and Integer(0) in m.args:
        return [a for a in m.args if a != 0][0]
    return None


def _sum_poly(e: Expr, k: sympy.Symbol, lo: Expr, hi: Expr) -> Expr | None:
    """``Sum(e, (k, lo, hi))`` for ``e`` polynomial in ``k`` (an empty range, hi = lo - 1, gives 0)."""
    if not e.is_polynomial(k):
        return None
    return sympy.expand(sympy.summation(sympy.expand(e), (k, lo, hi)))


def _sum_over(e: Expr, r: Range) -> Expr | None:
    """``Sum(e, var over r)`` in closed form, or None when ``e`` has a shape we do not sum.

    ``e`` may hold one guard ``Max(0, p + q*k)`` (numeric ``q``) over the summation index: the
    range is split where the guard's argument changes sign, so sympy only sums polynomials.
    """
    k = sympy.Dummy("k", integer=True, nonnegative=True)
    body = sympy.expand(e.subs(r.var, r.first + r.delta * k))
    n = r.count
    guards = {m for m in body.atoms(sympy.Max, sympy.Min, sympy.floor, sympy.ceiling) if k in m.free_symbols}
    if not guards:
        return _sum_poly(body, k, Integer(0), n - 1)
    if len(guards) != 1:
        return None
    m = next(iter(guards))
    arg = _zero_guard(m)
    if arg is None or not arg.is_polynomial(k) or sympy.Poly(arg, k).degree() != 1:
        return None
    q = sympy.Poly(arg, k).coeff_monomial(k)
    p = sympy.Poly(arg, k).coeff_monomial(1)
    if not q.is_number:
        return None
    pos, zero = body.xreplace({m: arg}), body.xreplace({m: Integer(0)})
    if q < 0:
        cut = Min(n, Max(0, sympy.ceiling(p / -q)))  # arg > 0 exactly for k < cut
        parts = (_sum_poly(pos, k, Integer(0), cut - 1), _sum_poly(zero, k, cut, n - 1))
    else:
        cut = Min(n, Max(0, floor(-p / q) + 1))  # arg > 0 exactly for k >= cut
        parts = (_sum_poly(zero, k, Integer(0), cut - 1), _sum_poly(pos, k, cut, n - 1))
    if parts[0] is None or parts[1] is None:
        return None
    return sympy.expand(parts[0] + parts[1])


def nest_total(count: Expr, ranges: list[Range]) -> Expr | None:
    """Total iterations of an inner loop per entry of the outermost range: nested summation, or None."""
    return _nest_total(count, tuple(ranges))


@functools.lru_cache(maxsize=4096)
def _nest_total(count: Expr, ranges: tuple[Range, ...]) -> Expr | None:
    total = count
    for r in ranges:
        if r.var not in total.free_symbols:
            total = total * r.count
            continue
        if r.delta == 0:
            return None
        s = _sum_over(total, r)
        if s is None:
            return None
        total = s
    return tidy(total)


def enumerate_total(count: Expr, ranges: list[Range], limit: int = 20000) -> Expr | None:
    """The total by enumeration when every range is numeric once its outer variables are fixed."""
    budget = [limit]

    def go(e: Expr, rs: list[Range]) -> Expr | None:
        if not rs:
            return e
        r = rs[-1]
        n, first = r.count, r.first
        if not (n.is_number and first.is_number) or r.delta == 0 or int(n) > budget[0]:
            return None
        budget[0] -= int(n)
        parts = []
        for k in range(int(n)):
            v = first + r.delta * k
            inner = [Range(x.var, x.first.subs(r.var, v), x.delta, x.count.subs(r.var, v)) for x in rs[:-1]]
            got = go(e.subs(r.var, v), inner)
            if got is None:
                return None
            parts.append(got)
        return sympy.Add(*parts)

    total = go(count, ranges)
    return total if total is not None and total.is_number else None


def tidy(e: Expr) -> Expr:
    """Targeted rewrites instead of ``simplify``: drop ``Max``/``Min`` guards that change nothing.

    For a guard over one nonnegative integer symbol ``s`` whose two arguments differ by a linear
    function of ``s``: past some point the guard always picks the same argument (checked from the
    slope), and below that point the expression is compared with the guard replaced at every
    integer value.  Only when all agree is the guard dropped, so the result is equal, not bigger.
    """
    for _ in range(8):
        changed = False
        for m in sorted(e.atoms(sympy.Max, sympy.Min), key=sympy.default_sort_key):
            if len(m.args) != 2 or len(e.free_symbols) != 1:
                continue
            s = next(iter(e.free_symbols))
            if not (s.is_integer and s.is_nonnegative):
                continue
            for keep in m.args:
                other = [a for a in m.args if a != keep][0]
                d = sympy.expand(keep - other)
                slope = sympy.diff(d, s)
                if not slope.is_number or s in slope.free_symbols or not d.is_polynomial(s):
                    continue
                sign = 1 if isinstance(m, sympy.Max) else -1
                if sign * slope < 0:
                    continue
                # from which s on the guard picks keep for good
                start = 0 if slope == 0 else max(0, int(sympy.ceiling(-d.subs(s, 0) / slope)))
                if slope == 0 and sign * d.subs(s, 0) < 0:
                    continue
                if start > 256:
                    continue
                cand = e.xreplace({m: keep})
                if all(sympy.simplify(e.subs(s, v) - cand.subs(s, v)) == 0 for v in range(start + 1)):
                    e, changed = sympy.expand(cand), True
                    break
            if changed:
                break
        if not changed:
            return e
    return e
