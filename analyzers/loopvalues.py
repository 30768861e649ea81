"""Value tracking for loop counts: what a local holds where a loop starts.

What it decides, for one function: the value of a local variable at a point of
its body, as a sympy expression, or None when it is not known.  Its initial
value in a loop comes from the ``for`` initializer or the straight-line code
before the loop (the last statement writing it in an enclosing block, with no
enclosing loop writing it; an exact counting loop there leaves
``first + step * count``).  A local whose every write in the function stores a
constant, and ``c ? a : b``, stand for a few values: a symbol whose values
:class:`analyzers.loopcount.LoopCounter` tries in turn (the count is then the
largest over them).  A step amount written inside the loop it steps is not
invariant: unknown.

The converter (:class:`analyzers.loopexpr.Converter`) calls :meth:`LocalValues.resolve`
and :meth:`LocalValues.choose` back for the locals and conditionals it meets;
where it is evaluating is the innermost of the contexts opened with
:meth:`LocalValues.at` (the enclosing statements, the statement, the enclosing loops).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sympy
from sympy import Expr

from analyzers import loopmath as lm
from analyzers.frontend import Node
from analyzers.loopexpr import Converter, is_unsigned_type, strip
from analyzers.loopsyntax import LOOP_KINDS, decl_key, declares, names_in, var_ref, writes

_WRITERS = frozenset(("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR", "UNARY_OPERATOR", "CALL_EXPR"))
MAX_LOCAL_VALUES = 8  # a local with more distinct constant values is left unknown


@dataclass
class Frame:
    """An enclosing loop while its body is walked: its node, the variable it counts, that variable's symbol
    and range (an additive counting loop), and whether its count is exact."""

    node: Node
    var: Node | None
    symbol: sympy.Symbol | None
    range: lm.Range | None
    exact: bool = False


class LocalValues:
    """The values of one function's locals where its loops start."""

    def __init__(self, fn: Node, conv: Converter) -> None:
        self.fn = fn
        self.conv = conv
        self.finite: dict[sympy.Symbol, list[Expr]] = {}  # finite-valued local (or choice) -> its values
        self.exit_values: dict[tuple[int, int], tuple[str, Expr]] = {}  # loop -> (variable, value after it)
        self._invariant_in: Node | None = None
        self._writes: dict[Node, dict[str, list[Node]]] = {}
        self._ctx: list[tuple[list[Node], Node, list[Frame]]] = []
        self._finite_of: dict[str, Expr | None] = {}
        self._choices: dict[tuple[Expr, ...], sympy.Symbol] = {}
        self._bare_refs: dict[str, list[Node]] | None = None  # local -> operators it is a bare operand of (C)

    def writes(self, n: Node) -> dict[str, list[Node]]:
        """:func:`analyzers.loopsyntax.writes`, memoized per node for this function."""
        if n not in self._writes:
            self._writes[n] = writes(n)
        return self._writes[n]

    @contextmanager
    def at(self, parents: list[Node], stmt: Node, frames: list[Frame]) -> Iterator[None]:
        """Expressions converted inside are read at ``stmt`` (under ``parents``, in the loops ``frames``)."""
        self._ctx.append((parents, stmt, frames))
        try:
            yield
        finally:
            self._ctx.pop()

    @contextmanager
    def stepping(self, parents: list[Node], loop: Node, frames: list[Frame]) -> Iterator[None]:
        """Like :meth:`at` the loop, for its step amounts: a local written inside ``loop`` is not invariant."""
        self._ctx.append((parents, loop, frames))
        self._invariant_in = loop
        try:
            yield
        finally:
            self._ctx.pop()
            self._invariant_in = None

    def initial(self, init: Node | None, var: Node, parents: list[Node], loop: Node) -> Expr | None:
        """The value of the loop variable ``var`` when ``loop`` starts: its ``for`` initializer, else :meth:`resolve`."""
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

    def _straight_line(self, d: Node, key: str, parents: list[Node], stmt: Node, frames: list[Frame]
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
                        after = self.exit_values.get((sib.line, sib.column))
                        return after[1] if after is not None and after[0] == key else None
                    value = self._definition(sib, d)
                    if value is None:
                        return None
                    frames_here = [f for f in frames if any(f.node == p for p in parents[:i + 1])]
                    with self.at(parents[:i + 1], sib, frames_here):
                        return self.conv.expr(value)
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
        :class:`analyzers.loopcount.LoopCounter` tries in turn.
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
            v = self.constant(kids[-1])
            if v is None:
                return None
            values.append(v)
        elif d.storage() == "STATIC":
            values.append(sympy.Integer(0))
        for w in self._writes_of(body, d, key):
            if not (w.kind == "BINARY_OPERATOR" and w.operator() == "=" and len(w.children()) == 2
                    and var_ref(w.children()[0]) == d):
                return None
            v = self.constant(w.children()[1])
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
        self.finite[sym] = distinct
        self._finite_of[key] = sym
        return sym

    def choose(self, values: list[Expr]) -> Expr | None:
        """A symbol for ``c ? a : b`` that the loop counter replaces by each value in turn.

        Only inside a loop's own analysis (a call argument or a global's value gets no choice).
        """
        if not self._ctx or any(v.free_symbols & set(self.finite) for v in values):
            return None
        key = tuple(values)
        if key not in self._choices:
            sym = sympy.Symbol(f"choice__{len(self._choices)}", integer=True)
            self._choices[key] = sym
            self.finite[sym] = list(values)
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

    def constant(self, n: Node) -> Expr | None:
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
