"""Configuration-conditional findings: packet-path code that runs only when a configuration keyword is given.

What it decides: which packet-path findings of an element class can only be
reached when its instance's configuration gives one of some keywords, so that
an instance configured without them may be placed by the verdict of the other
findings (Counter calls another element's write handler, KS203, only when
``COUNT_CALL`` or ``BYTE_COUNT_CALL`` is given).  The class's verdict stays the
worst case; :func:`split_conditions` adds the conditions and the verdict of the
unconditional findings beside it, and the merge decides per instance.

How: a finding is *guarded* by a member ``M`` of the element (a pointer, integer
or bool field) when

1. it lies in the then-branch of ``if (M)`` / ``if (M && ...)`` / ``if (M != 0)``
   (also ``M ? ... : ...`` and ``M && ...``), or after ``if (!M) return ...;`` in an
   enclosing block, with ``M`` read from ``this``; or, in a function that is not
   itself a packet-path entry, every call of that function from the packet path
   is so guarded (callers followed up to :data:`MAX_DEPTH` levels);
2. every constructor of the class declaring ``M`` sets it to a null value (0,
   ``NULL``, ``nullptr``, ``false``) in its initializer list or body, or ``M``
   has a null default member initializer; or else the configure Click calls
   (one definition) has a top-level statement ``M = v;`` in its body, ``v`` a
   null value or a keyword local (below), no statement before it holds a
   ``return`` of anything but a negative integer literal (``return -1;``) and
   no ``goto`` or label is anywhere in it: Click runs no packet path or
   handler of an element before its configure returns a success, so the
   constructor's value never reaches them;
3. every other write of ``M`` anywhere in the element's own files is a null value,
   or is a write of ``this``'s ``M`` in ``configure`` itself (which nothing but
   Click calls: no packet-path method, handler, or other method reaches it)
   that is one of

   a. ``M`` itself the output of an ``Args`` read: ``Args(...).read("KEYWORD",
      ..., M)`` (also ``read_p``, ``read_m``, ``read_mp`` and their ``_with``
      forms, :data:`READ_METHODS`; ``M`` the last argument, the keyword a string
      literal), which leaves ``M`` untouched when the keyword is absent; a
      positional read records its position as for locals.  Not
      ``read_or_set``/``read_or_set_p`` (they assign a default when the keyword
      is absent) nor any other method;
   b. a plain assignment ``M = x`` anywhere in configure, ``x`` a pointer or
      integer keyword local;
   c. any write inside ``if (x)`` / ``else if (x)`` on a keyword local ``x``;

   where a *keyword local* is a local of ``configure`` that starts empty or
   false and is written only by an ``Args`` chain's ``read("KEYWORD", ..., x)``
   (the methods of a.), by copies ``x = y`` of such locals, or inside a branch
   already guarded by such a local; its keywords are those of its reads and of
   the locals it copies or is guarded by.
   Writes in functions only write handlers reach count only when the policy
   says tenants may not call write handlers of kernel elements
   (``tenant_write_handlers: false``); otherwise they invalidate the guard.
   A write that is not a plain assignment (``&M``, ``M++``, ``M |= x``, binding
   to a non-const reference, an argument passed by non-const reference other
   than a. above, anything not recognised) counts as a non-null write; so does
   a write of a keyword local that is none of the above (``x = p->length()``,
   ``tweak(x)`` by non-const reference, ``read_or_set``), which makes it no
   keyword local.

Then ``M`` is null unless one of the keywords of its writes is given, so the
finding cannot run in an instance configured without them.  Every doubt keeps
the finding unconditional (fail closed): helpers that configure calls, Args
objects split over statements (positional reads of a named Args variable are
taken as position 0, the most conservative), old ``cp_va_kparse`` parsing,
class-typed members, live reconfiguration (``live_reconfigure`` is reached
from the ``config`` write handler) unless write handlers are forbidden.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from analyzers.frontend import Node
from analyzers.policy import Policy
from analyzers.walker import function_id, is_this, unwrap
from certify.core.findings import Finding

MAX_DEPTH = 4
READ_METHODS = frozenset(("read", "read_p", "read_m", "read_mp", "read_with", "read_p_with", "read_m_with",
                          "read_mp_with"))
_POSITIONAL = frozenset(("read_p", "read_mp", "read_p_with", "read_mp_with"))
_EMPTY_CLASSES = frozenset(("String", "HandlerCall"))  # default-constructed: empty, false in a condition
_NULL_LITERALS = frozenset(("CXX_NULL_PTR_LITERAL_EXPR", "GNU_NULL_EXPR"))
_WRAPPERS = frozenset(("UNEXPOSED_EXPR", "PAREN_EXPR"))
_RANK = {"none": 0, "userspace": 1, "reject": 2, "error": 3}

Key = tuple[str, str, int, int]  # (rule, file, line, column) of a finding


@dataclass(frozen=True)
class Guard:
    """Why some findings need a keyword: the member that guards them and the keywords that set it."""

    member: str  # Class::_member
    keywords: tuple[str, ...]  # any one of them given may set the member
    positions: tuple[tuple[str, int], ...]  # keywords also read as positional arguments: (keyword, position)
    where: str  # file:line of the writes in configure

    def text(self) -> str:
        kws = " or ".join(self.keywords)
        return f"{self.member} is set in configure() only when {kws} is given ({self.where})"


# ---------------------------------------------------------------------------------------------- walking helpers

Path = tuple[tuple[Node, int], ...]  # ancestors of a node, outermost first: (ancestor, index of the child taken)


def _walk(fn: Node) -> Iterable[tuple[Node, Path]]:
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


def _is_null(expr: Node | None) -> bool:
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


def _operand(path: Path, n: Node) -> tuple[Node | None, int, Node]:
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
class _Use:
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


def _classify(fn: Node, n: Node, path: Path) -> _Use:
    """How the code uses the member (or local) reference ``n``: a read, a null write or another write."""
    anc, idx, child = _operand(path, n)
    if anc is None:
        return _Use(fn, n, path, True)
    k = anc.kind
    if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
        op = anc.operator()
        if idx == 0 and op == "=":
            kids = anc.children()
            return _Use(fn, n, path, True, _is_null(kids[1]) if len(kids) == 2 else False)
        if op in ("&&", "||", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "&", "|", "^",
                  "<<", ">>") and k == "BINARY_OPERATOR":
            return _Use(fn, n, path, False)
        if op == "=":  # the right-hand side of an assignment
            return _Use(fn, n, path, False)
        return _Use(fn, n, path, True)
    if k == "UNARY_OPERATOR":
        return _Use(fn, n, path, anc.operator() not in ("!", "*", "-", "+", "~"))
    if k in ("IF_STMT", "WHILE_STMT", "DO_STMT", "FOR_STMT", "CONDITIONAL_OPERATOR", "SWITCH_STMT",
             "CXX_DELETE_EXPR", "RETURN_STMT", "CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR"):
        if k == "RETURN_STMT" and fn.result_type.is_reference():
            return _Use(fn, n, path, True)
        if k in ("CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR") and anc.type.is_reference():
            return _Use(fn, n, path, True)
        if k == "CONDITIONAL_OPERATOR" and idx != 0 and anc.type.is_reference():
            return _Use(fn, n, path, True)
        return _Use(fn, n, path, False)
    if k == "MEMBER_REF_EXPR":  # M->x: a read of a pointer; x.f(): a read when f is a const method
        if n.type.is_pointer():
            return _Use(fn, n, path, False)
        ref = anc.referenced
        const = ref is not None and (ref.is_const_method() or (
            ref.kind == "CONVERSION_FUNCTION" and ref.spelling.endswith(" const")))
        return _Use(fn, n, path, not const)
    if k == "ARRAY_SUBSCRIPT_EXPR":
        return _Use(fn, n, path, not n.type.is_pointer())
    if k == "VAR_DECL":
        return _Use(fn, n, path, anc.type.is_reference() and not anc.type.canonical.spelling.startswith("const "))
    if k == "CALL_EXPR":
        if idx == 0 or anc.spelling.startswith("operator"):  # a callee, or an overloaded operator: unknown
            return _Use(fn, n, path, True)
        return _Use(fn, n, path, _param_is_mutable_ref(anc, idx - 1))
    return _Use(fn, n, path, True)


def _member_uses(functions: Iterable[Node], usr: str) -> list[_Use]:
    out = []
    for fn in functions:
        for n, path in _walk(fn):
            f = _field_of(n)
            if f is not None and f.usr == usr and n.kind == "MEMBER_REF_EXPR":
                out.append(_classify(fn, n, path))
    return out


def _ctor_sets_null(ctor: Node, usr: str) -> bool:
    """The constructor's initializer list or body sets the member to a null value."""
    kids = ctor.children()
    for i, k in enumerate(kids):
        if k.kind == "MEMBER_REF":
            f = k.referenced
            if f is not None and f.usr == usr:
                return i + 1 < len(kids) and _is_null(kids[i + 1])
    return any(u.write and u.null for u in _member_uses([ctor], usr))


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
            if _is_null(kids[1]):
                return [unwrap(kids[0])]
            if _is_null(kids[0]):
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
            if _is_null(kids[1]):
                return [unwrap(kids[0])]
            if _is_null(kids[0]):
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


