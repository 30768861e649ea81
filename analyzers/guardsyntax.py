"""The syntax the configuration-conditional pass reads: paths to a cursor, uses of a member, guarding conditions.

What it decides, from the :class:`analyzers.frontend.Node` view only: the
ancestor path of every cursor of a function, whether a use of a member (or
local) reads it, writes a null value or writes anything else (a use it does not
recognise counts as a write), which values must be non-null for code at the end
of a path to run (``if (M)``, ``M && ...``, ``M ? ... : ...``, after
``if (!M) return ...;``), and whether a member starts null (its default member
initializer or every constructor).  :mod:`analyzers.guards` turns these into guards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analyzers.frontend import Node
from analyzers.walker import is_this, unwrap

_NULL_LITERALS = frozenset(("CXX_NULL_PTR_LITERAL_EXPR", "GNU_NULL_EXPR"))
_WRAPPERS = frozenset(("UNEXPOSED_EXPR", "PAREN_EXPR"))


# ---------------------------------------------------------------------------------------------- walking helpers

Path = tuple[tuple[Node, int], ...]  # ancestors of a node, outermost first: (ancestor, index of the child taken)


def walk(fn: Node) -> Iterable[tuple[Node, Path]]:
    """Every cursor under ``fn`` with its ancestor path."""
    stack: list[tuple[Node, Path]] = [(fn, ())]
    while stack:
        n, path = stack.pop()
        yield n, path
        kids = n.children()
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], path + ((n, i),)))


def _field_of(n: Node) -> Node | None:
    """The FIELD_DECL a member reference names, else None."""
    if n.kind not in ("MEMBER_REF_EXPR", "MEMBER_REF"):
        return None
    ref = n.referenced
    return ref if ref is not None and ref.kind == "FIELD_DECL" else None


def is_null(expr: Node | None) -> bool:
    """A literal null/zero/false value (through implicit casts and parentheses)."""
    if expr is None:
        return False
    e = unwrap(expr)
    while e.kind in ("CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR", "CXX_FUNCTIONAL_CAST_EXPR") or e.kind in _WRAPPERS:
        kids = [k for k in e.children() if k.kind != "TYPE_REF"]
        if len(kids) != 1:
            return False
        e = unwrap(kids[0])
    if e.kind in _NULL_LITERALS:
        return True
    toks = e.tokens()
    if e.kind == "INTEGER_LITERAL":
        return toks in (["0"], ["0L"], ["0U"], ["0UL"])
    if e.kind == "CXX_BOOL_LITERAL_EXPR":
        return toks == ["false"]
    return False


def operand(path: Path, n: Node) -> tuple[Node | None, int, Node]:
    """The first ancestor of ``n`` that is not a wrapper, the index of the child the path takes in it, and that
    child (``n`` or the outermost wrapper around it)."""
    child = n
    for anc, idx in reversed(path):
        if anc.kind not in _WRAPPERS:
            return anc, idx, child
        child = anc
    return None, -1, child


# ----------------------------------------------------------------------------------- reading and writing a member

@dataclass
class Use:
    fn: Node
    node: Node
    path: Path
    write: bool
    null: bool = False  # a write of a null value


def _param_is_mutable_ref(call: Node, index: int) -> bool:
    """Whether argument ``index`` of ``call`` binds to a non-const reference (or the callee is unknown)."""
    callee = call.referenced
    if callee is None:
        return True
    params = [c for c in callee.children() if c.kind == "PARM_DECL"]
    if index >= len(params):
        return True  # varargs or unknown
    t = params[index].type
    return t.is_reference() and not t.canonical.spelling.startswith("const ")


def classify(fn: Node, n: Node, path: Path) -> Use:
    """How the code uses the member (or local) reference ``n``: a read, a null write or another write."""
    anc, idx, child = operand(path, n)
    if anc is None:
        return Use(fn, n, path, True)
    k = anc.kind
    if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
        op = anc.operator()
        if idx == 0 and op == "=":
            kids = anc.children()
            return Use(fn, n, path, True, is_null(kids[1]) if len(kids) == 2 else False)
        if op in ("&&", "||", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "&", "|", "^",
                  "<<", ">>") and k == "BINARY_OPERATOR":
            return Use(fn, n, path, False)
        if op == "=":  # the right-hand side of an assignment
            return Use(fn, n, path, False)
        return Use(fn, n, path, True)
    if k == "UNARY_OPERATOR":
        return Use(fn, n, path, anc.operator() not in ("!", "*", "-", "+", "~"))
    if k in ("IF_STMT", "WHILE_STMT", "DO_STMT", "FOR_STMT", "CONDITIONAL_OPERATOR", "SWITCH_STMT",
             "CXX_DELETE_EXPR", "RETURN_STMT", "CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR"):
        if k == "RETURN_STMT" and fn.result_type.is_reference():
            return Use(fn, n, path, True)
        if k in ("CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR") and anc.type.is_reference():
            return Use(fn, n, path, True)
        if k == "CONDITIONAL_OPERATOR" and idx != 0 and anc.type.is_reference():
            return Use(fn, n, path, True)
        return Use(fn, n, path, False)
    if k == "MEMBER_REF_EXPR":  # M->x: a read of a pointer; x.f(): a read when f is a const method
        if n.type.is_pointer():
            return Use(fn, n, path, False)
        ref = anc.referenced
        const = ref is not None and (ref.is_const_method() or (
            ref.kind == "CONVERSION_FUNCTION" and ref.spelling.endswith(" const")))
        return Use(fn, n, path, not const)
    if k == "ARRAY_SUBSCRIPT_EXPR":
        return Use(fn, n, path, not n.type.is_pointer())
    if k == "VAR_DECL":
        return Use(fn, n, path, anc.type.is_reference() and not anc.type.canonical.spelling.startswith("const "))
    if k == "CALL_EXPR":
        if idx == 0 or anc.spelling.startswith("operator"):  # a callee, or an overloaded operator: unknown
            return Use(fn, n, path, True)
        return Use(fn, n, path, _param_is_mutable_ref(anc, idx - 1))
    return Use(fn, n, path, True)


def member_uses(functions: Iterable[Node], usr: str) -> list[Use]:
    out = []
    for fn in functions:
        for n, path in walk(fn):
            f = _field_of(n)
            if f is not None and f.usr == usr and n.kind == "MEMBER_REF_EXPR":
                out.append(classify(fn, n, path))
    return out


def _ctor_sets_null(ctor: Node, usr: str) -> bool:
    """The constructor's initializer list or body sets the member to a null value."""
    kids = ctor.children()
    for i, k in enumerate(kids):
        if k.kind == "MEMBER_REF":
            f = k.referenced
            if f is not None and f.usr == usr:
                return i + 1 < len(kids) and is_null(kids[i + 1])
    return any(u.write and u.null for u in member_uses([ctor], usr))


