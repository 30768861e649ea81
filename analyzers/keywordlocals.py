"""Keyword locals of configure: the locals that stay empty or false unless a configuration keyword is given.

What it decides, for one ``configure`` definition: the locals that start empty
or false (null, zero, a default ``String`` or ``HandlerCall``) and that only an
``Args`` chain's ``read("KEYWORD", ..., x)`` (:data:`READ_METHODS`), copies of
such locals, or writes guarded by such locals set, with their keywords and the
positions of those read as positional arguments; a least fixed point over the
copies and guards.  Any other write makes a local no keyword local (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from analyzers.frontend import Node
from analyzers.guardsyntax import classify, is_null, operand, path_guards, walk
from analyzers.walker import unwrap

READ_METHODS = frozenset(("read", "read_p", "read_m", "read_mp", "read_with", "read_p_with", "read_m_with",
                          "read_mp_with"))
_POSITIONAL = frozenset(("read_p", "read_mp", "read_p_with", "read_mp_with"))
_EMPTY_CLASSES = frozenset(("String", "HandlerCall"))  # default-constructed: empty, false in a condition


@dataclass
class _Local:
    decl: Node
    falsy_start: bool
    reads: list[tuple[str, int | None]] = field(default_factory=list)  # Args reads: (keyword, position)
    copies: list[str] = field(default_factory=list)  # USRs of locals assigned to it
    guarded_writes: list[list[str]] = field(default_factory=list)  # writes inside branches: the guard locals
    bad: bool = False


def _falsy_start(decl: Node) -> bool:
    kids = [k for k in decl.children() if k.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF")]
    t = decl.type
    if t.is_pointer() or t.is_integer():
        return len(kids) == 1 and is_null(kids[0])
    name = t.canonical.spelling.replace("const ", "").strip()
    if name not in _EMPTY_CLASSES:
        return False
    if not kids:
        return True
    init = unwrap(kids[0])
    return init.kind == "CALL_EXPR" and init.spelling == name and not [
        c for c in init.children() if c.kind not in ("TYPE_REF", "NAMESPACE_REF")]


def _type_name(n: Node) -> str:
    return n.type.canonical.spelling.replace("const ", "").replace("&", "").strip()


def args_read(anc: Node, idx: int) -> tuple[str, int | None] | None:
    """(keyword, position or None) when argument ``idx`` of call ``anc`` is the output of an Args read."""
    if anc.kind != "CALL_EXPR" or anc.spelling not in READ_METHODS:
        return None
    kids = anc.children()
    if idx != len(kids) - 1 or len(kids) < 3:
        return None
    callee = unwrap(kids[0])
    if callee.kind != "MEMBER_REF_EXPR" or not callee.children():
        return None
    obj = unwrap(callee.children()[0])
    if _type_name(obj) != "Args":
        return None
    kw = unwrap(kids[1])
    literal = kw.string_literal()
    if literal is None or not literal:
        return None
    if anc.spelling not in _POSITIONAL:
        return literal, None
    # the position: how many positional reads come before it in the chain from Args(...)
    chain: list[Node] = []
    cur = obj
    while cur.kind == "CALL_EXPR" and cur.spelling in READ_METHODS:
        chain.append(cur)
        sub = unwrap(cur.children()[0]) if cur.children() else cur
        if sub.kind != "MEMBER_REF_EXPR" or not sub.children():
            return literal, 0
        cur = unwrap(sub.children()[0])
    if not (cur.kind == "CALL_EXPR" and cur.spelling == "Args"):
        # a named Args object or another call (.bind(conf)): earlier reads may be elsewhere; the most
        # conservative position
        return literal, 0
    return literal, sum(1 for c in chain if c.spelling in _POSITIONAL)


def configure_locals(configure: Node) -> dict[str, _Local]:
    """The locals of ``configure`` that only Args reads (and copies, and writes guarded by such locals) set."""
    out: dict[str, _Local] = {}
    for n, path in walk(configure):
        if n.kind == "VAR_DECL":
            out[n.usr] = _Local(n, _falsy_start(n))
    for n, path in walk(configure):
        if n.kind != "DECL_REF_EXPR" or n.referenced is None or n.referenced.usr not in out:
            continue
        loc = out[n.referenced.usr]
        use = classify(configure, n, path)
        if not use.write:
            continue
        anc, idx, _ = operand(path, n)
        read = args_read(anc, idx) if anc is not None else None
        if read is not None:
            loc.reads.append(read)
            continue
        if anc is not None and anc.kind == "BINARY_OPERATOR" and idx == 0 and anc.operator() == "=":
            rhs = unwrap(anc.children()[1])
            if rhs.kind == "DECL_REF_EXPR" and rhs.referenced is not None and rhs.referenced.usr in out:
                loc.copies.append(rhs.referenced.usr)
                continue
        guards = [g.referenced.usr for g in path_guards(path)
                  if g.kind == "DECL_REF_EXPR" and g.referenced is not None and g.referenced.usr in out]
        if guards:
            loc.guarded_writes.append(guards)
        else:
            loc.bad = True
    return out


def keyword_locals(locs: Mapping[str, _Local]) -> dict[str, dict[str, int | None]]:
    """The locals that are false unless a keyword is given: USR -> {keyword: position}; least fixed point."""
    done: dict[str, dict[str, int | None]] = {}
    changed = True
    while changed:
        changed = False
        for usr, loc in locs.items():
            if usr in done or loc.bad or not loc.falsy_start:
                continue
            if not all(c in done for c in loc.copies) or not all(
                    any(g in done or g == usr for g in gs) for gs in loc.guarded_writes):
                continue
            if not (loc.reads or loc.copies or loc.guarded_writes):
                continue
            kws: dict[str, int | None] = {}
            for kw, pos in loc.reads:
                add_keyword(kws, kw, pos)
            for c in loc.copies:
                for kw, pos in done[c].items():
                    add_keyword(kws, kw, pos)
            for gs in loc.guarded_writes:
                g = next((g for g in gs if g == usr), None) or next(g for g in gs if g in done)
                for kw, pos in done.get(g, {}).items():  # a write guarded by the local itself adds nothing
                    add_keyword(kws, kw, pos)
            done[usr] = kws
            changed = True
    return done


def add_keyword(kws: dict[str, int | None], kw: str, pos: int | None) -> None:
    """Add a keyword; read positionally anywhere, its position is the lowest one (the most conservative)."""
    if kw not in kws:
        kws[kw] = pos
    elif pos is not None:
        old = kws[kw]
        kws[kw] = pos if old is None else min(old, pos)
