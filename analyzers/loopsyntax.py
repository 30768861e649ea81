"""The syntax of loops: parts of a statement, counting conditions, steps, and what a subtree writes.

What it decides, from the :class:`analyzers.frontend.Node` view only: which
variable a condition counts (``v < b``, ``b >= v``, ``v``, ``v--``, ``--v``,
``v + c < b``, the conjuncts of ``&&`` and of ``&`` between comparisons), which
step a statement applies to it (``v++``, ``v += c``, ``v = v * c``, ``v >>= c``,
``v += level`` with a symbolic amount), what a subtree writes (assignments, ``++``/``--``,
``&v``, non-const reference arguments, non-const method calls on an object),
how a loop body can be left early, and the C conversion hazards of a
comparison (narrow counters that wrap, negative signed bounds compared with
unsigned counters).  :mod:`analyzers.loopcount` turns these into counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr

from analyzers.frontend import Node
from analyzers.loopexpr import Converter, is_unsigned_type, strip, symbol_name

LOOP_KINDS = {"FOR_STMT": "for", "WHILE_STMT": "while", "DO_STMT": "do"}
FLOAT_WIDTHS = {"float": 32, "double": 64}
_COMPARE = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "!=": "!="}
_STEP_OPS = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "<<=": "<<", ">>=": ">>"}


def decl_key(d: Node) -> str:
    return f"{d.file}:{d.line}:{d.column}:{d.spelling}"


def _target_keys(t: Node) -> set[str]:
    """Keys of what writing through expression ``t`` changes: the variable, member name and base root."""
    t = strip(t)
    out: set[str] = set()
    if t.kind == "DECL_REF_EXPR" and t.referenced is not None:
        out.add(decl_key(t.referenced))
    elif t.kind == "MEMBER_REF_EXPR":
        out.add("m:" + symbol_name(t))
        kids = t.children()
        if kids:
            out |= _target_keys(kids[0])
    elif t.kind == "ARRAY_SUBSCRIPT_EXPR":
        kids = t.children()
        if kids:
            out |= _target_keys(kids[0])
    elif t.kind == "UNARY_OPERATOR" and t.operator() == "*":
        kids = t.children()
        if kids:
            out |= _target_keys(kids[0])
    return out


def writes(n: Node) -> dict[str, list[Node]]:
    """Every write under ``n``: key of the written thing -> the writing nodes."""
    out: dict[str, list[Node]] = {}

    def add(keys: set[str], w: Node) -> None:
        for k in keys:
            out.setdefault(k, []).append(w)

    stack = [n]
    while stack:
        c = stack.pop()
        k = c.kind
        if k == "UNARY_OPERATOR" and c.operator() in ("++", "--", "&"):
            kids = c.children()
            if kids:
                add(_target_keys(kids[0]), c)
        elif k == "COMPOUND_ASSIGNMENT_OPERATOR" or (k == "BINARY_OPERATOR" and c.operator() == "="):
            kids = c.children()
            if kids:
                add(_target_keys(kids[0]), c)
        elif k == "CALL_EXPR":
            callee = c.referenced
            kids = c.children()
            if callee is not None and callee.kind == "CXX_METHOD" and not callee.is_const_method() and kids:
                m = strip(kids[0])
                if m.kind == "MEMBER_REF_EXPR" and m.children():
                    add(_target_keys(m.children()[0]), c)
            params = [p for p in callee.children() if p.kind == "PARM_DECL"] if callee is not None else []
            args = [a for a in kids if a.kind not in ("MEMBER_REF_EXPR",)]
            args = args[1:] if args and strip(args[0]).kind in ("DECL_REF_EXPR",) and \
                strip(args[0]).referenced == callee else args
            for p, a in zip(params, args):
                if p.type.is_reference() and not p.type.canonical.spelling.startswith("const "):
                    add(_target_keys(a), c)
            if callee is None:  # an unresolved call may write anything passed by reference: its arguments
                for a in args[1:] if args else []:
                    if strip(a).kind == "UNARY_OPERATOR" and strip(a).operator() == "&":
                        add(_target_keys(strip(a).children()[0]), c)
        stack.extend(c.children())
    return out


def exits_of(body: Node) -> set[str]:
    """Which of break, return, goto, continue can leave (or skip the rest of) this loop's body."""
    found: set[str] = set()

    def go(n: Node, in_loop: bool, in_switch: bool) -> None:
        k = n.kind
        if k == "BREAK_STMT" and not in_loop and not in_switch:
            found.add("break")
        elif k == "CONTINUE_STMT" and not in_loop:
            found.add("continue")
        elif k == "RETURN_STMT":
            found.add("return")
        elif k == "GOTO_STMT":
            found.add("goto")
        for c in n.children():
            go(c, in_loop or c.kind in LOOP_KINDS, in_switch or c.kind == "SWITCH_STMT")

    go(body, False, False)
    return found


