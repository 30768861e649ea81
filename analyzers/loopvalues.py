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
from analyzers.loopprogress import escaping
from analyzers.loopsyntax import LOOP_KINDS, calls_may_write, conjuncts, decl_key, declares, names_in, var_ref, writes

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
        self._escaping: set[str] | None = None

    def escaping(self) -> set[str]:
        """The locals of the function whose writes may happen out of sight (:func:`analyzers.loopprogress.escaping`)."""
        if self._escaping is None:
            body = next((c for c in self.fn.children() if c.kind == "COMPOUND_STMT"), None)
            self._escaping = escaping(body) if body is not None else set()
        return self._escaping

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

        The last straight-line definition before the loop (or, after an ``if`` that assigns it, one of the
        values it may hold, :meth:`_branch_values`); failing that, for an integer local whose every write is a
        constant, one of those constants (:meth:`_finite_local`).  None for a local whose address is taken, that
        a reference is bound to or that a lambda names (:meth:`escaping`): writes through those are not seen.
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
        if d.kind == "VAR_DECL" and key in self.escaping():
            return None  # written through a pointer, a reference or a lambda: writes we would not see
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
                    frames_here = [f for f in frames if any(f.node == p for p in parents[:i + 1])]
                    if value is None:
                        return self._branch_values(d, key, sib, parents[:i + 1], frames_here)
                    with self.at(parents[:i + 1], sib, frames_here):
                        return self.conv.expr(value)
            child = anc
        if d.kind == "PARM_DECL":
            return self.conv.symbol(d.spelling, is_unsigned_type(d.type.canonical.spelling))
        return None

    def _branch_values(self, d: Node, key: str, stmt: Node, parents: list[Node], frames: list[Frame]) -> Expr | None:
        """The values local ``d`` may hold after ``stmt``, an ``if`` that assigns it: its value before, or one
        assigned inside (a symbol standing for each, as :meth:`choose`; the loop counter takes the largest).

        A value assigned inside is a constant, a plain variable or member, or what :meth:`_guarded_difference`
        reads.  Every write of ``d`` in ``stmt`` must be ``d = e`` with ``e`` free of writes and calls, not naming ``d`` nor a
        local ``stmt`` writes (so ``e`` has its value at the ``if``), and ``d`` must not escape (its address, a
        reference, a lambda)."""
        if stmt.kind != "IF_STMT" or key in self.escaping() or not self._ctx:
            return None
        written = self.writes(stmt)
        values: list[Expr] = []
        for w in written.get(key, []):
            if not (w.kind == "BINARY_OPERATOR" and w.operator() == "=" and len(w.children()) == 2
                    and var_ref(w.children()[0]) == d):
                return None
            rhs = w.children()[1]
            named = names_in(rhs)
            if key in named or self.writes(rhs) or _has_call(rhs) \
                    or {k for k in named if not k.startswith("m:")} & set(written):
                return None
            with self.at(parents, stmt, frames):
                v = self._guarded_difference(rhs, stmt, w)
                if v is None:
                    v = self.conv.expr(rhs)
                    # only a constant or a plain variable or member: C arithmetic (an unsigned difference) is no sum
                    if v is not None and not (v.is_number or v.is_Symbol and v not in self.finite):
                        return None
            if v is None:
                return None
            values.extend(self._flat(v))
        before = self._straight_line(d, key, parents, stmt, frames)
        if before is None:
            return None
        values.extend(self._flat(before))
        if any(v.free_symbols & set(self.finite) for v in values):
            return None
        distinct = sorted(set(values), key=sympy.default_sort_key)
        if len(distinct) == 1:
            return distinct[0]
        return self.choose(distinct) if len(distinct) <= MAX_LOCAL_VALUES else None

    def _flat(self, v: Expr) -> list[Expr]:
        """A value, or the values a choice symbol stands for."""
        return list(self.finite[v]) if isinstance(v, sympy.Symbol) and v in self.finite else [v]

    def _guarded_difference(self, rhs: Node, stmt: Node, assign: Node) -> Expr | None:
        """``A > B ? c : B - A`` (also ``>=``, and ``B < A``, ``B <= A``) as at most ``B``: in the else arm A <= B, so
        B - A lies in [0, B] (any integer conversion of it on assignment keeps it at most B, or negative).

        The comparison and the subtraction must be made in one type T, A and B being plain variables or members
        of ``this``.  T signed: A's own type must be unsigned (A >= 0).  T unsigned: (T)A >= 0 always, and B must
        keep its value in T: B's type is unsigned, or signed with a conjunct ``B >= 0`` (``B > c``, c >= -1) in the
        condition of the ``if`` that holds the assignment in its then-branch, with nothing in that ``if``
        writing B; and B's type no wider than T.  The value is ``c`` or ``B``, as the loop counter tries each."""
        c = strip(rhs)
        kids = c.children()
        if c.kind != "CONDITIONAL_OPERATOR" or len(kids) != 3:
            return None
        cond, then, other = strip(kids[0]), kids[1], strip(kids[2])
        low = self.constant(then)
        if low is None or cond.kind != "BINARY_OPERATOR" or cond.operator() not in (">", ">=", "<", "<=") \
                or other.kind != "BINARY_OPERATOR" or other.operator() != "-":
            return None
        ca, cb = cond.children()
        if cond.operator() in ("<", "<="):
            ca, cb = cb, ca
        sb, sa = other.children()
        key_a, key_b = _plain_key(ca), _plain_key(cb)
        if key_a is None or key_b is None or key_a != _plain_key(sa) or key_b != _plain_key(sb) or key_a == key_b:
            return None
        t = cond.children()[0].type.canonical
        if t.spelling != other.type.canonical.spelling or not t.is_integer():
            return None
        a_type, b_type = strip(ca).type.canonical, strip(cb).type.canonical
        if not is_unsigned_type(t.spelling):
            if not is_unsigned_type(a_type.spelling):
                return None
        else:
            if (b_type.size() or 99) > (t.size() or 0):
                return None
            if not is_unsigned_type(b_type.spelling) and not _guarded_nonnegative(stmt, assign, cb, key_b, self):
                return None
        b = self.conv.expr(strip(cb))
        if b is None:
            return None
        return self.choose([low, b]) if low != b else low

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