def _guards(path: Path) -> list[Node]:
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


def _this_member(n: Node) -> str | None:
    """The USR of the field ``n`` reads from ``this`` (``M`` or ``this->M``), else None."""
    f = _field_of(n)
    if f is None or n.kind != "MEMBER_REF_EXPR":
        return None
    kids = n.children()
    return f.usr if is_this(kids[0] if kids else None) else None


def _path_to(fn: Node, file: str, line: int, column: int) -> list[Path]:
    """The ancestor paths of the cursors of ``fn`` at a position (all of them: a finding is reported at one)."""
    return [path for n, path in _walk(fn) if n.line == line and n.column == column and n.file == file]


# ------------------------------------------------------------------------------------------ keyword locals

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
        return len(kids) == 1 and _is_null(kids[0])
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


def _args_read(anc: Node, idx: int) -> tuple[str, int | None] | None:
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


def _locals(configure: Node) -> dict[str, _Local]:
    """The locals of ``configure`` that only Args reads (and copies, and writes guarded by such locals) set."""
    out: dict[str, _Local] = {}
    for n, path in _walk(configure):
        if n.kind == "VAR_DECL":
            out[n.usr] = _Local(n, _falsy_start(n))
    for n, path in _walk(configure):
        if n.kind != "DECL_REF_EXPR" or n.referenced is None or n.referenced.usr not in out:
            continue
        loc = out[n.referenced.usr]
        use = _classify(configure, n, path)
        if not use.write:
            continue
        anc, idx, _ = _operand(path, n)
        read = _args_read(anc, idx) if anc is not None else None
        if read is not None:
            loc.reads.append(read)
            continue
        if anc is not None and anc.kind == "BINARY_OPERATOR" and idx == 0 and anc.operator() == "=":
            rhs = unwrap(anc.children()[1])
            if rhs.kind == "DECL_REF_EXPR" and rhs.referenced is not None and rhs.referenced.usr in out:
                loc.copies.append(rhs.referenced.usr)
                continue
        guards = [g.referenced.usr for g in _guards(path)
                  if g.kind == "DECL_REF_EXPR" and g.referenced is not None and g.referenced.usr in out]
        if guards:
            loc.guarded_writes.append(guards)
        else:
            loc.bad = True
    return out