def for_parts(n: Node) -> tuple[Node | None, Node | None, Node | None, Node | None]:
    """(init, condition, increment, body) of a for statement; absent parts are None.

    libclang omits absent parts from the children, so which are present is read from the
    three ';'-separated token groups inside the parentheses.
    """
    toks = n.tokens()
    present = [False, False, False]
    depth, part = 0, 0
    for t in toks[2:]:
        if t in ("(", "[", "{"):
            depth += 1
        elif t in (")", "]", "}"):
            if depth == 0:
                break
            depth -= 1
        elif t == ";" and depth == 0:
            part += 1
            continue
        if part < 3:
            present[part] = True
    kids = n.children()
    if not kids:
        return None, None, None, None
    body = kids[-1]
    rest = iter(kids[:-1])
    got = [next(rest, None) if p else None for p in present]
    return got[0], got[1], got[2], body


@dataclass
class Condition:
    var: Node  # the variable's declaration
    op: str
    bound: Node | None  # None: compared with 0
    step: tuple[str, int] | None = None  # an update inside the condition
    pre: bool = False  # the update happens before the test (--v)
    offset: Node | None = None  # the compared side is ``v + offset`` (``v - offset`` with sign -1)
    offset_sign: int = 1
    offset_unsigned: bool = False  # v + offset is computed in unsigned arithmetic (may wrap)


def var_ref(n: Node) -> Node | None:
    n = strip(n)
    if n.kind == "DECL_REF_EXPR" and n.referenced is not None and n.referenced.kind in ("VAR_DECL", "PARM_DECL") \
            and (n.type.is_integer() or n.type.canonical.spelling in FLOAT_WIDTHS):
        return n.referenced
    return None


def parse_condition(c: Node) -> list[Condition]:
    """The readings of ``c`` as a counting condition (``a < b`` gives one per variable side)."""
    c = strip(c)
    if c.kind == "BINARY_OPERATOR" and c.operator() in _COMPARE:
        kids = c.children()
        if len(kids) != 2:
            return []
        out = []
        left, right = var_ref(kids[0]), var_ref(kids[1])
        if left is not None:
            out.append(Condition(left, c.operator(), kids[1]))
        if right is not None:
            out.append(Condition(right, _COMPARE[c.operator()], kids[0]))
        inc = _update_in(kids[0])
        if inc is not None:
            var, step, pre = inc
            out.append(Condition(var, c.operator(), kids[1], step, pre))
        # v + c < b reads as v < b - c
        for side, other, op in ((kids[0], kids[1], c.operator()), (kids[1], kids[0], _COMPARE[c.operator()])):
            shifted = _offset_of(side)
            if shifted is not None:
                out.append(Condition(shifted[0], op, other, offset=shifted[1], offset_sign=shifted[2],
                                     offset_unsigned=shifted[3]))
        return out
    if c.kind == "UNARY_OPERATOR":
        inc = _update_in(c)
        return [Condition(inc[0], "!=", None, inc[1], inc[2])] if inc is not None else []
    v = var_ref(c)
    return [Condition(v, "!=", None)] if v is not None else []


