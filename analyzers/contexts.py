"""Whole-program contexts: the values a program gives a function's parameters, and its bounds over them.

What it decides (``certify bounds --whole-program``, :mod:`analyzers.bounds`): a
function's *contexts* are the parameter values of each visible call site,
composed through its callers' own contexts (a function without a visible caller,
or on a call-graph cycle, has one context that keeps its symbols; more than
:data:`MAX_CONTEXTS` of them, one that keeps them all).  A direct recursive call
that passes a parameter on unchanged adds no value of it.  A loop bound is then
the largest of the bound over every context and every value the finite-valued
globals and struct members it mentions can take (:func:`instantiate`); a loop whose
count only numbers can give (a symbolic step) is counted again for every such
combination (:func:`count_deferred`, :func:`analyzers.loopcount.recount`).  A
combination that divides by zero is one the program cannot run (undefined
behaviour): it is left out.
"""

from __future__ import annotations

import itertools

import sympy
from sympy import Expr

from analyzers import loopmath as lm
from analyzers.cost.functions import FunctionInfo
from analyzers.loopcount import recount
from analyzers.loops import Call, Loop

MAX_CONTEXTS = 64


def call_contexts(infos: list[FunctionInfo]) -> dict[str, list[dict[str, Expr]]]:
    """Each function's parameter values over every visible call path (name -> value)."""
    by_usr = {f.usr: f for f in infos}
    callers: dict[str, list[tuple[str, Call]]] = {}
    for f in infos:
        for c in f.calls.values():
            if c.usr in by_usr:
                callers.setdefault(c.usr, []).append((f.usr, c))
    memo: dict[str, list[dict[str, Expr]]] = {}

    def ctx(usr: str, stack: tuple[str, ...]) -> list[dict[str, Expr]]:
        if usr in memo:
            return memo[usr]
        if usr in stack or usr not in callers:
            return [{}]
        out: list[dict[str, Expr]] = []
        params = by_usr[usr].params
        # a direct recursive call that passes a parameter on unchanged adds no value of it; any other
        # argument of such a call leaves that parameter unknown (dropped from every context)
        varying = {p.name for caller, call in callers[usr] if caller == usr
                   for p, v in zip(params, call.args) if v is None or v != p} | \
            {p.name for caller, call in callers[usr] if caller == usr for p in params[len(call.args):]}
        entries = [(caller, call) for caller, call in callers[usr] if caller != usr]
        if not entries:
            return [{}]
        for caller, call in entries:
            for outer in ctx(caller, stack + (usr,)):
                values: dict[str, Expr] = {}
                for p, v in zip(params, call.args):
                    if v is not None and p.name not in varying:
                        values[p.name] = by_name(v, outer)
                out.append(values)
                if len(out) > MAX_CONTEXTS:
                    memo[usr] = [{}]
                    return memo[usr]
        memo[usr] = out
        return out

    return {f.usr: ctx(f.usr, ()) for f in infos}


def by_name(e: Expr, values: dict[str, Expr]) -> Expr:
    """``e`` with its symbols replaced by name; unchanged when the values make it undefined."""
    got = _substituted(e, values)
    return e if got is None else got


def _substituted(e: Expr, values: dict[str, Expr]) -> Expr | None:
    """``e`` with its symbols replaced by name, or None when that divides by zero.

    A division by zero in a bound comes from one in the program (undefined behaviour), so a
    combination of values that makes one is not a combination the program can run.
    """
    try:
        out = e.xreplace({s: values[s.name] for s in e.free_symbols if s.name in values})
    except (ValueError, TypeError, ZeroDivisionError):
        return None
    return None if out.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) else out


def count_deferred(lp: Loop, d: lm.Deferred, contexts: list[dict[str, Expr]],
                    values: dict[str, list[Expr | None]]) -> None:
    """Bound a loop with a symbolic step from every context's numbers: the largest count over all."""
    counts: list[Expr] = []
    statuses: set[str] = set()
    for env in _environments([d.init, d.bound, d.step], contexts, values):
        got = recount(d, env)
        if got.count is None:
            lp.reason = got.reason or lp.reason
            return
        counts.append(got.count)
        statuses.add(got.status)
    if not counts:
        return
    lp.bound = sympy.Max(*counts) if len(set(counts)) > 1 else counts[0]
    lp.status = lm.EXACT if statuses == {lm.EXACT} else lm.UPPER
    lp.reason = "" if lp.status == lm.EXACT else \
        "an early exit can shorten the loop" if d.early_exit else "the largest over the program's values"


def _environments(exprs: list[Expr], contexts: list[dict[str, Expr]],
                  values: dict[str, list[Expr | None]]) -> list[dict[str, Expr]]:
    """Every assignment of numbers to the symbols of ``exprs`` from the contexts and global values.

    A context's values may mention globals; those get every value they can take.  An empty list
    when there are too many combinations.
    """
    out: list[dict[str, Expr]] = []
    for c in contexts:
        ctx = dict(c)
        names = sorted({s.name for e in exprs for s in by_name(e, ctx).free_symbols if s.name in values})
        choices = [sorted(set(v for v in values[n] if v is not None), key=sympy.default_sort_key) for n in names]
        combos = list(itertools.islice(itertools.product(*choices), MAX_CONTEXTS + 1))
        if len(combos) > MAX_CONTEXTS or len(out) + len(combos) > MAX_CONTEXTS:
            return []
        for combo in combos:
            glob = dict(zip(names, combo))
            out.append({**{k: by_name(v, glob) for k, v in ctx.items()}, **glob})
    return out


def instantiate(bound: Expr, contexts: list[dict[str, Expr]], values: dict[str, list[Expr | None]]) -> Expr:
    variants: set[Expr] = set()
    for c in contexts:
        e = by_name(bound, c)
        names = sorted({s.name for s in e.free_symbols if s.name in values})
        choices = [sorted(set(v for v in values[n] if v is not None), key=sympy.default_sort_key) for n in names]
        combos = list(itertools.islice(itertools.product(*choices), MAX_CONTEXTS + 1))
        if len(combos) > MAX_CONTEXTS:
            variants.add(e)
            continue
        for combo in combos:
            got = _substituted(e, dict(zip(names, combo)))
            if got is not None:
                variants.add(got)
    if not variants:
        return bound
    return sympy.Max(*variants) if len(variants) > 1 else next(iter(variants))
