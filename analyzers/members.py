"""Struct-member values in whole C programs: the constants a program stores into each member.

What it decides (``certify bounds --whole-program`` on C files, :mod:`analyzers.bounds`):
a struct member (or a member array's element at a constant index) whose every
store is a constant, or another such member, takes one of those values, plus 0
for static instances (:func:`member_values`, at most :data:`MAX_MEMBER_VALUES`
of them); a record whose pointer is converted to another pointer type
(``memset``, ``memcpy``, byte views, allocators), that has an initializer list,
an external instance or a union around it, or whose pointer is passed to a
function the files do not define, is left symbolic (:func:`collect_fields`).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy
from sympy import Expr

from analyzers.contexts import MAX_CONTEXTS
from analyzers.frontend import Node, TypeView
from analyzers.loopexpr import Converter, initializer, strip


@dataclass
class MemberStores:
    """What a C program stores in struct members, gathered over its files (whole-program mode).

    Keys: a field's USR, ``USR[k]`` for element ``k`` of a member array; records by their USR.
    """

    stores: dict[str, list[Expr | None]] = field(default_factory=dict)  # field key -> values stored
    untracked: set[str] = field(default_factory=set)  # field keys and record USRs with unseen writes
    zero: set[str] = field(default_factory=set)  # records with a zero-initialized (static) instance
    record_of: dict[str, str] = field(default_factory=dict)  # field USR -> its record's USR
    by_spelling: dict[str, str] = field(default_factory=dict)  # record type spelling -> USR
    externs: dict[str, str] = field(default_factory=dict)  # extern global of a record type -> record USR
    nested: dict[str, set[str]] = field(default_factory=dict)  # record USR -> its members' type keys
    passed: set[tuple[str, str]] = field(default_factory=set)  # (callee USR, record USR) of pointer arguments
    defined: set[str] = field(default_factory=set)  # globals defined in the files

    def merge(self, other: MemberStores) -> None:
        for k, v in other.stores.items():
            self.stores.setdefault(k, []).extend(v)
        self.untracked |= other.untracked
        self.zero |= other.zero
        self.record_of.update(other.record_of)
        self.by_spelling.update(other.by_spelling)
        self.externs.update(other.externs)
        for record, types in other.nested.items():
            self.nested.setdefault(record, set()).update(types)
        self.passed |= other.passed
        self.defined |= other.defined


_CASTS = frozenset(("UNEXPOSED_EXPR", "CSTYLE_CAST_EXPR"))
_RECORDS = frozenset(("STRUCT_DECL", "UNION_DECL"))
MAX_MEMBER_VALUES = 16


def collect_fields(root: Node, conv: Converter, dirs: set[str]) -> MemberStores:
    """Every store into a struct member in the program's own files, and every way one could go unseen.

    A member ``s.f`` / ``p->f`` / ``p->a[k]`` assigned ``= e`` records ``e`` (a constant, or other
    members); ``++``, ``+=``, ``&s.f`` or a member array used as a pointer makes it unknown.  A
    record is unknown as a whole when a pointer to it is converted to or from another pointer type
    (``memcpy``, ``memset``, byte views, allocators), when it is given an initializer list, when a
    union holds it, when an instance is external to the files, or when a pointer to it is passed
    to a function the files do not define.  Static instances without an
    initializer add the value 0 to every member (and to the members of records nested in them).
    """
    f = MemberStores()
    tops = [c for c in root.children() if c.file and any(c.file.startswith(d + os.sep) for d in dirs)]
    stack: list[tuple[Node, Node | None]] = [(c, None) for c in tops]
    while stack:
        n, parent = stack.pop()
        k = n.kind
        if k in _RECORDS:
            _record(n, f)
        elif k == "VAR_DECL":
            _instance(n, parent, f)
        elif k == "BINARY_OPERATOR":
            kids = n.children()
            lhs = strip(kids[0]) if len(kids) == 2 else None
            # the operator is read from the tokens (slow on long expressions): only for a member or a
            # record, and only an lvalue operand, never under an implicit conversion as a read is (C)
            key = _field_key(kids[0], conv) if lhs is not None and kids[0].kind != "UNEXPOSED_EXPR" else None
            record = None
            if lhs is not None and key is None and kids[0].kind != "UNEXPOSED_EXPR" and \
                    lhs.kind in ("DECL_REF_EXPR", "UNARY_OPERATOR", "MEMBER_REF_EXPR"):
                record = _record_usr(lhs.type, f)
            if (key is not None or record is not None) and n.operator() == "=":
                if key is not None:
                    f.stores.setdefault(key, []).append(conv.expr(kids[1]))
                elif lhs is not None:
                    rhs = strip(kids[1])  # a struct copy: from an unseen function, unknown
                    callee = rhs.referenced if rhs.kind == "CALL_EXPR" else None
                    if rhs.kind == "CALL_EXPR" and (callee is None or callee.definition is None):
                        f.untracked.add(record or "")
        elif k in ("COMPOUND_ASSIGNMENT_OPERATOR", "UNARY_OPERATOR"):
            kids = n.children()
            key = _field_key(kids[0], conv) if kids and kids[0].kind != "UNEXPOSED_EXPR" and \
                strip(kids[0]).kind in ("MEMBER_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR") else None
            op = n.operator() if key is not None and k == "UNARY_OPERATOR" else ""
            if key is not None and (k == "COMPOUND_ASSIGNMENT_OPERATOR" or op in ("++", "--")):
                f.untracked.add(key)
            elif key is not None and op == "&":
                f.untracked.add(key.split("[")[0])
        elif k == "MEMBER_REF_EXPR":
            d = n.referenced
            if d is not None and d.kind == "FIELD_DECL" and d.type.canonical.kind != "CONSTANTARRAY":
                pass
            elif d is not None and d.kind == "FIELD_DECL" and (parent is None or parent.kind != "ARRAY_SUBSCRIPT_EXPR"):
                f.untracked.add(d.usr)  # a member array used as a pointer: writes through it are unseen
        elif k in _CASTS:
            kids = n.children()
            if kids and (n.type.is_pointer() or kids[-1].type.is_pointer()):
                to, frm = _record_usr(n.type, f), _record_usr(kids[-1].type, f)
                if to != frm:
                    f.untracked |= {r for r in (to, frm) if r is not None}
        elif k == "CALL_EXPR":
            callee = n.referenced
            for a in n.children()[1:]:
                if a.type.is_pointer():
                    r = _record_usr(a.type, f)
                    if r is not None:  # a function outside the files may store into it
                        f.passed.add((callee.usr if callee is not None else "", r))
        elif k == "INIT_LIST_EXPR":
            r = _record_usr(n.type, f)
            if r is not None:
                f.untracked.add(r)
        up = parent if k in _CASTS or k == "PAREN_EXPR" else n  # the nearest non-wrapper ancestor
        stack.extend((c, up) for c in n.children())
    return f


def _record(n: Node, f: MemberStores) -> None:
    f.by_spelling[n.type.canonical.spelling] = n.usr
    for c in n.children():
        if c.kind == "FIELD_DECL":
            f.record_of[c.usr] = n.usr
            f.nested.setdefault(n.usr, set()).add(_type_key(c.type))
            if n.kind == "UNION_DECL":
                f.untracked.add(c.usr)  # a store into another member of the union changes it
                inner = _record_usr(c.type, f)
                if inner is not None:
                    f.untracked.add(inner)


def _record_usr(t: TypeView, f: MemberStores) -> str | None:
    """The record a type is, points to or is an array of (by the record's USR), else None."""
    spelling = _type_key(t)
    if spelling in f.by_spelling:
        return f.by_spelling[spelling]
    d = t.canonical.declaration()
    return d.usr if d is not None and d.kind in _RECORDS else None


def _type_key(t: TypeView) -> str:
    """A type's canonical spelling without qualifiers, array bounds and pointers: ``struct s``."""
    spelling = re.sub(r"\s*(\[[^]]*\])+$", "", t.canonical.spelling)
    return re.sub(r"\b(const|volatile)\s+", "", spelling).rstrip(" *")


def _instance(n: Node, parent: Node | None, f: MemberStores) -> None:
    """A variable of a record type: zero-initialized when static without an initializer."""
    r = _record_usr(n.type, f)
    if r is None:
        return
    storage = n.storage()
    top = n.semantic_parent is not None and n.semantic_parent.kind == "TRANSLATION_UNIT"
    if storage == "EXTERN":
        f.externs[n.spelling] = r
        return
    if top:
        f.defined.add(n.spelling)
    if (top or storage == "STATIC") and initializer(n) is None:
        f.zero.add(r)


def _field_key(lhs: Node, conv: Converter) -> str | None:
    """``s.f`` -> the field's USR; ``s.a[k]`` -> ``USR[k]`` (``USR[*]`` for a non-constant index)."""
    t = strip(lhs)
    if t.kind == "MEMBER_REF_EXPR":
        d = t.referenced
        return d.usr if d is not None and d.kind == "FIELD_DECL" else None
    if t.kind == "ARRAY_SUBSCRIPT_EXPR":
        kids = t.children()
        base = strip(kids[0]) if kids else None
        d = base.referenced if base is not None and base.kind == "MEMBER_REF_EXPR" else None
        if d is None or d.kind != "FIELD_DECL" or len(kids) != 2:
            return None
        index = conv.expr(kids[1])
        ok = index is not None and index.is_number and index.is_integer
        return f"{d.usr}[{int(index) if ok and index is not None else '*'}]"
    return None


def member_values(units: list[tuple[MemberStores, dict[str, set[str]]]], functions: set[str]) -> dict[str, list[Expr | None]]:
    """Member symbols whose field takes finitely many constant values in the whole program.

    ``units``: each file's stores (:func:`collect_fields`) and member symbols (symbol -> field keys), in the
    files' order; ``functions``: the USRs of the functions the files define."""
    facts = MemberStores()
    names: dict[str, set[str]] = {}
    for fields, member_syms in units:
        facts.merge(fields)
        for name, keys in member_syms.items():
            names.setdefault(name, set()).update(keys)
    for var, r in facts.externs.items():
        if var not in facts.defined:
            facts.untracked.add(r)
    facts.untracked |= {r for callee, r in facts.passed if callee not in functions}
    todo = list(facts.zero)  # a zeroed record zeroes the records nested in it (pointers too: only more values)
    while todo:
        for t in facts.nested.get(todo.pop(), set()):
            inner = facts.by_spelling.get(t)
            if inner is not None and inner not in facts.zero:
                facts.zero.add(inner)
                todo.append(inner)
    memo: dict[str, set[Expr] | None] = {}

    def values_of(key: str, stack: tuple[str, ...]) -> set[Expr] | None:
        if key in memo:
            return memo[key]
        if key in stack:
            return None
        base = key.split("[")[0]
        rec = facts.record_of.get(base)
        if rec is None or {key, base, rec, base + "[*]"} & facts.untracked:
            memo[key] = None
            return None
        out: set[Expr] = {sympy.Integer(0)} if rec in facts.zero else set()
        for v in facts.stores.get(key, []) + (facts.stores.get(base + "[*]", []) if "[" in key else []):
            got = _value_set(v, names, lambda k: values_of(k, stack + (key,)))
            if got is None or len(out | got) > MAX_MEMBER_VALUES:
                memo[key] = None
                return None
            out |= got
        memo[key] = out or None
        return memo[key]

    result: dict[str, list[Expr | None]] = {}
    for name, keys in names.items():
        got = values_of(next(iter(keys)), ()) if len(keys) == 1 else None
        if got:
            result[name] = sorted(got, key=sympy.default_sort_key)
    return result


def _value_set(v: Expr | None, names: dict[str, set[str]],
               lookup: Callable[[str], set[Expr] | None]) -> set[Expr] | None:
    """The numbers a stored value can be, its member symbols replaced by their own value sets."""
    if v is None:
        return None
    if v.is_number:
        return {v} if v.is_integer else None
    choices: list[tuple[sympy.Symbol, list[Expr]]] = []
    for s in sorted(v.free_symbols, key=lambda x: x.name):
        keys = names.get(s.name, set())
        if len(keys) != 1:
            return None
        got = lookup(next(iter(keys)))
        if got is None:
            return None
        choices.append((s, sorted(got, key=sympy.default_sort_key)))  # type: ignore[arg-type]
    out: set[Expr] = set()
    for combo in itertools.islice(itertools.product(*(c[1] for c in choices)), MAX_CONTEXTS + 1):
        e = v.xreplace({c[0]: x for c, x in zip(choices, combo)})
        if not (e.is_number and e.is_integer):
            return None
        out.add(e)
    return out if len(out) <= MAX_MEMBER_VALUES else None