def _keyword_locals(locs: Mapping[str, _Local]) -> dict[str, dict[str, int | None]]:
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
                _add(kws, kw, pos)
            for c in loc.copies:
                for kw, pos in done[c].items():
                    _add(kws, kw, pos)
            for gs in loc.guarded_writes:
                g = next((g for g in gs if g == usr), None) or next(g for g in gs if g in done)
                for kw, pos in done.get(g, {}).items():  # a write guarded by the local itself adds nothing
                    _add(kws, kw, pos)
            done[usr] = kws
            changed = True
    return done


def _add(kws: dict[str, int | None], kw: str, pos: int | None) -> None:
    """Add a keyword; read positionally anywhere, its position is the lowest one (the most conservative)."""
    if kw not in kws:
        kws[kw] = pos
    elif pos is not None:
        old = kws[kw]
        kws[kw] = pos if old is None else min(old, pos)


# ------------------------------------------------------------------------------------------------- the pass

@dataclass
class Context:
    """What the pass needs from the analysis of one element class."""

    cls: str
    order: list[Node]  # the class and its bases (discovery.lookup_order)
    g: nx.DiGraph  # the element's call graph (virtual calls on this resolved)
    defs: Mapping[str, Node]  # walked function definitions by id
    functions: list[Node]  # every function definition of the element's own files
    packet: list[str]  # packet-path entry ids
    on_packet: Mapping[str, list[str]]
    configure: list[Node]
    handler_writes_forbidden: bool


