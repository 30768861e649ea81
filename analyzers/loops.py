"""Loop extraction: every for, while and do loop of a function, normalized and bounded.

What it decides: for each loop, the maximum iterations per entry (a sympy
expression over named symbols) and a status exact | upper | unbounded, with
the reason when it is not exact.  Annotations and whole-program substitution are
applied later, by :mod:`analyzers.bounds`.

How: a loop is a *counting loop* when its condition compares one variable ``v``
with a loop-invariant expression (``v < b``, ``b >= v``, ``v != b``, ``v``,
``v--``, ``--v``), ``v`` has exactly one update of a supported step form (the
``for`` increment, the condition itself, or one unconditional top-level
statement of a ``while``/``do`` body) and ``v`` is written nowhere else in the
body (assignments, ``++``/``--``, ``&v``, non-const reference arguments).  Its
initial value comes from the ``for`` initializer or the straight-line code
before the loop (the last statement writing ``v`` in an enclosing block, with no
enclosing loop writing it).  The bound must not be written in the body (a
non-const method call on an object counts as a write to it); otherwise the loop
is data-dependent: unbounded.  ``break``, ``return`` and ``goto`` in the body only
shorten a loop (status ``upper``); ``while (1)`` / ``for (;;)`` are unbounded,
and so is a ``goto`` to an earlier label (a back edge, reported as a loop of kind
``goto``).  For nested loops the count may mention enclosing loop variables: the
per-entry maximum and the total come from :mod:`analyzers.loopmath`.
"""

from __future__ import annotations

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
    parse_condition,
    step_of,
    var_ref,
    writes,
)


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


@dataclass
class Call:
    """A call in a function: the callee (USR and name) and its arguments' values (None: unknown)."""

    usr: str
    name: str
    line: int
    column: int
    args: list[Expr | None]


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
        values = [None if v is not None and v.free_symbols & loop_vars else v for v in values]
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
                    depth=len(frames))
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
            return results[0]
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
            if kind != "for" or not steps:
                for st in body.children() if body.kind == "COMPOUND_STMT" else [body]:
                    s = step_of(st, pc.var, self.conv)
                    if s is not None:
                        steps.append(s)
                        step_nodes.append(st)
        finally:
            self._ctx.pop()
            self._invariant_in = None
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
            bound_names = names_in(pc.bound)
            written = set(body_writes) | (set(self.writes(inc)) if inc is not None else set())
            if bound_names & written:
                return (lm._unbounded("the bound is written in the body (data-dependent)"), *none)
            if calls_may_write(body, bound_names):
                return (lm._unbounded("a call in the body may change the bound"), *none)
        self._ctx.append((parents, n, frames))
        try:
            a = self._init(init, pc.var, parents, n)
            b = sympy.Integer(0) if pc.bound is None else self.conv.expr(pc.bound)
        finally:
            self._ctx.pop()
        if a is None:
            return (lm._unbounded("unknown initial value of the loop variable"), *none)
        if b is None:
            return (lm._unbounded("data-dependent bound (not a constant, parameter, member or size)"), *none)
        step_kind, step = steps[0]
        vtype = pc.var.type.canonical.spelling
        if vtype in FLOAT_WIDTHS:
            fl = lm.float_trip_count(a, pc.op, b, step_kind, sympy.Rational(step), FLOAT_WIDTHS[vtype],
                                     kind == "do" and pc.step is None)
            if fl.count is not None and exits & {"break", "return", "goto"}:
                fl = lm.TripCount(fl.count, lm.UPPER, "an early exit can shorten the loop")
            return fl, pc.var, None, None, fl.count
        if not isinstance(step, int):
            return (lm._unbounded("a non-integer step"), *none)
        unsigned = is_unsigned_type(vtype)
        hazard = conversion_hazard(vtype, unsigned, pc, a, b, step_kind)
        if hazard:
            return (lm._unbounded(hazard), *none)
        # where the update sits decides the values tested: while (--v) tests step(a) first; a do loop
        # whose condition is v-- runs once, then behaves like while (v--)
        test_first, extra = kind != "do", 0
        if pc.step is not None and kind == "while" and pc.pre:
            if unsigned and step_kind == "-" and not bool((a - step).is_nonnegative):
                return (lm._unbounded("unsigned wrap-around: the pre-decrement can go below zero"), *none)
            a = lm._step_expr(lm.CountingLoop(a, pc.op, b, step_kind, step), a)
        elif pc.step is not None and kind == "do" and not pc.pre:
            test_first, extra = True, 1
        cl = lm.CountingLoop(a, pc.op, b, step_kind, step, unsigned, test_first)
        try:
            result = lm.capped(lambda: lm.trip_count(cl))
        except lm.CapExceeded:
            return (lm._unbounded("time cap hit while counting"), *none)
        if extra and result.count is not None:
            result = lm.TripCount(result.count + extra, result.status, result.reason)
        if result.count is not None and exits & {"break", "return", "goto"} and result.status == lm.EXACT:
            result = lm.TripCount(result.count, lm.UPPER, "an early exit can shorten the loop")
        sym = self.conv.symbol(pc.var.spelling, unsigned)
        rng = None
        if result.count is not None and step_kind in ("+", "-") and kind != "do" and pc.step is None:
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
        """The value of local ``d`` where the current loop starts (callback of the converter)."""
        if not self._ctx or len(self._ctx) > 12:
            return None
        parents, stmt, frames = self._ctx[-1]
        for f in reversed(frames):
            if f.var is not None and f.var == d:
                return f.symbol if f.range is not None else None
        key = decl_key(d)
        if self._invariant_in is not None and key in self.writes(self._invariant_in):
            return None  # a step amount written inside the loop is not invariant
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