def _offset_of(n: Node) -> tuple[Node, Node, int, bool] | None:
    """``v + e``, ``e + v`` or ``v - e`` where ``e`` does not mention ``v``: (v, e, sign, unsigned)."""
    n = strip(n)
    if n.kind != "BINARY_OPERATOR" or n.operator() not in ("+", "-"):
        return None
    kids = n.children()
    if len(kids) != 2:
        return None
    sign = 1 if n.operator() == "+" else -1
    for v_side, e_side in ((kids[0], kids[1]), (kids[1], kids[0]) if sign == 1 else (None, None)):
        v = var_ref(v_side) if v_side is not None else None
        if v is not None and e_side is not None and decl_key(v) not in names_in(e_side):
            return v, e_side, sign, is_unsigned_type(n.type.canonical.spelling)
    return None


def _update_in(n: Node) -> tuple[Node, tuple[str, int], bool] | None:
    """``v++``, ``--v`` etc.: (variable, step, whether it happens before the value is used)."""
    n = strip(n)
    if n.kind != "UNARY_OPERATOR" or n.operator() not in ("++", "--"):
        return None
    kids = n.children()
    v = var_ref(kids[0]) if kids else None
    if v is None:
        return None
    pre = n.tokens()[:1] == [n.operator()]
    return v, ("+" if n.operator() == "++" else "-", 1), pre


def step_of(n: Node, var: Node, conv: Converter) -> tuple[str, int] | None:
    """The step ``n`` applies to ``var`` (``i++``, ``i += 2``, ``i = i * 3``, ``i >>= 1``), else None."""
    n = strip(n)
    if n.kind == "BINARY_OPERATOR" and n.operator() == ",":
        found = [s for s in (step_of(k, var, conv) for k in n.children()) if s is not None]
        return found[0] if len(found) == 1 else None
    inc = _update_in(n)
    if inc is not None:
        return inc[1] if inc[0] == var else None
    kids = n.children()
    if len(kids) != 2 or var_ref(kids[0]) != var:
        return None
    if n.kind == "COMPOUND_ASSIGNMENT_OPERATOR":
        kind = _STEP_OPS.get(n.operator())
        amount = conv.expr(kids[1])
        return normal_step(kind, amount)
    if n.kind == "BINARY_OPERATOR" and n.operator() == "=":
        rhs = strip(kids[1])
        if rhs.kind == "BINARY_OPERATOR" and rhs.operator() in ("+", "-", "*", "/", "<<", ">>"):
            a, b = rhs.children()
            if var_ref(a) == var:
                return normal_step(rhs.operator(), conv.expr(b))
            if var_ref(b) == var and rhs.operator() in ("+", "*"):
                return normal_step(rhs.operator(), conv.expr(a))
    return None


def normal_step(kind: str | None, amount: Expr | None) -> tuple[str, int] | None:
    """A positive step; a non-integer amount (floating counters) is kept as a sympy Rational.

    A symbolic integer amount (``i += level``) is kept as the expression, with the kind as written:
    the caller bounds the loop only once the program fixes the amount (its sign included).
    """
    if kind is None or amount is None:
        return None
    if not amount.is_number and amount.is_integer and kind in ("+", "-", "*", "/"):
        return (kind, amount)  # type: ignore[return-value]
    if not amount.is_number or not amount.is_rational:
        return None
    v = amount if not amount.is_integer else int(amount)
    if kind in ("+", "-") and v < 0:
        kind, v = ("-" if kind == "+" else "+"), -v
    return (kind, v) if v > 0 else None  # type: ignore[return-value]


def names_in(n: Node) -> set[str]:
    out: set[str] = set()
    stack = [n]
    while stack:
        c = stack.pop()
        if c.kind == "DECL_REF_EXPR" and c.referenced is not None:
            out.add(decl_key(c.referenced))
        elif c.kind == "MEMBER_REF_EXPR":
            out.add("m:" + symbol_name(c))
        if c.kind != "CXX_UNARY_EXPR":  # sizeof reads no value
            stack.extend(c.children())
    return out