def _has_call(n: Node) -> bool:
    stack = [n]
    while stack:
        c = stack.pop()
        if c.kind == "CALL_EXPR":
            return True
        stack.extend(c.children())
    return False


def _plain_key(n: Node) -> str | None:
    """A key for a plain variable or a member of ``this`` (under casts), else None."""
    s = strip(n)
    if s.kind == "DECL_REF_EXPR" and s.referenced is not None and s.referenced.kind in ("VAR_DECL", "PARM_DECL"):
        return decl_key(s.referenced)
    if s.kind == "MEMBER_REF_EXPR" and s.referenced is not None and s.referenced.kind == "FIELD_DECL":
        base = s.children()
        if not base or strip(base[0]).kind == "CXX_THIS_EXPR":
            return "m:" + s.referenced.usr
    return None


def _guarded_nonnegative(stmt: Node, assign: Node, b: Node, key_b: str, values: LocalValues) -> bool:
    """Whether ``assign`` sits in the then-branch of ``if`` ``stmt`` whose condition has a conjunct ``B >= 0``
    (``B > c`` with c >= -1, or mirrored), and nothing in ``stmt`` writes B (no write to it, no call that may)."""
    kids = stmt.children()
    if len(kids) not in (2, 3) or not _within(kids[1], assign):
        return False
    names = names_in(b)
    if names & set(values.writes(stmt)) or calls_may_write(stmt, names) or _has_call(kids[0]):
        return False
    for part in conjuncts(kids[0]):
        if part.kind != "BINARY_OPERATOR" or len(part.children()) != 2:
            continue
        left, right = part.children()
        op = part.operator()
        for x, y, o in ((left, right, op), (right, left, {"<": ">", "<=": ">="}.get(op, ""))):
            if _plain_key(x) != key_b:
                continue
            k = values.constant(y)
            if k is not None and (o == ">=" and k >= 0 or o == ">" and k >= -1):
                return True
    return False


def _within(outer: Node, inner: Node) -> bool:
    stack = [outer]
    while stack:
        c = stack.pop()
        if c == inner:
            return True
        stack.extend(c.children())
    return False
