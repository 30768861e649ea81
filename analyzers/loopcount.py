"""Loop counting: the trip count of one loop, from its condition, update and initial value.

What it decides: for one loop, a :class:`Counted` -- the maximum iterations per
entry (a sympy expression over named symbols) with a status exact | upper |
unbounded and the reason when it is not exact, the variable it counts and, for
an additive counting loop, the range of values that variable takes.

How: a loop is a *counting loop* when its condition compares one variable ``v``
with a loop-invariant expression (``v < b``, ``b >= v``, ``v != b``, ``v``,
``v--``, ``--v``, ``v + c < b`` read as ``v < b - c``), ``v`` has one update of a
supported step form (the ``for`` increment, the condition itself, or one
unconditional top-level statement of the body; several unconditional additive
updates, ``for (...; i++) { ...; i++; }``, add up to one step) and ``v`` is
written nowhere else in the body (assignments, ``++``/``--``, ``&v``, non-const
reference arguments).  Its initial value and the values of the locals it
depends on come from :mod:`analyzers.loopvalues`; a local standing for a few
values is replaced by each in turn and the count is the largest (status
``upper``).  A count the closed forms cannot give with symbols (a symbolic step
``i += level``, a ``!=`` bound not provably reached, a sign-dependent hazard) is
kept as :class:`analyzers.loopmath.Deferred` and counted again by :func:`recount`
once whole-program mode gives numbers.  The bound must not be written in the body
(a non-const method call on an object counts as a write to it); otherwise the
loop is data-dependent: unbounded.  ``break``, ``return`` and ``goto`` in the body
only shorten a loop (status ``upper``); ``while (1)`` / ``for (;;)`` are unbounded.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import sympy
from sympy import Expr

from analyzers import loopmath as lm
from analyzers.frontend import Node
from analyzers.loopexpr import Converter, initializer, is_unsigned_type, root_decl, strip, symbol_name
from analyzers.loopprogress import least_increase
from analyzers.loopsyntax import (
    FLOAT_WIDTHS,
    Condition,
    calls_may_write,
    conjuncts,
    conversion_hazard,
    decl_key,
    exits_of,
    for_parts,
    names_in,
    normal_step,
    parse_condition,
    step_of,
    writes,
)
from analyzers.loopvalues import Frame, LocalValues

MAX_COMBOS = 64  # value combinations of finite-valued locals tried per loop
# why a loop is not a counting loop when it may still be a progress loop (analyzers.loopprogress)
_PROGRESS_WHY = frozenset(("the loop variable is not updated", "the loop variable is updated twice",
                           "the loop variable is written in the body", "a continue can skip the loop variable's update",
                           "unsupported update of the loop variable"))


@dataclass(frozen=True)
class Counted:
    """The count of one loop: the trip count, and what it counts when it is a counting loop -- the variable,
    its symbol and its range (the values of an additive counting loop's variable, for nested loops and costs) --
    and the count itself (None when unbounded)."""

    trip: lm.TripCount
    var: Node | None = None
    symbol: sympy.Symbol | None = None
    range: lm.Range | None = None
    count: Expr | None = None

    @classmethod
    def unbounded(cls, reason: str) -> Counted:
        return cls(lm._unbounded(reason))


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


def _compared(cond: Node) -> tuple[Node, Node] | None:
    """The two sides of ``a != b`` or ``a < b``, built-in or an overloaded operator."""
    c = strip(cond)
    kids = c.children()
    if c.kind == "BINARY_OPERATOR" and c.operator() in ("!=", "<") and len(kids) == 2:
        return kids[0], kids[1]
    if c.kind == "CALL_EXPR" and c.spelling in ("operator!=", "operator<"):
        args = [k for k in kids if strip(k).spelling != c.spelling]
        return (args[0], args[1]) if len(args) == 2 else None
    return None


def _local_ref(n: Node) -> Node | None:
    n = strip(n)
    d = n.referenced if n.kind == "DECL_REF_EXPR" else None
    return d if d is not None and d.kind == "VAR_DECL" else None


def _method_object(call: Node, name: str) -> Node | None:
    """The object of ``X.name()`` (no arguments), else None."""
    call = strip(call)
    for _ in range(4):  # a conversion (iterator to const_iterator) wraps the call in a constructor
        if call.kind == "CALL_EXPR" and call.spelling != name and len(call.children()) == 1:
            call = strip(call.children()[0])
        else:
            break
    if call.kind != "CALL_EXPR" or call.spelling != name:
        return None
    kids = call.children()
    m = strip(kids[0]) if len(kids) == 1 else None
    if m is None or m.kind != "MEMBER_REF_EXPR" or not m.children():
        return None
    return m.children()[0]


def _end_object(n: Node) -> Node | None:
    """The container of ``X.end()``, directly or through a local set to it once and never written."""
    obj = _method_object(n, "end")
    if obj is not None:
        return obj
    d = _local_ref(n)
    if d is None or d.type.is_reference():
        return None
    init = initializer(d)
    fn = d.semantic_parent
    body = next((c for c in fn.children() if c.kind == "COMPOUND_STMT"), None) if fn is not None else None
    if init is None or body is None or decl_key(d) in writes(body):
        return None
    return _method_object(init, "end")


def _initial_call(init: Node | None, var: Node) -> Node | None:
    """What the ``for`` initializer sets the iterator to: its declaration's initializer or ``it = ...``."""
    if init is None:
        return None
    for c in [init] + init.children():
        if c.kind == "VAR_DECL" and c == var:
            return initializer(c)
        s = strip(c)
        if s.kind == "BINARY_OPERATOR" and s.operator() == "=" and _local_ref(s.children()[0]) == var:
            return s.children()[1]
        if s.kind == "CALL_EXPR" and s.spelling == "operator=":
            args = [k for k in s.children() if strip(k).spelling != "operator="]
            if len(args) == 2 and _local_ref(args[0]) == var:
                return args[1]
    return None


def _writes_itself(w: Node, var: Node) -> bool:
    """Whether write ``w`` (of :func:`analyzers.loopsyntax.writes`) changes the iterator ``var`` itself, not what it
    points to (``&it->field`` takes the address of an element, ``it->x = 1`` writes the element)."""
    if w.kind == "CALL_EXPR":
        return True  # a non-const method on it, or passed by non-const reference
    kids = w.children()
    return not kids or _local_ref(kids[0]) == var


def _increments(inc: Node, var: Node) -> bool:
    """``++it`` or ``it++``, built-in or an overloaded operator."""
    s = strip(inc)
    if s.kind == "UNARY_OPERATOR" and s.operator() == "++":
        return bool(s.children()) and _local_ref(s.children()[0]) == var
    if s.kind == "CALL_EXPR" and s.spelling == "operator++":
        args = [k for k in s.children() if strip(k).spelling != "operator++"]
        return bool(args) and _local_ref(args[0]) == var
    return False


class LoopCounter:
    """Counts the loops of one function, reading its locals through ``values``."""

    def __init__(self, values: LocalValues, conv: Converter) -> None:
        self.values = values
        self.conv = conv

    def count(self, n: Node, kind: str, parents: list[Node], frames: list[Frame]) -> Counted:
        """The count of loop ``n`` (of ``kind`` for, while or do) inside the enclosing loops ``frames``."""
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
            return Counted.unbounded("empty loop")
        if cond is None:
            return Counted.unbounded("no loop condition: only a break or return could end it")
        with self.values.at(parents, n, frames):
            constant = self.conv.expr(cond)
        if constant is not None and constant.is_number:
            if constant == 0:
                return Counted(lm.TripCount(sympy.Integer(0 if kind != "do" else 1), lm.EXACT))
            return Counted.unbounded("constant true condition: only a break or return could end it")
        ranged = self._iterator_range(kind, init, cond, inc, body, parents, n)
        if ranged is not None:
            return ranged
        parts = conjuncts(cond)
        results: list[Counted] = []
        for part in parts:
            readings = parse_condition(part)
            tried = [self._counting(pc, kind, init, inc, body, parents, n, frames) for pc in readings]
            # not a counting loop: maybe a progress loop (every path back to the head moves the variable up)
            tried = [self._progress(pc, t, kind, init, cond, inc, body, parents, n, frames)
                     if t.trip.count is None and t.trip.reason in _PROGRESS_WHY else t for pc, t in zip(readings, tried)]
            bounded = [t for t in tried if t.trip.count is not None]
            results.append(bounded[0] if bounded else tried[0] if tried else
                           Counted.unbounded("data-dependent condition (not a counting loop)"))
        bounded = [r for r in results if r.trip.count is not None]
        if not bounded:
            first = results[0]
            if len(results) > 1 and first.trip.deferred is not None:  # another conjunct can end it earlier
                d = dataclasses.replace(first.trip.deferred, early_exit=True)
                return dataclasses.replace(first, trip=dataclasses.replace(first.trip, deferred=d))
            return first
        if len(results) == 1:
            return results[0]
        # the loop stops when any conjunct fails: each bounded conjunct bounds it, the least of them too
        counts = [r.trip.count for r in bounded if r.trip.count is not None]
        best = bounded[0]
        least = sympy.Min(*counts) if len(counts) > 1 else counts[0]
        return Counted(lm.TripCount(least, lm.UPPER, "a conjunct of the condition can end the loop earlier"),
                       best.var, best.symbol, None, least)

    def _iterator_range(self, kind: str, init: Node | None, cond: Node, inc: Node | None, body: Node,
                        parents: list[Node], n: Node) -> Counted | None:
        """``for (it = X.begin(); it != X.end(); ++it)`` (or ``it < X.end()``, or ``end`` a local set to
        ``X.end()`` and never written): at most ``X_size`` iterations, the size of container ``X``, when ``it``
        has that one update, nothing in the body writes ``it`` or changes ``X``; None when the loop is not such
        a walk (it is then read as a counting loop)."""
        if kind != "for" or inc is None:
            return None
        sides = _compared(cond)
        if sides is None:
            return None
        for it_side, end_side in (sides, sides[::-1]):
            var = _local_ref(it_side)
            end_obj = _end_object(end_side)
            if var is None or end_obj is None:
                continue
            begin = _initial_call(init, var)
            if begin is None or _method_object(begin, "begin") is None:
                continue
            obj = _method_object(begin, "begin")
            assert obj is not None
            if obj.tokens() != end_obj.tokens():
                continue
            if not _increments(inc, var):
                return Counted.unbounded("an iterator walk with an unsupported update")
            if any(_writes_itself(w, var) for w in self.values.writes(body).get(decl_key(var), [])):
                return Counted.unbounded("the iterator is written in the body")
            container = names_in(obj)
            if set(self.values.writes(body)) & container or calls_may_write(body, container):
                return Counted.unbounded("the container is changed in the body (data-dependent)")
            size = self.conv.read_from(self.conv.symbol(symbol_name(obj) + "_size", True), root_decl(obj))
            early = bool(exits_of(body) & {"break", "return", "goto"})
            if early:
                return Counted(lm.TripCount(size, lm.UPPER, "an early exit can shorten the loop"), var, None, None,
                               size)
            return Counted(lm.TripCount(size, lm.EXACT), var, None, None, size)
        return None

    def _progress(self, pc: Condition, failed: Counted, kind: str, init: Node | None, cond: Node, inc: Node | None,
                  body: Node, parents: list[Node], n: Node, frames: list[Frame]) -> Counted:
        """The count of a progress loop (:mod:`analyzers.loopprogress`): ``v < b`` (or ``<=``) with ``b`` not written
        in the loop and ``v`` moved up by at least ``up`` on every path back to the head: at most
        ``ceil((b - a) / up)`` iterations from ``v = a`` (status upper); ``failed`` when it is not one."""
        if kind not in ("for", "while") or pc.op not in ("<", "<=") or pc.step is not None or pc.offset is not None \
                or pc.bound is None or decl_key(pc.var) in self.values.writes(cond):
            return failed
        up, why = least_increase(pc.var, body, inc, self.values.constant, self.values.escaping())
        if up < 1:
            return Counted.unbounded(f"{failed.trip.reason}; nor is it proven to go up on every path back to the "
                                     f"loop head: {why}")
        bound_names = names_in(pc.bound)
        written = set(self.values.writes(body)) | (set(self.values.writes(inc)) if inc is not None else set())
        if bound_names & written:
            return Counted.unbounded("the bound is written in the body (data-dependent)")
        if calls_may_write(body, bound_names):
            return Counted.unbounded("a call in the body may change the bound")
        with self.values.at(parents, n, frames):
            a = self.values.initial(init, pc.var, parents, n)
            b = self.conv.expr(pc.bound)
        if a is None:
            return Counted.unbounded("unknown initial value of the loop variable")
        if b is None:
            return Counted.unbounded(f"{pc.var.spelling} goes up on every path back to the loop head, but its limit "
                                     "is data-dependent (not a constant, parameter, member or size)")
        span = b - a + (1 if pc.op == "<=" else 0)
        count = sympy.Max(0, span if up == 1 else sympy.floor((span + up - 1) / up))
        finite = [sym for sym in self._finite_in(count) if sym in self.values.finite]
        if finite:
            combos = list(itertools.islice(itertools.product(*(self.values.finite[s] for s in finite)),
                                           MAX_COMBOS + 1))
            if len(combos) > MAX_COMBOS:
                return Counted.unbounded("too many values of a local the loop depends on")
            counts = {count.xreplace(dict(zip(finite, combo))) for combo in combos}
            count = sympy.Max(*counts) if len(counts) > 1 else counts.pop()
        why = f"{pc.var.spelling} goes up by at least {up} on every path back to the loop head"
        return Counted(lm.TripCount(count, lm.UPPER, why), pc.var, None, None, count)

    def _counting(self, pc: Condition, kind: str, init: Node | None, inc: Node | None, body: Node,
                  parents: list[Node], n: Node, frames: list[Frame]) -> Counted:
        """The count of the loop read as counting ``pc.var``."""
        values = self.values
        body_writes = values.writes(body)
        var_key = decl_key(pc.var)
        steps: list[tuple[str, int]] = []
        step_nodes: list[Node] = []
        if pc.step is not None:
            steps.append(pc.step)
        with values.stepping(parents, n, frames):  # a step amount may be a local defined before the loop
            s = step_of(inc, pc.var, self.conv) if inc is not None else None
            if s is not None:
                steps.append(s)
            elif inc is not None and var_key in values.writes(inc):
                return Counted.unbounded("unsupported update of the loop variable")
            if kind != "for" or not steps or var_key in body_writes:
                for st in body.children() if body.kind == "COMPOUND_STMT" else [body]:
                    s = step_of(st, pc.var, self.conv)
                    if s is not None:
                        steps.append(s)
                        step_nodes.append(st)
        if len(steps) > 1 and pc.step is None:
            steps = _net_step(steps)
        if len(steps) != 1:
            why = "the loop variable is not updated" if not steps else "the loop variable is updated twice"
            return Counted.unbounded(why)
        other = [w for w in body_writes.get(var_key, []) if not any(w == s or w == strip(s) for s in step_nodes)]
        if other:
            return Counted.unbounded("the loop variable is written in the body")
        exits = exits_of(body)
        if step_nodes and "continue" in exits:
            return Counted.unbounded("a continue can skip the loop variable's update")
        if pc.bound is not None:
            bound_names = names_in(pc.bound) | (names_in(pc.offset) if pc.offset is not None else set())
            written = set(body_writes) | (set(values.writes(inc)) if inc is not None else set())
            if bound_names & written:
                return Counted.unbounded("the bound is written in the body (data-dependent)")
            if calls_may_write(body, bound_names):
                return Counted.unbounded("a call in the body may change the bound")
        with values.at(parents, n, frames):
            a = values.initial(init, pc.var, parents, n)
            b = sympy.Integer(0) if pc.bound is None else self.conv.expr(pc.bound)
            if pc.offset is not None and b is not None:
                shift = self.conv.expr(pc.offset)
                # unsigned v - c (or v + e) wraps; v + c with a constant c >= 0 reaches b before it can
                wraps = pc.offset_unsigned and not (pc.offset_sign == 1 and shift is not None and shift.is_number
                                                    and shift >= 0)
                b = None if shift is None or wraps else b - pc.offset_sign * shift
        if a is None:
            return Counted.unbounded("unknown initial value of the loop variable")
        if b is None:
            return Counted.unbounded("data-dependent bound (not a constant, parameter, member or size)")
        step_kind, step = steps[0]
        finite = [sym for sym in self._finite_in(a, b, step) if sym in values.finite]
        if finite:
            return self._enumerated(finite, pc, kind, a, b, step_kind, step, exits, frames)
        got = self._counted(pc, kind, a, b, step_kind, step, exits, frames)
        kids = body.children() if body.kind == "COMPOUND_STMT" else [body]
        if step_nodes and got.range is not None and not (kids and kids[-1] == step_nodes[-1] and len(step_nodes) == 1):
            # inner loops after a mid-body update see the stepped value: no range for them
            got = dataclasses.replace(got, range=None)
        return got

    def _finite_in(self, *exprs: object) -> list[sympy.Symbol]:
        out: set[sympy.Symbol] = set()
        for e in exprs:
            if isinstance(e, Expr):
                out |= {s for s in e.free_symbols if isinstance(s, sympy.Symbol)}
        return sorted(out, key=lambda s: s.name)

    def _enumerated(self, finite: list[sympy.Symbol], pc: Condition, kind: str, a: Expr, b: Expr,
                    step_kind: str, step: object, exits: set[str], frames: list[Frame]) -> Counted:
        """The largest count over every combination of the values of finite-valued locals (status upper)."""
        combos = list(itertools.islice(itertools.product(*(self.values.finite[s] for s in finite)), MAX_COMBOS + 1))
        if len(combos) > MAX_COMBOS:
            return Counted.unbounded("too many values of a local the loop depends on")
        counts: list[Expr] = []
        statuses: set[str] = set()
        for combo in combos:
            env = dict(zip(finite, combo))
            st = step.xreplace(env) if isinstance(step, Expr) else step
            if isinstance(st, Expr) and st.is_number:
                st = normal_step(step_kind, st)
                if st is None:
                    return Counted.unbounded("a local step amount that does not change the variable")
            kd = step_kind
            if isinstance(st, tuple):
                kd, st = st
            got = self._counted(pc, kind, a.xreplace(env), b.xreplace(env), kd, st, exits, frames).trip
            if got.count is None:
                return Counted.unbounded(got.reason)
            counts.append(got.count)
            statuses.add(got.status)
        distinct = set(counts)
        count = counts[0] if len(distinct) == 1 else sympy.Max(*distinct)
        if len(distinct) == 1 and statuses == {lm.EXACT}:
            return Counted(lm.TripCount(count, lm.EXACT), pc.var, None, None, count)
        return Counted(lm.TripCount(count, lm.UPPER, "the largest over the values a local takes"), pc.var, None, None,
                       count)

    def _counted(self, pc: Condition, kind: str, a: Expr, b: Expr, step_kind: str, step: object, exits: set[str],
                 frames: list[Frame]) -> Counted:
        vtype = pc.var.type.canonical.spelling
        early = bool(exits & {"break", "return", "goto"})
        if vtype in FLOAT_WIDTHS:
            if not (isinstance(step, (int, sympy.Rational))):
                return Counted.unbounded("a floating-point counter with a symbolic step")
            fl = lm.float_trip_count(a, pc.op, b, step_kind, sympy.Rational(step), FLOAT_WIDTHS[vtype],
                                     kind == "do" and pc.step is None)
            if fl.count is not None and early:
                fl = lm.TripCount(fl.count, lm.UPPER, "an early exit can shorten the loop")
            return Counted(fl, pc.var, None, None, fl.count)
        unsigned = is_unsigned_type(vtype)
        bound_unsigned = None if pc.bound is None else is_unsigned_type(strip(pc.bound).type.canonical.spelling)
        if isinstance(step, int) or isinstance(step, Expr) and not step.is_number:
            deferred = lm.Deferred(a, pc.op, b, step_kind, sympy.Integer(step) if isinstance(step, int) else step,
                                   vtype, bound_unsigned, kind, pc.step is not None, pc.pre, early,
                                   frozenset(f.symbol.name for f in frames if f.symbol is not None))
        if isinstance(step, Expr) and not step.is_number:
            if pc.step is not None:
                return Counted.unbounded("a symbolic step")
            return Counted(lm.TripCount(None, lm.UNBOUNDED, "a symbolic step (bounded where the whole program fixes it)",
                                        deferred=deferred))
        if not isinstance(step, int):
            return Counted.unbounded("a non-integer step")
        result = count_loop(a, b, pc.op, step_kind, step, vtype, bound_unsigned, kind, pc.step is not None, pc.pre,
                            early)
        if result.count is None:
            if (a.free_symbols or b.free_symbols) and not result.reason.startswith("time cap"):
                result = lm.TripCount(None, lm.UNBOUNDED, result.reason, deferred=deferred)
            return Counted(result)
        sym = self.conv.symbol(pc.var.spelling, unsigned)
        rng = None
        if step_kind in ("+", "-") and kind != "do" and pc.step is None:
            delta = step if step_kind == "+" else -step
            rng = lm.Range(sym, a, delta, result.count)
        return Counted(result, pc.var, sym, rng, result.count)
