"""Cost formulas: a record's cost string, parsed once, instantiated per element instance.

A certified record stores each packet-path method's worst-case cost as a
formula string (``"4*classifier_words + 16"``, ``"Max(0, 60 - p_length) + 3"``):
integers, symbols, ``+ - * / **``, parentheses and the functions ``Max``,
``Min``, ``ceiling`` and ``floor``.  :meth:`CostFormula.parse` reads one
(cached by string); anything else -- no cost, characters outside that
language, a string that does not parse -- is a formula that cannot be
bounded, and costs ``inf``.

:meth:`CostFormula.instantiate` gives one instance's cost: every symbol
takes its value from its fill (:mod:`analyzers.cost.fills`); a symbol
nothing fills, a fill that gives no value, or a result that is negative or
not finite makes the cost unknown (``inf``).  When some symbol takes any value
in a range (``packet_length``, ``max:V``), the cost is the formula's largest
value over the box, by interval arithmetic (:meth:`CostFormula.bounds`): a
cost need not grow with the symbol (padding costs ``Max(0, 60 - p_length)``),
and an operation interval arithmetic does not model (division by a symbol,
a negative power) bounds nothing.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from tokenize import TokenError
from typing import Any

import sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from analyzers.cost.fills import Fill, Instance, UpTo

INF = math.inf
_FORMULA = re.compile(r"[A-Za-z0-9_+\-*/(). ,]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTIONS: dict[str, Any] = {"Max": sympy.Max, "Min": sympy.Min, "ceiling": sympy.ceiling, "floor": sympy.floor}
_GLOBALS: dict[str, Any] = {**_FUNCTIONS, "Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
                            "Symbol": sympy.Symbol}
_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_UNBOUNDED = frozenset({"oo", "zoo", "nan"})  # sympy's infinities as the analyzer prints them
# what a formula that does not parse, or cannot be evaluated, raises
_ERRORS = (SyntaxError, TokenError, TypeError, ValueError, AttributeError, NameError, ZeroDivisionError,
           OverflowError, sympy.SympifyError)


@dataclass(frozen=True)
class Interval:
    """The values from ``lo`` to ``hi`` (either may be infinite)."""

    lo: float
    hi: float

    @staticmethod
    def point(v: float) -> Interval:
        return Interval(float(v), float(v))


_ANY = Interval(-INF, INF)


def _parse(text: str, symbols: tuple[str, ...]) -> sympy.Expr:
    return parse_expr(text, local_dict={n: sympy.Symbol(n) for n in symbols}, global_dict=dict(_GLOBALS),
                      transformations=standard_transformations)


@functools.cache
def _sympy_namespace() -> dict[str, Any]:
    """What ``from sympy import *`` gives: sympy's functions, for display (a loop bound may use ``log``)."""
    return {name: getattr(sympy, name) for name in sympy.__all__}


def _parse_written(text: str) -> sympy.Expr:
    """``text`` as written, for display: a name called as a function is sympy's function of that name (``log``),
    ``oo``, ``zoo`` and ``nan`` are sympy's, every other name is a plain symbol."""
    called = set(_CALLED.findall(text))
    local: dict[str, Any] = {n: sympy.Symbol(n) for n in set(_NAME.findall(text)) - called}
    local.update({n: getattr(sympy, n) for n in _UNBOUNDED if n in local})
    return parse_expr(text, local_dict=local, global_dict=dict(_sympy_namespace()),
                      transformations=standard_transformations, evaluate=False)


