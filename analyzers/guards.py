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
      forms, :data:`analyzers.keywordlocals.READ_METHODS`; ``M`` the last
      argument, the keyword a string literal), which leaves ``M`` untouched when
      the keyword is absent; a positional read records its position as for
      locals.  Not
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

What the pass reads from the syntax tree (paths, uses of a member, the guards
of a path) is :mod:`analyzers.guardsyntax`; the keyword locals of configure are
:mod:`analyzers.keywordlocals`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from analyzers.frontend import Node
from analyzers.guardsyntax import (
    Path,
    Use,
    is_null,
    member_uses,
    methods_of,
    operand,
    path_guards,
    returns_failure,
    starts_null,
    this_member,
    walk,
)
from analyzers.keywordlocals import add_keyword, args_read, configure_locals, keyword_locals
from analyzers.policy import Policy
from analyzers.walker import function_id, unwrap
from certify.core.findings import Finding

MAX_DEPTH = 4
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
        for n, path in walk(fn):
            if n.kind not in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") or n.referenced is None or n.referenced.kind not in (
                    "CXX_METHOD", "FUNCTION_DECL"):
                continue
            d = n.referenced.definition
            if d is None:
                continue
            anc, idx, _ = operand(path, n)
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
        self._walks: dict[str, list[tuple[Node, Path]]] = {}
        self._at: dict[str, dict[tuple[int, int, str], list[Path]]] = {}
        self._refs: dict[str, dict[str, list[tuple[Node, Path]]]] = {}
        for fid, d in ctx.defs.items():
            self.functions.setdefault(fid, d)
        ctor_ids = {function_id(d) for c in ctx.order for d in methods_of(c) if d.kind == "CONSTRUCTOR"}
        conf_ids = {function_id(d) for d in ctx.configure}
        wh = _write_handlers(ctx) if ctx.handler_writes_forbidden else set()
        methods = {function_id(d) for c in ctx.order for d in methods_of(c)}
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
        self.locals = {fid: keyword_locals(configure_locals(f)) for fid, f in ((function_id(f), f) for f in ctx.configure)}
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
        if not starts_null(owner, usr, fld) and not self._configure_overwrites(usr):
            return None
        keywords: dict[str, int | None] = {}
        lines: list[str] = []
        for use in member_uses(self.functions.values(), usr):
            if not use.write or use.null:
                continue
            fid = function_id(use.fn)
            if fid in self.conf_ids and fid not in self.r_other:
                kws = self._configure_write(fid, use)
                if kws is None:
                    return None
                for kw, pos in kws.items():
                    add_keyword(keywords, kw, pos)
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

    def _configure_write(self, fid: str, use: Use) -> dict[str, int | None] | None:
        """The keywords without which a write of the member in configure leaves it null, else None: an Args read
        of the member itself (form 1), a copy of a keyword local (form 2), or a write inside ``if (x)`` on a
        keyword local ``x``.  Only writes of ``this``'s member count: another object's is set by this
        instance's configuration, not by its own."""
        if this_member(use.node) is None:
            return None
        anc, idx, _ = operand(use.path, use.node)
        if anc is not None:
            read = args_read(anc, idx)
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
        if any(n.kind in ("GOTO_STMT", "INDIRECT_GOTO_STMT", "LABEL_STMT") for n, _ in walk(conf)):
            return False
        for stmt in body[0].children():
            s = unwrap(stmt)
            if s.kind == "BINARY_OPERATOR" and s.operator() == "=":
                kids = s.children()
                lhs = unwrap(kids[0]) if len(kids) == 2 else None
                if lhs is not None and this_member(lhs) == usr and (
                        is_null(kids[1]) or self._copied_local(fid, s, 0) is not None):
                    return True
            if any(n.kind == "RETURN_STMT" and not returns_failure(n) for n, _ in walk(s)):
                return False
        return False

    def _configure_guard(self, fid: str, path: Path) -> dict[str, int | None] | None:
        locs = self.locals.get(fid, {})
        for g in reversed(path_guards(path)):  # the innermost guard by a keyword local
            if g.kind == "DECL_REF_EXPR" and g.referenced is not None and g.referenced.usr in locs:
                return locs[g.referenced.usr]
        return None

    def guard_at(self, fid: str, file: str, line: int, column: int, depth: int = 0) -> Guard | None:
        """The guard of code at a position of function ``fid`` on every path from the packet-path entries."""
        fn = self.functions.get(fid)
        if fn is None or depth > MAX_DEPTH:
            return None
        paths = self._paths_to(fid, fn, file, line, column)
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
            for n, _path in self._references(c, cfn).get(fid, ()):
                if n.kind != "CALL_EXPR":
                    anc, idx, _ = operand(_path, n)
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

    def _walk(self, fid: str, fn: Node) -> list[tuple[Node, Path]]:
        """:func:`walk` of one function, once per analysis (``guard_at`` asks for every finding and call site:
        walking the function each time made controlsocket.cc's guards take 10 s)."""
        got = self._walks.get(fid)
        if got is None:
            got = self._walks[fid] = list(walk(fn))
        return got

    def _references(self, fid: str, fn: Node) -> dict[str, list[tuple[Node, Path]]]:
        """The calls and references in function ``fid`` of each function with a definition, by its id, in walk
        order; once per analysis."""
        got = self._refs.get(fid)
        if got is None:
            got = self._refs[fid] = {}
            for n, path in self._walk(fid, fn):
                ref = n.referenced if n.kind in ("CALL_EXPR", "DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
                d = ref.definition if ref is not None else None
                if d is not None:
                    got.setdefault(function_id(d), []).append((n, path))
        return got

    def _paths_to(self, fid: str, fn: Node, file: str, line: int, column: int) -> list[Path]:
        """:func:`path_to` from an index of the function's cursors by position (same paths, same order)."""
        at = self._at.get(fid)
        if at is None:
            at = self._at[fid] = {}
            for n, path in self._walk(fid, fn):
                at.setdefault((n.line, n.column, n.file), []).append(path)
        return at.get((line, column, file), [])

    def _local_guard(self, path: Path) -> Guard | None:
        for g in reversed(path_guards(path)):
            usr = this_member(g)
            if usr is None:
                continue
            fld = g.referenced
            assert fld is not None
            guard = self.member_guard(usr, fld)
            if guard is not None:
                return guard
        return None



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
