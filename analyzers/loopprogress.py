"""Progress loops: a variable that every path back to the loop head moves up, below a limit the loop never writes.

What it decides: whether ``for (v = a; v < b; )`` (also ``v <= b``, a ``while``, a ``for`` whose
increment is ``v++``/``v += c``) runs at most ``Max(0, b - a)`` times (``b - a + 1`` for ``<=``)
because on EVERY path from the loop head back to it (the end of the body, each ``continue``)
``v`` has gone up by at least 1 and never down.  Paths that leave the loop (``break``,
``return``, ``goto``: no label may sit in the body, so a ``goto`` in it leaves it) do not
count.  :mod:`analyzers.loopcount` asks for this only when the loop is not a plain counting loop.

How: one walk of the body's statements, carrying an abstract state -- the least amount
``v`` has gone up by since the head, and a range per local (lowest and highest value; by
default its type's range) -- split at ``if``/``else`` with what each branch's condition
proves, and joined after it (least amount, widest ranges).  An increase is ``v++``, ``++v``,
``v += c`` (``c`` a constant from 1 to :data:`SMALL`) or ``v += x`` with ``x`` a local whose
range on that path lies in 1 .. :data:`SMALL`.  The conditions read: ``x < K``, ``x <= K``,
``x > K``, ``x >= K``, ``x == K``, ``x != K``, ``x``, ``!c``, the disjuncts of a false
``||`` and the conjuncts of a true ``&&``; a comparison made in unsigned arithmetic says
nothing about a signed ``x``.  A definition ``int x = e`` gives ``x`` the range of ``e``'s
type before conversion (``oa[i]`` of ``const uint8_t``: 0 .. 255) when it fits.  Any other
write of ``x`` widens it back to its type's range.

Fail-closed: ``v`` must be a signed ``int``, ``long`` or ``long long`` local (a wrap
of an unsigned one would restart the walk); neither ``v`` nor an ``x`` may have its
address taken, be bound to a reference, be passed by non-``const`` reference or be
named in a lambda (a write we would not see); any other write of ``v`` (``v--``,
``v = ...``, an update inside a condition, a nested loop or a ``switch``), a ``continue``
inside a ``switch``, a label in the body, or a statement kind not listed above that can
``continue`` or ``break`` the loop: no bound.  The increases are at most :data:`SMALL`, so
``v`` cannot wrap while it is below a limit that is itself at most the type's maximum less
a few :data:`SMALL` steps (signed overflow is taken as absent, as for every counting loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sympy import Expr

from analyzers.frontend import Node
from analyzers.loopexpr import is_unsigned_type, strip
from analyzers.loopsyntax import LOOP_KINDS, decl_key, exits_of, names_in, writes

SMALL = 65535  # the largest increase of the variable per step that is accepted (no wrap below its limit)
PROGRESS_TYPES = frozenset(("int", "long", "long long"))
_BARE = frozenset(("PAREN_EXPR", "UNEXPOSED_EXPR"))  # implicit conversions and parentheses, not casts
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_RANGES = {"bool": (0, 1), "_Bool": (0, 1), "unsigned char": (0, 255), "signed char": (-128, 127),
           "char": (-128, 127), "unsigned short": (0, 65535), "short": (-32768, 32767),
           "unsigned int": (0, 2 ** 32 - 1), "int": (-2 ** 31, 2 ** 31 - 1),
           "unsigned long": (0, 2 ** 64 - 1), "long": (-2 ** 63, 2 ** 63 - 1),
           "unsigned long long": (0, 2 ** 64 - 1), "long long": (-2 ** 63, 2 ** 63 - 1)}

Span = tuple[int, int]
Constant = Callable[[Node], Expr | None]


class _Refused(Exception):
    """The walk met something it does not prove: the message says what."""


def bare(n: Node) -> Node:
    """``n`` under parentheses and implicit conversions (explicit casts are kept: they can change the value)."""
    return strip(n, _BARE)


def type_range(spelling: str) -> Span | None:
    """The values an integer type holds (LP64), or None when it is not a basic integer type."""
    s = spelling.replace("const ", "").replace("volatile ", "").strip()
    return _RANGES.get(s)


def local_of(n: Node) -> Node | None:
    """The local variable or parameter ``n`` reads (under parentheses and implicit conversions)."""
    b = bare(n)
    if b.kind != "DECL_REF_EXPR" or b.referenced is None:
        return None
    d = b.referenced
    if d.kind == "PARM_DECL" or d.kind == "VAR_DECL" and d.storage() not in ("STATIC", "EXTERN") \
            and d.semantic_parent is not None and d.semantic_parent.kind in (
                "FUNCTION_DECL", "CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE"):
        return d if d.type.is_integer() and not d.type.is_reference() else None
    return None


def escaping(fn_body: Node) -> set[str]:
    """Keys of the locals of a function whose writes may not be seen where they happen: their address is taken,
    a reference is bound to them, they are passed by non-``const`` reference or a lambda names them."""
    out: set[str] = set()
    for key, nodes in writes(fn_body).items():
        if any(w.kind == "CALL_EXPR" or w.kind == "UNARY_OPERATOR" and w.operator() == "&" for w in nodes):
            out.add(key)
    stack = [fn_body]
    while stack:
        c = stack.pop()
        if c.kind == "LAMBDA_EXPR":
            out |= names_in(c)
            continue
        if c.kind == "VAR_DECL" and c.type.is_reference():
            out |= names_in(c)
        stack.extend(c.children())
    return out


@dataclass
class _State:
    """What holds on one path from the loop head: the least increase of the variable, and local ranges."""

    up: int = 0
    spans: dict[str, Span] = field(default_factory=dict)

    def copy(self) -> _State:
        return _State(self.up, dict(self.spans))


def _join(a: _State | None, b: _State | None) -> _State | None:
    if a is None or b is None:
        return b if a is None else a
    spans = {k: (min(a.spans[k][0], b.spans[k][0]), max(a.spans[k][1], b.spans[k][1]))
             for k in a.spans.keys() & b.spans.keys()}
    return _State(min(a.up, b.up), spans)


class ProgressWalk:
    """Whether every path through one loop body back to its head moves ``var`` up by at least 1."""

    def __init__(self, var: Node, constant: Constant, escaped: set[str]) -> None:
        self.var = var
        self.key = decl_key(var)
        self.constant = constant  # an integer constant's value, read with no local context
        self.escaped = escaped
        self.back: list[_State] = []

    def least_increase(self, body: Node, inc: Node | None) -> int:
        """The least increase of the variable over every path back to the head; raises :class:`_Refused`."""
        if self.var.type.canonical.spelling not in PROGRESS_TYPES:
            raise _Refused("the loop variable is not a signed int or long")
        if self.key in self.escaped:
            raise _Refused("the loop variable's address is taken (or a reference or lambda reaches it)")
        for c in _nodes(body):
            if c.kind in ("LABEL_STMT", "INDIRECT_GOTO_STMT"):
                raise _Refused("a label in the loop body (a goto may enter the loop there)")
        end = self.run(body, _State())
        if end is not None:
            self.back.append(end)
        step = 0
        if inc is not None:
            got = self._increment(inc, _State())
            if got is None:
                if self.key in writes(inc):
                    raise _Refused("unsupported update of the loop variable")
                step = 0
            else:
                step = got
        if not self.back:
            return 1  # no path goes back: the body runs at most once
        return min(s.up for s in self.back) + step

    # ---- statements ---------------------------------------------------------------------------
    def run(self, n: Node, st: _State) -> _State | None:
        """The state after ``n`` on the paths that go on past it (None: none does)."""
        k = n.kind
        if k == "COMPOUND_STMT":
            cur: _State | None = st
            for c in n.children():
                if cur is None:
                    break  # unreachable: no label can lead here
                cur = self.run(c, cur)
            return cur
        if k == "IF_STMT":
            kids = n.children()
            if len(kids) not in (2, 3) or kids[0].kind in ("DECL_STMT", "VAR_DECL"):
                raise _Refused("an if with a declaration in its condition")
            cond = kids[0]
            if self.key in writes(cond):
                raise _Refused("the loop variable is updated inside a condition")
            # what the condition writes keeps no range from it: ``(x = f()) < 2 || (x = 0)``
            yes_in = self._kill(self._refine(self._kill(st, cond).copy(), cond, True), cond)
            no_in = self._kill(self._refine(self._kill(st, cond).copy(), cond, False), cond)
            yes = self.run(kids[1], yes_in)
            no = self.run(kids[2], no_in) if len(kids) == 3 else no_in
            return _join(yes, no)
        if k == "CONTINUE_STMT":
            self.back.append(st)
            return None
        if k in ("BREAK_STMT", "RETURN_STMT", "GOTO_STMT"):
            if k == "RETURN_STMT" and self.key in writes(n):
                raise _Refused("the loop variable is written in a return statement")
            return None  # leaves the loop
        if k == "NULL_STMT":
            return st
        if k == "DECL_STMT":
            if self.key in writes(n):
                raise _Refused("the loop variable is written in a declaration")
            st = self._kill(st, n)
            for d in n.children():
                if d.kind == "VAR_DECL":
                    self._define(st, d, _initializer(d))
            return st
        if k in LOOP_KINDS or k == "CXX_FOR_RANGE_STMT" or k == "SWITCH_STMT" or not _is_expression(n):
            return self._opaque(n, st)
        got = self._increment(n, st)
        if got is not None:
            st.up += got
            return st
        if self.key in writes(n):
            raise _Refused("the loop variable is changed by something other than an increase")
        out = self._kill(st, n)
        assign = bare(n)
        if assign.kind == "BINARY_OPERATOR" and assign.operator() == "=" and len(assign.children()) == 2:
            target = local_of(assign.children()[0])
            if target is not None and decl_key(target) not in writes(assign.children()[1]):
                self._define(out, target, assign.children()[1])
        return out

    def _opaque(self, n: Node, st: _State) -> _State:
        """A nested loop, a switch or another statement: it must not write the variable or continue or break this
        loop; what it writes loses its range."""
        if self.key in writes(n):
            raise _Refused(f"the loop variable is written inside a nested {n.kind.lower().replace('_stmt', '')}")
        leaves = exits_of(n)
        if "continue" in leaves or "break" in leaves and n.kind not in LOOP_KINDS and n.kind != "SWITCH_STMT":
            raise _Refused("a continue or break the progress walk does not follow")
        return self._kill(st, n)

    def _kill(self, st: _State, n: Node) -> _State:
        written = writes(n)
        if written:
            st = _State(st.up, {k: v for k, v in st.spans.items() if k not in written})
        return st

    # ---- values -------------------------------------------------------------------------------
    def _define(self, st: _State, d: Node, value: Node | None) -> None:
        """``d`` now holds ``value``: the range of ``value``'s type before conversion, when ``d``'s type holds it."""
        key = decl_key(d)
        st.spans.pop(key, None)
        own = type_range(d.type.canonical.spelling)
        if value is None or own is None:
            return
        c = self._constant(value)
        src: Span | None = (c, c) if c is not None else type_range(bare(value).type.canonical.spelling)
        if src is not None and own[0] <= src[0] and src[1] <= own[1]:
            st.spans[key] = src

    def _span(self, st: _State, d: Node) -> Span | None:
        return st.spans.get(decl_key(d)) or type_range(d.type.canonical.spelling)

    def _constant(self, n: Node) -> int | None:
        v = self.constant(n)
        return int(v) if v is not None and v.is_number and v.is_integer else None

    def _increment(self, n: Node, st: _State) -> int | None:
        """The least amount ``n`` adds to the variable when it is an increase of it, else None."""
        s = bare(n)
        kids = s.children()
        if s.kind == "UNARY_OPERATOR" and s.operator() == "++" and kids and local_of(kids[0]) == self.var:
            return 1
        if s.kind != "COMPOUND_ASSIGNMENT_OPERATOR" or s.operator() != "+=" or len(kids) != 2 \
                or local_of(kids[0]) != self.var:
            return None
        amount = kids[1]
        if self.key in names_in(amount) or writes(amount):
            raise _Refused("the increase reads or writes the loop variable")
        c = self._constant(amount)
        if c is not None:
            if 1 <= c <= SMALL:
                return c
            raise _Refused(f"an increase by {c}")
        x = local_of(amount)
        if x is None:
            raise _Refused("an increase by an amount that is not a constant or a local")
        if decl_key(x) in self.escaped:
            raise _Refused(f"the address of the increase amount {x.spelling} is taken")
        span = self._span(st, x)
        if span is None or span[0] < 1:
            raise _Refused(f"an increase by {x.spelling}, not proven at least 1 on every path")
        if span[1] > SMALL:
            raise _Refused(f"an increase by {x.spelling}, not proven at most {SMALL}")
        return span[0]

    # ---- conditions ---------------------------------------------------------------------------
    def _refine(self, st: _State, cond: Node, truth: bool) -> _State:
        """``st`` narrowed by what ``cond`` being ``truth`` proves of locals' ranges."""
        c = bare(cond)
        kids = c.children()
        if c.kind == "UNARY_OPERATOR" and c.operator() == "!" and kids:
            return self._refine(st, kids[0], not truth)
        if c.kind == "BINARY_OPERATOR" and len(kids) == 2:
            op = c.operator()
            if op == "||" and not truth or op == "&&" and truth:
                return self._refine(self._refine(st, kids[0], truth), kids[1], truth)
            if op in _NEGATE:
                return self._compare(st, kids[0], op if truth else _NEGATE[op], kids[1])
            return st
        if truth and local_of(c) is not None:
            return self._compare(st, c, "!=", None)
        return st

    def _compare(self, st: _State, left: Node, op: str, right: Node | None) -> _State:
        for side, other, o in ((left, right, op), (right, left, _MIRROR[op])):
            if side is None:
                continue
            x = local_of(side)
            k = 0 if other is None else self._constant(other)
            if x is None or k is None:
                continue
            if not is_unsigned_type(x.type.canonical.spelling) and is_unsigned_type(side.type.canonical.spelling):
                continue  # compared as unsigned: a negative x passes for a large one
            span = self._span(st, x)
            if span is None:
                continue
            lo, hi = span
            if o == ">=":
                lo = max(lo, k)
            elif o == ">":
                lo = max(lo, k + 1)
            elif o == "<=":
                hi = min(hi, k)
            elif o == "<":
                hi = min(hi, k - 1)
            elif o == "==":
                lo, hi = max(lo, k), min(hi, k)
            elif o == "!=":
                lo = lo + 1 if lo == k else lo
                hi = hi - 1 if hi == k else hi
            st.spans[decl_key(x)] = (lo, hi)
        return st


def _nodes(n: Node) -> list[Node]:
    out, stack = [], [n]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.children())
    return out


def _is_expression(n: Node) -> bool:
    return n.kind.endswith("_EXPR") or n.kind.endswith("_OPERATOR")


def _initializer(d: Node) -> Node | None:
    kids = [k for k in d.children() if k.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF")
            and not k.kind.endswith("_ATTR")]
    return kids[-1] if kids and kids[-1].kind != "INIT_LIST_EXPR" else None


def least_increase(var: Node, body: Node, inc: Node | None, constant: Constant, escaped: set[str]
                   ) -> tuple[int, str]:
    """(the least increase of ``var`` over every path back to the loop head, '') or (0, why not)."""
    try:
        up = ProgressWalk(var, constant, escaped).least_increase(body, inc)
    except _Refused as e:
        return 0, str(e)
    if up < 1:
        return 0, "a path back to the loop head (a continue, or the end of the body) may not move it up"
    return up, ""