@dataclass(frozen=True, eq=False)
class CostFormula:
    """One cost formula.  Build with :meth:`parse`."""

    text: str | None
    """The record's string (None: no cost recorded)."""
    expr: sympy.Expr | None
    """The parsed formula over plain symbols; None when the text is not a formula (its cost is ``inf``)."""
    symbols: tuple[str, ...]
    """Every name the formula uses besides its functions, sorted: each needs a fill."""

    @staticmethod
    def parse(text: str | None) -> CostFormula:
        """The formula of a record's cost string; the same object for the same string."""
        return _parse_cached(text)

    @property
    def unbounded(self) -> bool:
        """No fill can bound it: no cost, not a formula, or the analyzer found no bound (``oo``)."""
        return self.expr is None or any(s in _UNBOUNDED for s in self.symbols)

    @functools.cached_property
    def _compiled(self) -> tuple[tuple[str, ...], Callable[..., Any]]:
        """The formula's free symbols (sorted) and a plain-Python function of them: evaluated once per instance
        and round, sympy's subs would dominate a large merge."""
        assert self.expr is not None
        syms = sorted(self.expr.free_symbols, key=str)
        fn = sympy.lambdify(syms, self.expr, modules=[{"ceiling": math.ceil, "floor": math.floor}, "math"])
        return tuple(str(x) for x in syms), fn

    @functools.cached_property
    def written(self) -> sympy.Expr | None:
        """The text as written (not simplified), for display, where it uses sympy's functions too (a loop bound's
        ``log``); None when it does not parse."""
        if self.text is None or not _FORMULA.fullmatch(self.text):
            return None
        try:
            e = _parse_written(self.text)
        except _ERRORS:
            return None
        return e if isinstance(e, sympy.Expr) else None

    def instantiate(self, fills: Mapping[str, Fill], inst: Instance) -> float:
        """The cost for one element instance: each symbol filled by ``fills`` from ``inst``; ``inf`` when it
        cannot be known."""
        if self.expr is None:
            return INF
        exact: dict[str, int] = {}
        ranges: dict[str, int] = {}  # symbols that take any value from 0 to this
        for name in self.symbols:
            fill = fills.get(name)
            value = fill.value(inst) if fill is not None else None
            if value is None:
                return INF
            if isinstance(value, UpTo):
                ranges[name] = value.hi
            else:
                exact[name] = value
        try:
            params, fn = self._compiled
            if any(n not in exact and n not in ranges for n in params):
                return INF
            if any(n in ranges for n in params):
                box = {n: Interval.point(exact[n]) if n in exact else Interval(0.0, float(ranges[n])) for n in params}
                out = self.bounds(box).hi
            else:
                out = float(fn(*[exact[n] for n in params]))
        except _ERRORS:
            return INF
        return out if out >= 0 and math.isfinite(out) else INF

    def bounds(self, box: Mapping[str, Interval]) -> Interval:
        """Bounds of the formula when each symbol ranges over ``box`` (a symbol not in it: any value); from
        -inf to inf for what is not modelled, or when it is not a formula."""
        if self.expr is None:
            return _ANY
        return _interval(self.expr, box)


def _interval(e: sympy.Expr, box: Mapping[str, Interval]) -> Interval:
    if e.is_Number:
        return Interval.point(float(e))
    if e.is_Symbol:
        return box.get(str(e), _ANY)
    parts = [_interval(a, box) for a in e.args]
    if isinstance(e, sympy.Add):
        return Interval(sum(p.lo for p in parts), sum(p.hi for p in parts))
    if isinstance(e, sympy.Mul):
        lo, hi = parts[0].lo, parts[0].hi
        for p in parts[1:]:
            cands = [x * y for x in (lo, hi) for y in (p.lo, p.hi)
                     if not (math.isinf(x) and y == 0 or math.isinf(y) and x == 0)]
            lo, hi = (min(cands), max(cands)) if cands else (-INF, INF)
        return Interval(lo, hi)
    if isinstance(e, sympy.Max):
        return Interval(max(p.lo for p in parts), max(p.hi for p in parts))
    if isinstance(e, sympy.Min):
        return Interval(min(p.lo for p in parts), min(p.hi for p in parts))
    if isinstance(e, (sympy.ceiling, sympy.floor)):
        f = math.ceil if isinstance(e, sympy.ceiling) else math.floor
        lo, hi = parts[0].lo, parts[0].hi
        return Interval(f(lo) if math.isfinite(lo) else lo, f(hi) if math.isfinite(hi) else hi)
    if isinstance(e, sympy.Pow) and e.exp.is_Integer and int(e.exp) > 0:
        lo, hi = parts[0].lo, parts[0].hi
        k = int(e.exp)
        cands = [lo ** k, hi ** k] + ([0.0] if lo < 0 < hi else [])
        return Interval(min(cands), max(cands))
    return _ANY


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str | None) -> CostFormula:
    if text is None or not _FORMULA.fullmatch(text):
        return CostFormula(text, None, ())
    symbols = tuple(sorted(set(_NAME.findall(text)) - set(_FUNCTIONS)))
    try:
        expr = _parse(text, symbols)
    except _ERRORS:
        return CostFormula(text, None, symbols)
    return CostFormula(text, expr if isinstance(expr, sympy.Expr) else None, symbols)  # "1, 2" is a tuple


__all__ = ["INF", "CostFormula", "Interval"]