def _reach(g: nx.DiGraph, roots: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for r in roots:
        if r in g and r not in out:
            out |= set(nx.descendants(g, r)) | {r}
    return out


def _write_handlers(ctx: Context) -> set[str]:
    """Functions whose address is only ever passed to ``add_write_handler``."""
    refs: dict[str, set[str]] = {}
    for fn in ctx.functions:
        for n, path in _walk(fn):
            if n.kind not in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") or n.referenced is None or n.referenced.kind not in (
                    "CXX_METHOD", "FUNCTION_DECL"):
                continue
            d = n.referenced.definition
            if d is None:
                continue
            anc, idx, _ = _operand(path, n)
            if anc is not None and anc.kind == "CALL_EXPR" and idx == 0:
                what = "(called)"  # called directly: not only a handler
            else:
                what = anc.spelling if anc is not None and anc.kind == "CALL_EXPR" else "?"
            refs.setdefault(function_id(d), set()).add(what)
    return {fid for fid, names in refs.items() if names == {"add_write_handler"}}


class _Analysis:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.functions = {function_id(f): f for f in ctx.functions}
        for fid, d in ctx.defs.items():
            self.functions.setdefault(fid, d)
        ctor_ids = {function_id(d) for c in ctx.order for d in _methods_of(c) if d.kind == "CONSTRUCTOR"}
        conf_ids = {function_id(d) for d in ctx.configure}
        wh = _write_handlers(ctx) if ctx.handler_writes_forbidden else set()
        methods = {function_id(d) for c in ctx.order for d in _methods_of(c)}
        g = ctx.g.copy()
        g.remove_edges_from([(a, b) for a, b in list(g.edges) if b in wh])
        # every function a method reaches; the own functions no method reaches are roots of their own (callers
        # outside the file): fail closed
        reached = _reach(ctx.g, methods)
        roots = (methods - set(ctx.packet) - conf_ids - ctor_ids - wh) | (set(self.functions) - reached)
        self.r_other = _reach(g, roots) | _reach(g, ctx.packet) | _reach(g, ctor_ids)
        self.r_wh = _reach(g, wh)
        self.conf_ids = conf_ids
        self.ctor_ids = ctor_ids
        self.locals = {fid: _keyword_locals(_locals(f)) for fid, f in ((function_id(f), f) for f in ctx.configure)}
        self._members: dict[str, Guard | None] = {}

    def member_guard(self, usr: str, fld: Node) -> Guard | None:
        if usr not in self._members:
            try:
                self._members[usr] = self._member_guard(usr, fld)
            except Exception:  # a construct the pass does not know: no condition
                self._members[usr] = None
        return self._members[usr]

    def _member_guard(self, usr: str, fld: Node) -> Guard | None:
        t = fld.type
        if not (t.is_pointer() or t.is_integer()):
            return None
        owner = fld.semantic_parent
        if owner is None:
            return None
        if not _starts_null(owner, usr, fld) and not self._configure_overwrites(usr):
            return None
        keywords: dict[str, int | None] = {}
        lines: list[str] = []
        for use in _member_uses(self.functions.values(), usr):
            if not use.write or use.null:
                continue
            fid = function_id(use.fn)
            if fid in self.conf_ids and fid not in self.r_other:
                kws = self._configure_write(fid, use)
                if kws is None:
                    return None
                for kw, pos in kws.items():
                    _add(keywords, kw, pos)
                lines.append(f"{os.path.basename(use.node.file)}:{use.node.line}")
            elif fid in self.r_wh and fid not in self.r_other and fid not in self.conf_ids:
                continue  # a write handler's: tenants may not call it on a kernel element
            else:
                return None
        if not keywords:
            return None  # never set: the finding is dead code, not a configuration's; leave it to the verdict
        order = tuple(sorted(keywords))
        positions = tuple(sorted((k, p) for k, p in keywords.items() if p is not None))
        return Guard(f"{self.ctx.cls}::{fld.spelling}", order, positions, ", ".join(sorted(set(lines))))

    def _configure_write(self, fid: str, use: _Use) -> dict[str, int | None] | None:
        """The keywords without which a write of the member in configure leaves it null, else None: an Args read
        of the member itself (form 1), a copy of a keyword local (form 2), or a write inside ``if (x)`` on a
        keyword local ``x``.  Only writes of ``this``'s member count: another object's is set by this
        instance's configuration, not by its own."""
        if _this_member(use.node) is None:
            return None
        anc, idx, _ = _operand(use.path, use.node)
        if anc is not None:
            read = _args_read(anc, idx)
            if read is not None:
                return {read[0]: read[1]}
            copied = self._copied_local(fid, anc, idx)
            if copied is not None:
                return copied
        return self._configure_guard(fid, use.path)

    def _copied_local(self, fid: str, anc: Node, idx: int) -> dict[str, int | None] | None:
        """The keywords of the local ``x`` when ``anc`` is ``M = x`` (the member on the left) and ``x`` is a pointer
        or integer local of configure that is null unless a keyword is given, else None."""
        if anc.kind != "BINARY_OPERATOR" or idx != 0 or anc.operator() != "=":
            return None
        kids = anc.children()
        if len(kids) != 2:
            return None
        rhs = unwrap(kids[1])
        ref = rhs.referenced if rhs.kind == "DECL_REF_EXPR" else None
        if ref is None or ref.kind != "VAR_DECL" or not (ref.type.is_pointer() or ref.type.is_integer()):
            return None
        return self.locals.get(fid, {}).get(ref.usr)

    def _configure_overwrites(self, usr: str) -> bool:
        """Whether the configure Click calls sets the member, before it can return a success, to a null value or
        a copy of a keyword local: a top-level statement ``M = x;`` of its body, no statement before it holding
        a ``return`` of anything but a negative integer literal, no ``goto`` or label anywhere in it.  Click runs
        no packet path or handler of an element before its configure returns a success, so the constructor's
        value of the member never reaches them."""
        if len(self.ctx.configure) != 1:
            return False
        conf = self.ctx.configure[0]
        fid = function_id(conf)
        body = [k for k in conf.children() if k.kind == "COMPOUND_STMT"]
        if fid not in self.conf_ids or fid in self.r_other or len(body) != 1:
            return False
        if any(n.kind in ("GOTO_STMT", "INDIRECT_GOTO_STMT", "LABEL_STMT") for n, _ in _walk(conf)):
            return False
        for stmt in body[0].children():
            s = unwrap(stmt)
            if s.kind == "BINARY_OPERATOR" and s.operator() == "=":
                kids = s.children()
                lhs = unwrap(kids[0]) if len(kids) == 2 else None
                if lhs is not None and _this_member(lhs) == usr and (
                        _is_null(kids[1]) or self._copied_local(fid, s, 0) is not None):
                    return True
            if any(n.kind == "RETURN_STMT" and not _returns_failure(n) for n, _ in _walk(s)):
                return False
        return False

    def _configure_guard(self, fid: str, path: Path) -> dict[str, int | None] | None:
        locs = self.locals.get(fid, {})
        for g in reversed(_guards(path)):  # the innermost guard by a keyword local
            if g.kind == "DECL_REF_EXPR" and g.referenced is not None and g.referenced.usr in locs:
                return locs[g.referenced.usr]
        return None

    def guard_at(self, fid: str, file: str, line: int, column: int, depth: int = 0) -> Guard | None:
        """The guard of code at a position of function ``fid`` on every path from the packet-path entries."""
        fn = self.functions.get(fid)
        if fn is None or depth > MAX_DEPTH:
            return None
        paths = _path_to(fn, file, line, column)
        if not paths:
            return None
        found = [self._local_guard(p) for p in paths]
        if found and all(g is not None for g in found):
            return found[0]
        if fid in self.ctx.packet:
            return None
        # every call of fid from the packet path must be guarded
        callers = [c for c in self.ctx.g.predecessors(fid) if c in self.ctx.on_packet] if fid in self.ctx.g else []
        if not callers:
            return None
        result: Guard | None = None
        for c in callers:
            cfn = self.functions.get(c)
            if cfn is None:
                return None
            sites = []
            for n, _path in _walk(cfn):
                ref = n.referenced if n.kind in ("CALL_EXPR", "DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
                d = ref.definition if ref is not None else None
                if d is not None and function_id(d) == fid:
                    if n.kind != "CALL_EXPR":
                        anc, idx, _ = _operand(_path, n)
                        if not (anc is not None and anc.kind == "CALL_EXPR" and idx == 0):
                            return None  # its address is taken: it may run from anywhere
                        continue
                    sites.append(n)
            if not sites:
                return None
            for s in sites:
                g = self.guard_at(c, s.file, s.line, s.column, depth + 1)
                if g is None:
                    return None
                result = result or g
        return result

    def _local_guard(self, path: Path) -> Guard | None:
        for g in reversed(_guards(path)):
            usr = _this_member(g)
            if usr is None:
                continue
            fld = g.referenced
            assert fld is not None
            guard = self.member_guard(usr, fld)
            if guard is not None:
                return guard
        return None


def _starts_null(owner: Node, usr: str, fld: Node) -> bool:
    """Condition 2: a null default member initializer, or every constructor of the declaring class sets the
    member to a null value."""
    default = [k for k in fld.children() if k.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF")]
    if default and not _is_null(default[-1]):
        return False
    ctors = [m.definition for m in _methods_of(owner.definition or owner, declared=True) if m.kind == "CONSTRUCTOR"]
    if any(c is None for c in ctors) or (not ctors and not default):
        return False
    return bool(default) or all(c is not None and _ctor_sets_null(c, usr) for c in ctors)


def _returns_failure(ret: Node) -> bool:
    """``return -N;`` with N a non-zero integer literal: configure fails, the element never runs."""
    kids = ret.children()
    if len(kids) != 1:
        return False
    e = unwrap(kids[0])
    if e.kind != "UNARY_OPERATOR" or e.operator() != "-":
        return False
    lit = e.children()
    return len(lit) == 1 and unwrap(lit[0]).kind == "INTEGER_LITERAL" and not _is_null(lit[0])


def _methods_of(cls: Node, declared: bool = False) -> list[Node]:
    kinds = ("CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE", "CONVERSION_FUNCTION")
    out = []
    for m in cls.children():
        if m.kind in kinds:
            if declared:
                out.append(m)
            elif m.definition is not None:
                out.append(m.definition)
    return out


def handler_writes_forbidden(policy: Policy) -> bool:
    """Whether the platform forbids tenants' write handlers on kernel elements (policy ``tenant_write_handlers:
    false``); a policy that does not say lets handlers write (fail closed)."""
    return getattr(policy, "tenant_write_handlers", True) is False


def guarded_hits(ctx: Context, hits: Mapping[str, Iterable[Any]]) -> dict[Key, Guard]:
    """The packet-path hits (by function id, each with ``rule.id``, ``file``, ``line``, ``column``) that only run
    when a configuration keyword is given, with their guard."""
    if not ctx.configure or not any(hits.get(fid) for fid in ctx.on_packet):
        return {}
    live = any(m.spelling in ("live_reconfigure", "can_live_reconfigure") for c in ctx.order for m in c.children())
    if live and not ctx.handler_writes_forbidden:
        return {}  # the config write handler may run configure again, with other keywords
    analysis = _Analysis(ctx)
    out: dict[Key, Guard] = {}
    for fid in ctx.on_packet:
        for h in hits.get(fid, ()):
            key = (h.rule.id, h.file, h.line, h.column)
            if key in out:
                continue
            try:
                g = analysis.guard_at(fid, h.file, h.line, h.column)
            except Exception:  # fail closed: the finding stays unconditional
                g = None
            if g is not None:
                out[key] = g
    return out


def split_conditions(findings: Iterable[Finding], guards: Mapping[Key, Guard],
                     verdict_class: Callable[[str], str],
                     costs: Mapping[str, list[str]] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """The conditions of an element's verdict and the verdict of its unconditional findings.

    Each condition: the keywords (any one given makes its findings count), the positions of those also read as
    positional arguments, the verdict its findings give, the findings (rule, file, line, column), the member
    and why, and the cost symbols only its guarded calls introduce (``costs``, by member: an instance that gives
    none of the keywords costs 0 for them).  A condition whose findings give no verdict class is left out; with
    no condition left, ``([], None)``.
    """
    worst = "none"
    by_member: dict[str, tuple[Guard, list[Finding], str]] = {}
    for f in findings:
        cls = verdict_class(f.rule)
        g = guards.get((f.rule, f.file, f.line, f.column))
        if g is None:
            if _RANK[cls] > _RANK[worst]:
                worst = cls
            continue
        old = by_member.get(g.member)
        fs = (old[1] if old else []) + [f]
        cur = old[2] if old else "none"
        by_member[g.member] = (g, fs, cls if _RANK[cls] > _RANK[cur] else cur)
    conditions = []
    for member, (g, fs, cls) in sorted(by_member.items(), key=lambda kv: min((f.file, f.line) for f in kv[1][1])):
        if cls == "none":
            continue
        conditions.append({
            "keywords": list(g.keywords),
            "positions": {k: p for k, p in g.positions},
            "verdict_if_given": cls,
            "member": member,
            "guard": g.text(),
            "findings": [{"rule": f.rule, "file": f.file, "line": f.line, "column": f.column} for f in fs],
            **({"cost_symbols": sorted(costs[member])} if costs and costs.get(member) else {}),
        })
    if not conditions:
        return [], None
    # a cost symbol is dropped for an instance only when every member holding one of its calls has a condition
    # here that the instance does not meet: one held by a member without a condition stays in every instance
    emitted = {c["member"] for c in conditions}
    for c in conditions:
        if "cost_symbols" in c:
            c["cost_symbols"] = [s for s in c["cost_symbols"]
                                 if all(m in emitted for m, syms in (costs or {}).items() if s in syms)]
            if not c["cost_symbols"]:
                del c["cost_symbols"]
    return conditions, "kernel" if worst == "none" else worst


def condition_text(verdict_unless: str | None, conditions: list[dict[str, Any]], verdict: str) -> str:
    """``kernel unless COUNT_CALL or BYTE_COUNT_CALL is given`` ('' when the conditions change nothing)."""
    if not conditions or verdict_unless is None or verdict_unless == verdict:
        return ""
    kws: list[str] = []
    for c in conditions:
        if _rank(c["verdict_if_given"]) > _rank(verdict_unless):
            kws.extend(k for k in c["keywords"] if k not in kws)
    return f"{verdict_unless} unless {' or '.join(kws)} is given" if kws else ""


def _rank(verdict: str) -> int:
    return _RANK.get("none" if verdict == "kernel" else verdict, 3)


def element_guards(cls: str, order: list[Node], g: nx.DiGraph, defs: Mapping[str, Node], functions: list[Node],
                   packet: list[str], on_packet: Mapping[str, list[str]], configure: list[Node], policy: Policy,
                   hits: Mapping[str, Iterable[Any]]) -> dict[Key, Guard]:
    """:func:`guarded_hits` for one element class of :mod:`analyzers.analysis`; a crash gives no guard (the
    findings stay unconditional), never an error of the element."""
    ctx = Context(cls, order, g, defs, functions, packet, on_packet, configure, handler_writes_forbidden(policy))
    try:
        return guarded_hits(ctx, hits)
    except Exception:
        return {}