def starts_null(owner: Node, usr: str, fld: Node) -> bool:
    """Condition 2: a null default member initializer, or every constructor of the declaring class sets the
    member to a null value."""
    default = [k for k in fld.children() if k.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF")]
    if default and not is_null(default[-1]):
        return False
    ctors = [m.definition for m in methods_of(owner.definition or owner, declared=True) if m.kind == "CONSTRUCTOR"]
    if any(c is None for c in ctors) or (not ctors and not default):
        return False
    return bool(default) or all(c is not None and _ctor_sets_null(c, usr) for c in ctors)


def methods_of(cls: Node, declared: bool = False) -> list[Node]:
    kinds = ("CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE", "CONVERSION_FUNCTION")
    out = []
    for m in cls.children():
        if m.kind in kinds:
            if declared:
                out.append(m)
            elif m.definition is not None:
                out.append(m.definition)
    return out


# ------------------------------------------------------------------------------------------------- guards

def _tested(cond: Node) -> list[Node]:
    """The values a condition requires to be true (non-null, non-zero): itself, or each conjunct of ``&&``, or
    ``x`` of ``x != 0``."""
    c = unwrap(cond)
    if c.kind == "BINARY_OPERATOR":
        op = c.operator()
        kids = c.children()
        if op == "&&" and len(kids) == 2:
            return _tested(kids[0]) + _tested(kids[1])
        if op == "!=" and len(kids) == 2:
            if is_null(kids[1]):
                return [unwrap(kids[0])]
            if is_null(kids[0]):
                return [unwrap(kids[1])]
        return []
    if c.kind == "CALL_EXPR" and c.referenced is not None and c.referenced.kind == "CONVERSION_FUNCTION":
        kids = c.children()
        if kids and unwrap(kids[0]).kind == "MEMBER_REF_EXPR":
            sub = unwrap(kids[0]).children()
            if sub:
                return [unwrap(sub[0])]
        return []
    return [c]


def _negated(cond: Node) -> list[Node]:
    """The values a condition tests for null: ``!x``, ``x == 0``, each disjunct of ``||``."""
    c = unwrap(cond)
    if c.kind == "UNARY_OPERATOR" and c.operator() == "!":
        kids = c.children()
        return _tested(kids[0]) if kids else []
    if c.kind == "BINARY_OPERATOR":
        op = c.operator()
        kids = c.children()
        if op == "||" and len(kids) == 2:
            return _negated(kids[0]) + _negated(kids[1])
        if op == "==" and len(kids) == 2:
            if is_null(kids[1]):
                return [unwrap(kids[0])]
            if is_null(kids[0]):
                return [unwrap(kids[1])]
    return []


def _leaves(stmt: Node) -> bool:
    """A statement that always leaves the function: ``return``, or a block ending in one."""
    s = unwrap(stmt)
    if s.kind == "RETURN_STMT":
        return True
    if s.kind == "COMPOUND_STMT":
        kids = s.children()
        return bool(kids) and _leaves(kids[-1])
    return False


def path_guards(path: Path) -> list[Node]:
    """The values that must be true (non-null) for code at the end of ``path`` to run."""
    out: list[Node] = []
    for anc, idx in path:
        kids = anc.children()
        if anc.kind == "IF_STMT" and len(kids) in (2, 3) and idx == 1:
            out.extend(_tested(kids[0]))
        elif anc.kind == "CONDITIONAL_OPERATOR" and len(kids) == 3 and idx == 1:
            out.extend(_tested(kids[0]))
        elif anc.kind == "BINARY_OPERATOR" and idx == 1 and anc.operator() == "&&":
            out.extend(_tested(kids[0]))
        elif anc.kind == "COMPOUND_STMT":
            for prev in kids[:idx]:
                p = unwrap(prev)
                pk = p.children()
                if p.kind == "IF_STMT" and len(pk) == 2 and _leaves(pk[1]):
                    out.extend(_negated(pk[0]))
    return out


def this_member(n: Node) -> str | None:
    """The USR of the field ``n`` reads from ``this`` (``M`` or ``this->M``), else None."""
    f = _field_of(n)
    if f is None or n.kind != "MEMBER_REF_EXPR":
        return None
    kids = n.children()
    return f.usr if is_this(kids[0] if kids else None) else None


def path_to(fn: Node, file: str, line: int, column: int) -> list[Path]:
    """The ancestor paths of the cursors of ``fn`` at a position (all of them: a finding is reported at one)."""
    return [path for n, path in walk(fn) if n.line == line and n.column == column and n.file == file]


def returns_failure(ret: Node) -> bool:
    """``return -N;`` with N a non-zero integer literal: configure fails, the element never runs."""
    kids = ret.children()
    if len(kids) != 1:
        return False
    e = unwrap(kids[0])
    if e.kind != "UNARY_OPERATOR" or e.operator() != "-":
        return False
    lit = e.children()
    return len(lit) == 1 and unwrap(lit[0]).kind == "INTEGER_LITERAL" and not is_null(lit[0])
