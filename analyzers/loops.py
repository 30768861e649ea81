"""Loop extraction: every for, while and do loop of a function, its calls, and the bound of each loop.

What it decides: the loops of one function definition, each with the maximum
iterations per entry (a sympy expression over named symbols) and a status exact |
upper | unbounded, with the reason when it is not exact; and the calls the function
makes, with the values of their arguments.  Annotations and whole-program
substitution are applied later, by :mod:`analyzers.bounds`.

How: the body is walked once.  Each loop is counted by :mod:`analyzers.loopcount`
(which reads the locals it depends on through :mod:`analyzers.loopvalues`); a
``goto`` to an earlier label is a back edge, reported as an unbounded loop of
kind ``goto``.  For nested loops the count may mention enclosing loop variables:
the per-entry maximum and the total come from :mod:`analyzers.loopmath`.  An exact
additive loop leaves its variable at ``first + step * count``, which the code
after it may read (:attr:`analyzers.loopvalues.LocalValues.exit_values`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sympy import Expr

from analyzers import loopmath as lm
from analyzers.frontend import Node
from analyzers.loopcount import LoopCounter
from analyzers.loopexpr import Converter, Sources, strip
from analyzers.loopsyntax import LOOP_KINDS, decl_key
from analyzers.loopvalues import Frame, LocalValues


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
    usr: str = ""  # the USR of the function (or lambda, or template instance) it is in
    # why a bound over members no longer holds: (file, line, column, member or global, how) of each write that can
    # grow it on the packet path (analyzers.element_bounds)
    grown: tuple[tuple[str, int, int, str, str], ...] = ()


@dataclass
class Call:
    """A call in a function: the callee (USR and name) and its arguments' values (None: unknown)."""

    usr: str
    name: str
    line: int
    column: int
    args: list[Expr | None]


class FunctionLoops:
    """Finds and bounds the loops of one function definition."""

    def __init__(self, fn: Node, name: str, sources: Sources, conv: Converter) -> None:
        self.fn = fn
        self.name = name
        self.sources = sources
        self.conv = conv
        self.loops: list[Loop] = []
        self.calls: list[Call] = []
        self.callees: dict[str, Node] = {}  # USR -> definition of each function called (lambdas, template instances)
        self.values = LocalValues(fn, conv)
        self.counter = LoopCounter(self.values, conv)

    def run(self) -> list[Loop]:
        body = [c for c in self.fn.children() if c.kind == "COMPOUND_STMT"]
        if body:
            self._visit(body[0], [], [])
            self._goto_back_edges(body[0])
        self.loops.sort(key=lambda lp: (lp.line, lp.column))
        return self.loops

    def _visit(self, n: Node, parents: list[Node], frames: list[Frame]) -> None:
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

    def _call(self, n: Node, parents: list[Node], frames: list[Frame]) -> None:
        callee = n.referenced
        if callee is None or callee.kind not in ("FUNCTION_DECL", "CXX_METHOD", "FUNCTION_TEMPLATE"):
            return
        kids = n.children()
        args = kids[1:] if kids and strip(kids[0]).kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else kids
        with self.values.at(parents, n, frames):
            values = [self.conv.expr(a) for a in args]
        loop_vars = {f.symbol for f in frames if f.symbol is not None}
        # a value that varies with an enclosing loop is not one context: leave the parameter symbolic
        values = [None if v is not None and v.free_symbols & (loop_vars | set(self.values.finite)) else v for v in values]
        self.calls.append(Call(callee.usr, callee.spelling, n.line, n.column, values))
        defn = callee.definition
        if defn is not None:
            self.callees.setdefault(callee.usr, defn)

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
                                       f"goto back edge to label '{target}'", depth=0, usr=self.fn.usr))

    # ---- one loop ----------------------------------------------------------------------------
    def _loop(self, n: Node, parents: list[Node], frames: list[Frame]) -> Frame:
        kind = LOOP_KINDS[n.kind]
        counted = self.counter.count(n, kind, parents, frames)
        result, var, sym, rng, count = counted.trip, counted.var, counted.symbol, counted.range, counted.count
        loop = Loop(n.file, n.line, n.column, self.name, kind, None, lm.UNBOUNDED, result.reason,
                    depth=len(frames), deferred=result.deferred, usr=self.fn.usr)
        frame = Frame(n, var, sym, rng)
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
            self.values.exit_values[(n.line, n.column)] = (decl_key(var), r.first + r.delta * r.count)
        self.loops.append(loop)
        return frame

    def _capped(self, fn: Callable[[], Expr | None]) -> Expr | None:
        try:
            return lm.capped(fn)
        except lm.CapExceeded:
            return None

    def _total(self, count: Expr, ranges: list[lm.Range], frames: list[Frame], per_entry: Expr) -> Expr | None:
        if not frames:
            return per_entry
        if any(f.range is None for f in frames):
            return None
        total = self._capped(lambda: lm.nest_total(count, ranges))
        if total is None:
            total = self._capped(lambda: lm.enumerate_total(count, ranges))
        return total
