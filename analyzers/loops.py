"""Loop extraction: every for, while and do loop of a function, normalized and bounded.

What it decides: for each loop, the maximum iterations per entry (a sympy
expression over named symbols) and a status exact | upper | unbounded, with
the reason when it is not exact.  Annotations and whole-program substitution are
applied later, by :mod:`analyzers.bounds`.

How: a loop is a *counting loop* when its condition compares one variable ``v``
with a loop-invariant expression (``v < b``, ``b >= v``, ``v != b``, ``v``,
``v--``, ``--v``, ``v + c < b`` read as ``v < b - c``), ``v`` has one update of a
supported step form (the ``for`` increment, the condition itself, or one
unconditional top-level statement of the body; several unconditional additive
updates, ``for (...; i++) { ...; i++; }``, add up to one step) and ``v`` is
written nowhere else in the body (assignments, ``++``/``--``, ``&v``, non-const
reference arguments).  Its initial value comes from the ``for`` initializer or
the straight-line code before the loop (the last statement writing ``v`` in an
enclosing block, with no enclosing loop writing it; an exact counting loop
there leaves ``first + step * count``).  A local whose every write in the
function stores a constant, and ``c ? a : b``, stand for a few values: the count
is the largest over them (status ``upper``).  A count the closed forms cannot
give with symbols (a symbolic step ``i += level``, a ``!=`` bound not provably
reached, a sign-dependent hazard) is kept as :class:`analyzers.loopmath.Deferred`
and counted again by :func:`recount` once whole-program mode gives numbers.  The bound must not be written in the body (a
non-const method call on an object counts as a write to it); otherwise the loop
is data-dependent: unbounded.  ``break``, ``return`` and ``goto`` in the body only
shorten a loop (status ``upper``); ``while (1)`` / ``for (;;)`` are unbounded,
and so is a ``goto`` to an earlier label (a back edge, reported as a loop of kind
``goto``).  For nested loops the count may mention enclosing loop variables: the
per-entry maximum and the total come from :mod:`analyzers.loopmath`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy import Expr

from analyzers import loopmath as lm
from analyzers.frontend import Node
from analyzers.loopexpr import Converter, Sources, is_unsigned_type, strip
from analyzers.loopsyntax import (
    FLOAT_WIDTHS,
    LOOP_KINDS,
    Condition,
    calls_may_write,
    conjuncts,
    conversion_hazard,
    decl_key,
    declares,
    exits_of,
    for_parts,
    names_in,
    normal_step,
    parse_condition,
    step_of,
    var_ref,
    writes,
)

_WRITERS = frozenset(("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR", "UNARY_OPERATOR", "CALL_EXPR"))
MAX_COMBOS = 64  # value combinations of finite-valued locals tried per loop
MAX_LOCAL_VALUES = 8  # a local with more distinct constant values is left unknown


@dataclass
class Loop:
    """One loop's result; ``bound`` is per entry, ``total`` per entry of the outermost enclosing loop."""

    file: str
    line: int
    column: int
    function: str
    kind: str
    bound: Expr | None
    status: str
    reason: str = ""
    total: Expr | None = None
    depth: int = 0
    bound_symbolic: Expr | None = None
    annotated: str = ""  # the annotation's text when status is annotated
    range: lm.Range | None = None  # the values of its variable (additive counting loops), for cost
    deferred: lm.Deferred | None = None  # a symbolic step, counted in whole-program mode


@dataclass
class Call:
    """A call in a function: the callee (USR and name) and its arguments' values (None: unknown)."""

    usr: str
    name: str
    line: int
    column: int
    args: list[Expr | None]