_NARROW = {"unsigned char": 255, "unsigned short": 65535, "char": 127, "signed char": 127, "short": 32767}


def conversion_hazard(vtype: str, unsigned: bool, bound_unsigned: bool | None, a: Expr, b: Expr,
                      step_kind: str) -> str:
    """Why C's conversions make the count unsafe, or ''.

    A narrow variable (char, short) wraps before reaching a bound beyond its range; an unsigned
    variable compared with a signed bound converts a negative bound to a huge one.
    ``bound_unsigned`` is None when the variable is compared with 0 (no bound expression).
    """
    if vtype in _NARROW and step_kind in ("+", "*", "<<") and not bool(sympy.Le(b, _NARROW[vtype]) is sympy.true):
        return f"{vtype} variable can wrap before reaching the bound"
    if unsigned and vtype not in _NARROW and bound_unsigned is not None:
        if not bound_unsigned and not bool(b.is_nonnegative):
            return "a signed bound that may be negative is converted to unsigned in the comparison"
    if unsigned and not bool(a.is_nonnegative):
        return "a negative initial value is converted to unsigned"
    return ""


def conjuncts(c: Node) -> list[Node]:
    """The parts of ``a && b``; also of ``a & b`` when both are comparisons (each 0 or 1)."""
    c = strip(c)
    if c.kind == "BINARY_OPERATOR" and c.operator() == "&&":
        return [x for k in c.children() for x in conjuncts(k)]
    if c.kind == "BINARY_OPERATOR" and c.operator() == "&" and all(_is_truth(k) for k in c.children()):
        return [x for k in c.children() for x in conjuncts(k)]
    return [c]


def _is_truth(n: Node) -> bool:
    n = strip(n)
    return n.kind == "BINARY_OPERATOR" and n.operator() in ("<", "<=", ">", ">=", "==", "!=", "&&", "||")


def declares(stmt: Node, d: Node) -> bool:
    return stmt.kind == "DECL_STMT" and any(v == d for v in stmt.children())


def calls_may_write(body: Node, names: set[str], depth: int = 4) -> bool:
    """Whether a call in ``body`` may write one of ``names`` (keys as in :func:`writes`).

    Visible callees are followed ``depth`` levels deep and their writes compared; a non-const
    method whose body is not visible, called on ``this`` (explicitly or not), is taken to write every
    member.  Unresolved free functions are assumed not to write the file's globals, and operators of
    members (``_v[i]``) not to change what their const accessors read (documented).
    """
    members = {k for k in names if k.startswith("m:")}
    if not names:
        return False
    seen: set[str] = set()
    todo: list[tuple[Node, int]] = [(body, 0)]
    while todo:
        node, level = todo.pop()
        stack = [node]
        while stack:
            c = stack.pop()
            stack.extend(c.children())
            if c.kind != "CALL_EXPR":
                continue
            callee = c.referenced
            if callee is None or callee.usr in seen:
                continue
            seen.add(callee.usr)
            definition = callee.definition
            body_of = next((k for k in definition.children() if k.kind == "COMPOUND_STMT"), None) \
                if definition is not None else None
            if body_of is None:
                if members and callee.kind == "CXX_METHOD" and not callee.is_const_method() \
                        and not callee.is_static_method() and _on_this(c):
                    return True
                continue
            if set(writes(body_of)) & names:
                return True
            if level + 1 < depth:
                todo.append((body_of, level + 1))
    return False


def _on_this(call: Node) -> bool:
    kids = call.children()
    m = strip(kids[0]) if kids else None
    if m is None or m.kind != "MEMBER_REF_EXPR" or m.spelling != call.spelling:
        return False  # an operator call (_v[i]) has the object, not the method, first
    base = m.children()
    return not base or strip(base[0]).kind == "CXX_THIS_EXPR"
