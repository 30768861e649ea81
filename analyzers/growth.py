"""What a function may change of the members and globals loop bounds read: the writes that make a bound grow.

What it decides: for one function definition (its whole text, lambdas and local
classes' methods included, since they run when it calls them), every place that
may change a member or a global (by the declaration's USR), with how.  A loop
whose bound reads a member or global (``_n``, ``_v.size()``, an iterator walk
``_v.begin() .. _v.end()``) is bounded only if no function the packet path
reaches writes it (:mod:`analyzers.element_bounds` decides which functions count;
:func:`analyzers.bounds.analyze_parsed` unbounds the loops).

A write is, on a member or global (the root of the written expression:
``_v``, ``this->_n``, ``ar->_v``, ``g_table``; a field of a member struct is
that field):

* an assignment, a compound assignment (``+=`` appends to a ``String``), ``++``/``--``;
* taking its address (``&_n``: what is done through the pointer is not followed),
  binding it to a non-``const`` reference;
* a non-``const`` method called on it (``push_back``, ``resize``, ``insert``,
  ``swap``, ``append``, ``operator=``, ``operator+=``, ``operator[]`` on a map-like
  container, which inserts), except the ones that cannot make it larger
  (:data:`HARMLESS`: element access, iterators, ``clear``, ``pop_back``, ``erase``);
* passing it to a function by non-``const`` reference, or to a call whose callee
  is not resolved (the callee is not proven harmless).

Fail-closed: the member a write changes is the member named, whatever object
it belongs to (``ar->_v`` in a static handler is the element's ``_v``).
"""

from __future__ import annotations

from collections.abc import Callable

from analyzers.frontend import Node, walk_preorder
from analyzers.loopexpr import root_decl, strip

Site = tuple[str, int, int, str, str]  # (file, line, column, member or global, how it is written)
Record = Callable[[tuple[str, Site] | None], None]

# non-const methods that cannot make a container larger (operator[] on a map inserts: not here, see _map_like)
HARMLESS = frozenset(("operator[]", "at", "begin", "end", "rbegin", "rend", "front", "back", "data", "clear",
                      "pop_back", "pop_front", "erase", "remove", "find", "get", "get_pointer", "operator*",
                      "operator->", "operator bool", "live", "operator++", "operator--", "mutable_data"))
_MAP_WORDS = ("Map", "map", "HashTable", "Table", "Dict", "dict")
_ASSIGNING = frozenset(("=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^="))


def _map_like(obj: Node) -> bool:
    t = obj.type.canonical.spelling
    return any(w in t for w in _MAP_WORDS)


def _written(target: Node) -> Node | None:
    """The member or global a write to ``target`` changes (an element of a member array: that member)."""
    t = strip(target)
    while t.kind == "ARRAY_SUBSCRIPT_EXPR" and t.children():
        t = strip(t.children()[0])
    if t.kind == "MEMBER_REF_EXPR":
        d = t.referenced
        return d if d is not None and d.kind in ("FIELD_DECL", "VAR_DECL") else None
    return root_decl(t) if t.kind == "DECL_REF_EXPR" else None


def _site(n: Node, d: Node, how: str) -> tuple[str, Site]:
    return d.usr, (n.file, n.line, n.column, d.spelling, how)


def _call_object(call: Node, callee: Node) -> Node | None:
    """The object a method call (``x.f()``, ``x[i]``, ``x += y``) is made on; None for another call."""
    kids = call.children()
    if not kids or callee.kind != "CXX_METHOD" or callee.is_static_method():
        return None
    first = strip(kids[0])
    if first.kind == "MEMBER_REF_EXPR" and first.spelling == callee.spelling:
        sub = first.children()
        return sub[0] if sub else None  # an implicit this->f(): the element itself, not a member
    if callee.spelling.startswith("operator"):
        return kids[0]
    return None


def _arguments(call: Node, callee: Node | None) -> list[Node]:
    kids = call.children()
    if not kids:
        return []
    first = strip(kids[0])
    if first.kind in ("MEMBER_REF_EXPR", "DECL_REF_EXPR") and (callee is None or first.spelling == callee.spelling):
        return kids[1:]
    if callee is not None and callee.spelling.startswith("operator"):
        return [k for k in kids[1:] if strip(k).spelling != callee.spelling]
    return kids[1:] if first.kind == "UNEXPOSED_EXPR" and not first.spelling else kids


def writes_in(fn: Node) -> dict[str, list[Site]]:
    """Every place in ``fn``'s text that may change a member or global: USR -> sites."""
    out: dict[str, list[Site]] = {}

    def add(pair: tuple[str, Site] | None) -> None:
        if pair is not None and pair[0]:
            out.setdefault(pair[0], []).append(pair[1])

    for n in walk_preorder(fn):
        k = n.kind
        if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
            op = n.operator()
            kids = n.children()
            if op in _ASSIGNING and kids:
                d = _written(kids[0])
                if d is not None:
                    add(_site(n, d, f"assigned ({op})"))
        elif k == "UNARY_OPERATOR":
            op = n.operator()
            kids = n.children()
            if op in ("++", "--", "&") and kids:
                d = _written(kids[0])
                if d is not None:
                    add(_site(n, d, "its address is taken" if op == "&" else f"{op}"))
        elif k == "VAR_DECL" and n.type.is_reference() and not n.type.canonical.spelling.startswith("const "):
            init = [c for c in n.children() if c.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF")]
            d = _written(init[-1]) if init else None
            if d is not None:
                add(_site(n, d, "bound to a non-const reference"))
        elif k == "CALL_EXPR":
            _call_writes(n, add)
    return out


def _call_writes(n: Node, record: Record) -> None:
    callee = n.referenced
    if callee is not None:
        obj = _call_object(n, callee)
        if obj is not None and not callee.is_const_method():
            d = _written(obj)
            name = callee.spelling
            if d is not None and (name not in HARMLESS or name == "operator[]" and _map_like(obj)):
                record(_site(n, d, f"{name} on it"))
    params = [p for p in callee.children() if p.kind == "PARM_DECL"] if callee is not None else []
    for i, a in enumerate(_arguments(n, callee)):
        d = _written(a) if strip(a).kind in ("MEMBER_REF_EXPR", "DECL_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR") else None
        if d is None:
            continue
        if callee is None:
            record(_site(n, d, "passed to an unresolved call"))
        elif i < len(params) and params[i].type.is_reference() \
                and not params[i].type.canonical.spelling.startswith("const "):
            record(_site(n, d, f"passed by non-const reference to {callee.spelling}"))