def _net_step(steps: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Several unconditional additive updates per iteration (``i++`` in the header and in the body)
    add up to one step; anything else is left as it is (and reported as updated twice)."""
    if not all(k in ("+", "-") and isinstance(c, int) for k, c in steps):
        return steps
    net = sum(c if k == "+" else -c for k, c in steps)
    if net == 0:
        return steps
    return [("+", net) if net > 0 else ("-", -net)]


def count_loop(a: Expr, b: Expr, op: str, step_kind: str, step: int, vtype: str, bound_unsigned: bool | None,
               kind: str, cond_step: bool, pre: bool, early_exit: bool) -> lm.TripCount:
    """The count of a normalized integer counting loop, with C's conversion hazards checked."""
    unsigned = is_unsigned_type(vtype)
    hazard = conversion_hazard(vtype, unsigned, bound_unsigned, a, b, step_kind)
    if hazard:
        return lm._unbounded(hazard)
    # where the update sits decides the values tested: while (--v) tests step(a) first; a do loop
    # whose condition is v-- runs once, then behaves like while (v--)
    test_first, extra = kind != "do", 0
    if cond_step and kind in ("while", "for") and pre:
        if unsigned and step_kind == "-" and not bool((a - step).is_nonnegative):
            return lm._unbounded("unsigned wrap-around: the pre-decrement can go below zero")
        a = lm._step_expr(lm.CountingLoop(a, op, b, step_kind, step), a)
    elif cond_step and kind == "do" and not pre:
        test_first, extra = True, 1
    cl = lm.CountingLoop(a, op, b, step_kind, step, unsigned, test_first)
    try:
        result = lm.capped(lambda: lm.trip_count(cl))
    except lm.CapExceeded:
        return lm._unbounded("time cap hit while counting")
    if extra and result.count is not None:
        result = lm.TripCount(result.count + extra, result.status, result.reason)
    if result.count is not None and early_exit and result.status == lm.EXACT:
        result = lm.TripCount(result.count, lm.UPPER, "an early exit can shorten the loop")
    return result


def recount(d: lm.Deferred, values: dict[str, Expr]) -> lm.TripCount:
    """The count of a deferred loop with its symbols replaced by name from ``values``.

    Unbounded unless the initial value, the bound and the step all become integers (a negative
    additive step flips its direction, as in :func:`analyzers.loopsyntax.step_of`).
    """
    names = {s.name for e in (d.init, d.bound, d.step) for s in e.free_symbols}
    if names & d.loop_vars:
        return lm._unbounded("the count depends on an enclosing loop's variable")
    try:
        a, b, c = (e.xreplace({s: values[s.name] for s in e.free_symbols if s.name in values})
                   for e in (d.init, d.bound, d.step))
    except (ValueError, TypeError, ZeroDivisionError):
        return lm._unbounded("values the program does not fix")
    if not all(e.is_number and e.is_integer for e in (a, b, c)):
        return lm._unbounded("values the program does not fix")
    step = normal_step(d.step_kind, c)
    if step is None:
        return lm._unbounded("the step does not change the variable")
    return count_loop(a, b, d.op, step[0], int(step[1]), d.vtype, d.bound_unsigned, d.kind, d.cond_step, d.pre,
                      d.early_exit)


@dataclass
class _Frame:
    """An enclosing loop while its body is walked."""

    node: Node
    var: Node | None
    symbol: sympy.Symbol | None
    range: lm.Range | None
    exact: bool = False


class FunctionLoops:
    """Finds and bounds the loops of one function definition."""

    def __init__(self, fn: Node, name: str, sources: Sources, conv: Converter) -> None:
        self.fn = fn
        self.name = name
        self.sources = sources
        self.conv = conv
        self.loops: list[Loop] = []
        self.calls: list[Call] = []
        self._invariant_in: Node | None = None
        self._writes: dict[Node, dict[str, list[Node]]] = {}
        self._ctx: list[tuple[list[Node], Node, list[_Frame]]] = []
        self._finite: dict[sympy.Symbol, list[Expr]] = {}  # finite-valued local -> its values
        self._finite_of: dict[str, Expr | None] = {}
        self._choices: dict[tuple[Expr, ...], sympy.Symbol] = {}
        self._exit_values: dict[tuple[int, int], tuple[str, Expr]] = {}  # loop -> (variable, value after it)
        self._bare_refs: dict[str, list[Node]] | None = None  # local -> operators it is a bare operand of (C)

    def writes(self, n: Node) -> dict[str, list[Node]]:
        """:func:`writes`, memoized per node for this function."""
        if n not in self._writes:
            self._writes[n] = writes(n)
        return self._writes[n]

    def run(self) -> list[Loop]:
        body = [c for c in self.fn.children() if c.kind == "COMPOUND_STMT"]
        if body:
            self._visit(body[0], [], [])
            self._goto_back_edges(body[0])
        self.loops.sort(key=lambda lp: (lp.line, lp.column))
        return self.loops

    def _visit(self, n: Node, parents: list[Node], frames: list[_Frame]) -> None:
        if n.kind in ("LAMBDA_EXPR", "CLASS_DECL", "STRUCT_DECL"):
            return
        if n.kind == "CALL_EXPR":
            self._call(n, parents, frames)
        if n.kind in LOOP_KINDS:
            frame = self._loop(n, parents, frames)
            inner = frames + [frame]
            for c in n.children():
                self._visit(c, parents + [n], inner)
            return
        for c in n.children():
            self._visit(c, parents + [n], frames)

    def _call(self, n: Node, parents: list[Node], frames: list[_Frame]) -> None:
        callee = n.referenced
        if callee is None or callee.kind not in ("FUNCTION_DECL", "CXX_METHOD", "FUNCTION_TEMPLATE"):
            return
        kids = n.children()
        args = kids[1:] if kids and strip(kids[0]).kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else kids
        self._ctx.append((parents, n, frames))
        try:
            values = [self.conv.expr(a) for a in args]
        finally:
            self._ctx.pop()
        loop_vars = {f.symbol for f in frames if f.symbol is not None}
        # a value that varies with an enclosing loop is not one context: leave the parameter symbolic
        values = [None if v is not None and v.free_symbols & (loop_vars | set(self._finite)) else v for v in values]
        self.calls.append(Call(callee.usr, callee.spelling, n.line, n.column, values))

    def _goto_back_edges(self, body: Node) -> None:
        labels: dict[str, tuple[int, int]] = {}
        gotos: list[Node] = []
        stack = [body]
        while stack:
            c = stack.pop()
            if c.kind == "LABEL_STMT":
                labels[c.spelling] = (c.line, c.column)
            elif c.kind == "GOTO_STMT":
                gotos.append(c)
            stack.extend(c.children())
        for g in gotos:
            target = g.tokens()[1] if len(g.tokens()) > 1 else ""
            if target in labels and labels[target] <= (g.line, g.column):
                self.loops.append(Loop(g.file, g.line, g.column, self.name, "goto", None, lm.UNBOUNDED,
                                       f"goto back edge to label '{target}'", depth=0))

    # ---- one loop ----------------------------------------------------------------------------
    def _loop(self, n: Node, parents: list[Node], frames: list[_Frame]) -> _Frame:
        kind = LOOP_KINDS[n.kind]
        result, var, sym, rng, count = self._count(n, kind, parents, frames)
        loop = Loop(n.file, n.line, n.column, self.name, kind, None, lm.UNBOUNDED, result.reason,
                    depth=len(frames), deferred=result.deferred)
        frame = _Frame(n, var, sym, rng)
        if count is None:
            count = result.count
        if result.count is not None and count is not None:
            ranges = [f.range for f in reversed(frames) if f.range is not None]
            enclosing = {f.symbol for f in frames if f.symbol is not None}
            dep = count.free_symbols & enclosing
            needed = ranges
            if dep - {r.var for r in needed}:
                loop.reason = "the count depends on a non-counting enclosing loop's variable"
            else:
                per_entry = self._capped(lambda: lm.nest_maximum(count, needed) if dep else count)
                if per_entry is None:
                    loop.reason = "the count is not monotone in an enclosing loop variable"
                else:
                    # the maximum over an enclosing range is attained only if that loop runs it all
                    inexact = any(not f.exact for f in frames if f.symbol in dep)
                    loop.bound, loop.status = per_entry, lm.UPPER if inexact else result.status
                    if inexact:
                        loop.reason = "an enclosing loop the count depends on can exit early"
                    loop.total = self._total(count, needed, frames, per_entry)
        if loop.bound is None:
            frame.range = None
        frame.exact = loop.status == lm.EXACT
        loop.range = frame.range
        if frame.exact and frame.range is not None and var is not None:
            # an exact additive loop leaves its variable at first + delta * count
            r = frame.range
            self._exit_values[(n.line, n.column)] = (decl_key(var), r.first + r.delta * r.count)
        self.loops.append(loop)
        return frame

    def _capped(self, fn: Callable[[], Expr | None]) -> Expr | None:
        try:
            return lm.capped(fn)
        except lm.CapExceeded:
            return None

    def _total(self, count: Expr, ranges: list[lm.Range], frames: list[_Frame], per_entry: Expr) -> Expr | None:
        if not frames:
            return per_entry
        if any(f.range is None for f in frames):
            return None
        total = self._capped(lambda: lm.nest_total(count, ranges))
        if total is None:
            total = self._capped(lambda: lm.enumerate_total(count, ranges))
        return total

    def _count(self, n: Node, kind: str, parents: list[Node], frames: list[_Frame]
               ) -> tuple[lm.TripCount, Node | None, sympy.Symbol | None, lm.Range | None, Expr | None]:
        none: tuple[None, None, None, None] = (None, None, None, None)
        kids = n.children()
        if kind == "for":
            init, cond, inc, body = for_parts(n)
        elif kind == "while":
            init, inc = None, None
            cond, body = (kids[-2], kids[-1]) if len(kids) >= 2 else (None, None)
        else:
            init, inc = None, None
            body, cond = (kids[0], kids[-1]) if len(kids) >= 2 else (None, None)
        if body is None:
            return (lm._unbounded("empty loop"), *none)
        if cond is None:
            return (lm._unbounded("no loop condition: only a break or return could end it"), *none)
        self._ctx.append((parents, n, frames))
        try:
            constant = self.conv.expr(cond)
        finally:
            self._ctx.pop()
        if constant is not None and constant.is_number:
            if constant == 0:
                return (lm.TripCount(sympy.Integer(0 if kind != "do" else 1), lm.EXACT), *none)
            return (lm._unbounded("constant true condition: only a break or return could end it"), *none)
        parts = conjuncts(cond)
        results: list[tuple[lm.TripCount, Node | None, sympy.Symbol | None, lm.Range | None, Expr | None]] = []
        for part in parts:
            readings = parse_condition(part)
            tried = [self._counting(pc, kind, init, inc, body, parents, n, frames) for pc in readings]
            bounded = [t for t in tried if t[0].count is not None]
            results.append(bounded[0] if bounded else tried[0] if tried else
                           (lm._unbounded("data-dependent condition (not a counting loop)"), *none))
        bounded = [r for r in results if r[0].count is not None]
        if not bounded:
            first = results[0]
            if len(results) > 1 and first[0].deferred is not None:  # another conjunct can end it earlier
                d = dataclasses.replace(first[0].deferred, early_exit=True)
                return (dataclasses.replace(first[0], deferred=d), *first[1:])
            return first
        if len(results) == 1:
            return results[0]
        # the loop stops when any conjunct fails: each bounded conjunct bounds it, the least of them too
        counts = [r[0].count for r in bounded if r[0].count is not None]
        best = bounded[0]
        least = sympy.Min(*counts) if len(counts) > 1 else counts[0]
        return (lm.TripCount(least, lm.UPPER, "a conjunct of the condition can end the loop earlier"),
                best[1], best[2], None, least)

    def _counting(self, pc: Condition, kind: str, init: Node | None, inc: Node | None, body: Node,
                  parents: list[Node], n: Node, frames: list[_Frame]
                  ) -> tuple[lm.TripCount, Node | None, sympy.Symbol | None, lm.Range | None, Expr | None]:
        """The count of the loop read as counting ``pc.var``."""
        none: tuple[None, None, None, None] = (None, None, None, None)
        body_writes = self.writes(body)
        var_key = decl_key(pc.var)
        steps: list[tuple[str, int]] = []
        step_nodes: list[Node] = []
        if pc.step is not None:
            steps.append(pc.step)
        self._ctx.append((parents, n, frames))  # a step amount may be a local defined before the loop
        self._invariant_in = n
        try:
            s = step_of(inc, pc.var, self.conv) if inc is not None else None
            if s is not None:
                steps.append(s)
            elif inc is not None and var_key in self.writes(inc):
                return (lm._unbounded("unsupported update of the loop variable"), *none)
            if kind != "for" or not steps or var_key in body_writes:
                for st in body.children() if body.kind == "COMPOUND_STMT" else [body]:
                    s = step_of(st, pc.var, self.conv)
                    if s is not None:
                        steps.append(s)
                        step_nodes.append(st)
        finally:
            self._ctx.pop()
            self._invariant_in = None
        if len(steps) > 1 and pc.step is None:
            steps = _net_step(steps)
        if len(steps) != 1:
            why = "the loop variable is not updated" if not steps else "the loop variable is updated twice"
            return (lm._unbounded(why), *none)
        other = [w for w in body_writes.get(var_key, []) if not any(w == s or w == strip(s) for s in step_nodes)]
        if other:
            return (lm._unbounded("the loop variable is written in the body"), *none)
        exits = exits_of(body)
        if step_nodes and "continue" in exits:
            return (lm._unbounded("a continue can skip the loop variable's update"), *none)
        if pc.bound is not None:
            bound_names = names_in(pc.bound) | (names_in(pc.offset) if pc.offset is not None else set())
            written = set(body_writes) | (set(self.writes(inc)) if inc is not None else set())
            if bound_names & written:
                return (lm._unbounded("the bound is written in the body (data-dependent)"), *none)
            if calls_may_write(body, bound_names):
                return (lm._unbounded("a call in the body may change the bound"), *none)
        self._ctx.append((parents, n, frames))
        try:
            a = self._init(init, pc.var, parents, n)
            b = sympy.Integer(0) if pc.bound is None else self.conv.expr(pc.bound)
            if pc.offset is not None and b is not None:
                shift = self.conv.expr(pc.offset)
                # unsigned v - c (or v + e) wraps; v + c with a constant c >= 0 reaches b before it can
                wraps = pc.offset_unsigned and not (pc.offset_sign == 1 and shift is not None and shift.is_number
                                                    and shift >= 0)
                b = None if shift is None or wraps else b - pc.offset_sign * shift
        finally:
            self._ctx.pop()
        if a is None:
            return (lm._unbounded("unknown initial value of the loop variable"), *none)
        if b is None:
            return (lm._unbounded("data-dependent bound (not a constant, parameter, member or size)"), *none)
        step_kind, step = steps[0]
        finite = [sym for sym in self._finite_in(a, b, step) if sym in self._finite]
        if finite:
            return self._enumerated(finite, pc, kind, a, b, step_kind, step, exits, frames)
        got = self._counted(pc, kind, a, b, step_kind, step, exits, frames)
        kids = body.children() if body.kind == "COMPOUND_STMT" else [body]
        if step_nodes and got[3] is not None and not (kids and kids[-1] == step_nodes[-1] and len(step_nodes) == 1):
            # inner loops after a mid-body update see the stepped value: no range for them
            got = (got[0], got[1], got[2], None, got[4])
        return got

    def _finite_in(self, *exprs: object) -> list[sympy.Symbol]:
        out: set[sympy.Symbol] = set()
        for e in exprs:
            if isinstance(e, Expr):
                out |= {s for s in e.free_symbols if isinstance(s, sympy.Symbol)}
        return sorted(out, key=lambda s: s.name)

    def _enumerated(self, finite: list[sympy.Symbol], pc: Condition, kind: str, a: Expr, b: Expr,
                    step_kind: str, step: object, exits: set[str], frames: list[_Frame]
                    ) -> tuple[lm.TripCount, Node | None, sympy.Symbol | None, lm.Range | None, Expr | None]:
        """The largest count over every combination of the values of finite-valued locals (status upper)."""
        none: tuple[None, None, None, None] = (None, None, None, None)
        combos = list(itertools.islice(itertools.product(*(self._finite[s] for s in finite)), MAX_COMBOS + 1))
        if len(combos) > MAX_COMBOS:
            return (lm._unbounded("too many values of a local the loop depends on"), *none)
        counts: list[Expr] = []
        statuses: set[str] = set()
        for combo in combos:
            env = dict(zip(finite, combo))
            st = step.xreplace(env) if isinstance(step, Expr) else step
            if isinstance(st, Expr) and st.is_number:
                st = normal_step(step_kind, st)
                if st is None:
                    return (lm._unbounded("a local step amount that does not change the variable"), *none)
            kd = step_kind
            if isinstance(st, tuple):
                kd, st = st
            got = self._counted(pc, kind, a.xreplace(env), b.xreplace(env), kd, st, exits, frames)[0]
            if got.count is None:
                return (lm._unbounded(got.reason), *none)
            counts.append(got.count)
            statuses.add(got.status)
        distinct = set(counts)
        count = counts[0] if len(distinct) == 1 else sympy.Max(*distinct)
        if len(distinct) == 1 and statuses == {lm.EXACT}:
            return lm.TripCount(count, lm.EXACT), pc.var, None, None, count
        return (lm.TripCount(count, lm.UPPER, "the largest over the values a local takes"), pc.var, None, None, count)

    def _counted(self, pc: Condition, kind: str, a: Expr, b: Expr, step_kind: str, step: object, exits: set[str],
                 frames: list[_Frame]
                 ) -> tuple[lm.TripCount, Node | None, sympy.Symbol | None, lm.Range | None, Expr | None]:
        none: tuple[None, None, None, None] = (None, None, None, None)
        vtype = pc.var.type.canonical.spelling
        early = bool(exits & {"break", "return", "goto"})
        if vtype in FLOAT_WIDTHS:
            if not (isinstance(step, (int, sympy.Rational))):
                return (lm._unbounded("a floating-point counter with a symbolic step"), *none)
            fl = lm.float_trip_count(a, pc.op, b, step_kind, sympy.Rational(step), FLOAT_WIDTHS[vtype],
                                     kind == "do" and pc.step is None)
            if fl.count is not None and early:
                fl = lm.TripCount(fl.count, lm.UPPER, "an early exit can shorten the loop")
            return fl, pc.var, None, None, fl.count
        unsigned = is_unsigned_type(vtype)
        bound_unsigned = None if pc.bound is None else is_unsigned_type(strip(pc.bound).type.canonical.spelling)
        if isinstance(step, int) or isinstance(step, Expr) and not step.is_number:
            deferred = lm.Deferred(a, pc.op, b, step_kind, sympy.Integer(step) if isinstance(step, int) else step,
                                   vtype, bound_unsigned, kind, pc.step is not None, pc.pre, early,
                                   frozenset(f.symbol.name for f in frames if f.symbol is not None))
        if isinstance(step, Expr) and not step.is_number:
            if pc.step is not None:
                return (lm._unbounded("a symbolic step"), *none)
            return (lm.TripCount(None, lm.UNBOUNDED, "a symbolic step (bounded where the whole program fixes it)",
                                 deferred=deferred), *none)
        if not isinstance(step, int):
            return (lm._unbounded("a non-integer step"), *none)
        result = count_loop(a, b, pc.op, step_kind, step, vtype, bound_unsigned, kind, pc.step is not None, pc.pre,
                            early)
        if result.count is None:
            if (a.free_symbols or b.free_symbols) and not result.reason.startswith("time cap"):
                result = lm.TripCount(None, lm.UNBOUNDED, result.reason, deferred=deferred)
            return (result, *none)
        sym = self.conv.symbol(pc.var.spelling, unsigned)
        rng = None
        if step_kind in ("+", "-") and kind != "do" and pc.step is None:
            delta = step if step_kind == "+" else -step
            rng = lm.Range(sym, a, delta, result.count)
        return result, pc.var, sym, rng, result.count

    def _init(self, init: Node | None, var: Node, parents: list[Node], loop: Node) -> Expr | None:
        if init is not None:
            for c in [init] + init.children():
                for d in c.children() if c.kind == "DECL_STMT" else [c]:
                    if d.kind == "VAR_DECL" and d == var:
                        kids = [k for k in d.children() if k.kind not in ("TYPE_REF",)]
                        return self.conv.expr(kids[-1]) if kids else None
                    s = strip(d)
                    if s.kind == "BINARY_OPERATOR" and s.operator() == "=":
                        lhs, rhs = s.children()
                        if var_ref(lhs) == var:
                            return self.conv.expr(rhs)
                    if s.kind == "BINARY_OPERATOR" and s.operator() == ",":
                        for part in s.children():
                            sp = strip(part)
                            if sp.kind == "BINARY_OPERATOR" and sp.operator() == "=" and \
                                    var_ref(sp.children()[0]) == var:
                                return self.conv.expr(sp.children()[1])
        return self.resolve(var, loop)

    def resolve(self, d: Node, use: Node) -> Expr | None:
        """The value of local ``d`` where the current loop starts (callback of the converter).

        The last straight-line definition before the loop; failing that, for an integer local
        whose every write is a constant, one of those constants (:meth:`_finite_local`).
        """
        if not self._ctx or len(self._ctx) > 12:
            return None
        parents, stmt, frames = self._ctx[-1]
        for f in reversed(frames):
            if f.var is not None and f.var == d:
                return f.symbol if f.range is not None else None
        key = decl_key(d)
        if self._invariant_in is not None and key in self.writes(self._invariant_in):
            return None  # a step amount written inside the loop is not invariant
        value = self._straight_line(d, key, parents, stmt, frames)
        if value is None and d.kind == "VAR_DECL":
            return self._finite_local(d)
        return value

    def _straight_line(self, d: Node, key: str, parents: list[Node], stmt: Node, frames: list[_Frame]
                       ) -> Expr | None:
        child = stmt
        for i in range(len(parents) - 1, -1, -1):
            anc = parents[i]
            if anc.kind in LOOP_KINDS and key in self.writes(anc):
                return None
            if anc.kind == "COMPOUND_STMT":
                sibs = anc.children()
                idx = next((j for j, s in enumerate(sibs) if s == child), len(sibs))
                for sib in reversed(sibs[:idx]):
                    if key not in self.writes(sib) and not declares(sib, d):
                        continue
                    if sib.kind in LOOP_KINDS:
                        after = self._exit_values.get((sib.line, sib.column))
                        return after[1] if after is not None and after[0] == key else None
                    value = self._definition(sib, d)
                    if value is None:
                        return None
                    frames_here = [f for f in frames if any(f.node == p for p in parents[:i + 1])]
                    self._ctx.append((parents[:i + 1], sib, frames_here))
                    try:
                        return self.conv.expr(value)
                    finally:
                        self._ctx.pop()
            child = anc
        if d.kind == "PARM_DECL":
            return self.conv.symbol(d.spelling, is_unsigned_type(d.type.canonical.spelling))
        return None

    def _finite_local(self, d: Node) -> Expr | None:
        """A local integer whose every write stores a constant holds one of them wherever it is read.

        The values are its initializer (0 for a static without one) and the right-hand sides of all
        its assignments in the function; any other write (``++``, ``+=``, ``&v``, a non-constant
        value, a reference bound to it) leaves it unknown.  A local without an initializer is taken
        to be assigned before it is read (reading it first is undefined behaviour).  Flow-insensitive,
        so sound whatever the order; more than one value gives a symbol whose values
        :meth:`_enumerated` tries in turn.
        """
        key = decl_key(d)
        if key in self._finite_of:
            return self._finite_of[key]
        self._finite_of[key] = None
        parent = d.semantic_parent
        body = next((c for c in self.fn.children() if c.kind == "COMPOUND_STMT"), None)
        if body is None or parent is None or parent != self.fn or not d.type.is_integer() or d.type.is_reference():
            return None
        values: list[Expr] = []
        kids = [k for k in d.children() if k.kind not in ("TYPE_REF",) and not k.kind.endswith("_ATTR")]
        if kids:
            v = self._constant(kids[-1])
            if v is None:
                return None
            values.append(v)
        elif d.storage() == "STATIC":
            values.append(sympy.Integer(0))
        for w in self._writes_of(body, d, key):
            if not (w.kind == "BINARY_OPERATOR" and w.operator() == "=" and len(w.children()) == 2
                    and var_ref(w.children()[0]) == d):
                return None
            v = self._constant(w.children()[1])
            if v is None:
                return None
            values.append(v)
        if not values or self._bound_by_reference(body, key):
            return None
        distinct = sorted(set(values), key=sympy.default_sort_key)
        if len(distinct) > MAX_LOCAL_VALUES:
            return None
        if len(distinct) == 1:
            self._finite_of[key] = distinct[0]
            return distinct[0]
        sym = sympy.Symbol(f"{d.spelling}__values_{d.line}_{d.column}", integer=True)
        self._finite[sym] = distinct
        self._finite_of[key] = sym
        return sym

    def choose(self, values: list[Expr]) -> Expr | None:
        """A symbol for ``c ? a : b`` that :meth:`_enumerated` replaces by each value in turn.

        Only inside a loop's own analysis (a call argument or a global's value gets no choice).
        """
        if not self._ctx or any(v.free_symbols & set(self._finite) for v in values):
            return None
        key = tuple(values)
        if key not in self._choices:
            sym = sympy.Symbol(f"choice__{len(self._choices)}", integer=True)
            self._choices[key] = sym
            self._finite[sym] = list(values)
        return self._choices[key]

    def _writes_of(self, body: Node, d: Node, key: str) -> list[Node]:
        """The nodes under ``body`` that write local ``d``: :func:`writes`, or in C a cheaper walk.

        In C an assigned operand is an lvalue, never under an implicit conversion as every read
        is; so only a bare reference to ``d`` needs its parent's operator (read from the tokens,
        slow on long expressions).  A bare reference under anything but ``=`` counts as a write
        (``++``, ``+=``, ``&``: each makes the local unknown).
        """
        if not self.fn.file.endswith(".c"):
            return self.writes(body).get(key, [])
        if self._bare_refs is None:  # one walk per function, for every local
            self._bare_refs = {}
            stack: list[tuple[Node, Node | None]] = [(body, None)]
            while stack:
                c, parent = stack.pop()
                if c.kind == "DECL_REF_EXPR" and parent is not None and parent.kind in _WRITERS:
                    target = c.referenced
                    if target is not None and target.kind == "VAR_DECL":
                        self._bare_refs.setdefault(decl_key(target), []).append(parent)
                up = parent if c.kind == "PAREN_EXPR" else c  # (v) = 1 assigns v
                stack.extend((k, up) for k in c.children())
        return self._bare_refs.get(key, [])

    def _constant(self, n: Node) -> Expr | None:
        """The value of ``n`` when it is an integer constant, read with no local context."""
        saved, self._ctx = self._ctx, []
        try:
            v = self.conv.expr(n)
        finally:
            self._ctx = saved
        return v if v is not None and v.is_number and v.is_integer else None

    def _bound_by_reference(self, body: Node, key: str) -> bool:
        """Whether a reference variable is bound to the local (writes through it are not seen)."""
        stack = [body]
        while stack:
            c = stack.pop()
            if c.kind == "VAR_DECL" and c.type.is_reference() and key in names_in(c):
                return True
            stack.extend(c.children())
        return False

    def _definition(self, stmt: Node, d: Node) -> Node | None:
        """The expression ``stmt`` assigns to ``d`` when it is a plain definition, else None."""
        if stmt.kind == "DECL_STMT":
            for v in stmt.children():
                if v == d:
                    kids = [k for k in v.children() if k.kind not in ("TYPE_REF",)]
                    return kids[-1] if kids and kids[-1].kind not in ("INIT_LIST_EXPR",) else None
            return None
        s = strip(stmt)
        if s.kind == "BINARY_OPERATOR" and s.operator() == "=":
            lhs, rhs = s.children()
            if var_ref(lhs) == d and decl_key(d) not in self.writes(rhs):
                return rhs
        return None
