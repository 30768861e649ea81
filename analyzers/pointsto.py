"""Where pointers and references may point: the origin (points-to) solver, and the findings it decides.

The walk (:mod:`analyzers.checks.alias`) records, per function, plain facts about pointer and reference
values: *flows* (a variable, member, parameter or return value may hold what a term evaluates to), *stores*
(a value written through a pointer into memory whose origin a term gives), *seeds* (what a variable nobody
assigns holds: an element pointer another element, anything else unknown), *parameters* (with what an
entry point's caller may pass), *dereferences* and *casts*.  This module unites the facts of every
function an element's code reaches (packet path and configuration time: constructors, ``configure`` and
``initialize`` set the members the packet path uses), solves them to a fixpoint, flow-insensitively, and
decides the findings.

Origins (atoms): ``own`` (this element's storage: members of ``*this``, locals, temporaries, heap memory it
allocates), ``packet`` (a Packet object or the data its accessors return), ``null``, ``const`` (constant
globals, string literals, code), ``global:<qualified name>`` (mutable namespace-scope or static storage),
``element`` (another element object), ``router`` (the Router, reached only through the router API) and
``unknown`` (anything not proven otherwise: a value from an unresolved function, a mutable global pointer
another translation unit may set, a parameter of an entry point with no known caller).

Terms (plain nested tuples): ``("a", atom)``; ``("v", key)``, the origins a variable holds (``var:<usr>``,
``field:<usr>`` for a member of any object, field-based, ``param:<function usr>#<i>``, ``ret:<function
usr>``); ``("c", terms)``, a pointer loaded from memory the terms point to.  Memory cells are per origin:
a pointer loaded through a pointer into ``own`` memory is anything stored into ``own`` memory (and every
pointer variable whose address is taken or that a non-const reference binds, and every array of pointers,
is merged with the cell of its storage); a pointer loaded from any other memory is ``unknown`` besides what
was stored there.  Fail closed: a variable with no assignment holds its seed (``unknown`` unless its type
says ``element``), a variable whose value comes out empty (uninitialized, or only from empty cells) holds
``unknown``, a dereference whose target comes out empty dereferences ``unknown``.

Assumptions (stated, not proven): the trusted Click API (the policy's ``allowed_api``) returns, from a call
on an object, a pointer or reference into that object's origin (``_vec[i]`` and ``_vec.begin()`` of a member
are ``own``, ``g_str.data()`` of a global String is that global), and a free or static trusted function
returns a pointer into what its pointer arguments point to, or fresh storage (``own``) when it has none; a
trusted method may keep the pointers passed to it in its object (a store).  Every Packet method returns
packet data.  ``run_task``'s Task and ``run_timer``'s Timer are the element's own.  Limits: the analysis is
field-based (a member's origins are the union over every object's member of that name), flow-insensitive,
and sees only the functions the element's code reaches in this file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from analyzers.walker import Hit
from certify.core.rules import rule

GLOBAL_WRITE = rule("KS101")
GLOBAL_READ = rule("KS102")
ROUTER_ACCESS = rule("KS201")
ELEMENT_ACCESS = rule("KS202")
UNPROVEN_TARGET = rule("KS105")
REINTERPRET_CAST = rule("KS403")

OWN = "own"
PACKET = "packet"
NULL = "null"
CONST = "const"
ELEMENT = "element"
ROUTER = "router"
UNKNOWN = "unknown"
GLOBAL = "global:"
SAFE = frozenset((OWN, PACKET, NULL, CONST))  # a dereference of these is harmless
CAST_SAFE = frozenset((PACKET, NULL))  # a reinterpret_cast of these to a plain header type is the Click idiom

Term = tuple[Any, ...]
Terms = tuple[Term, ...]
Fact = tuple[Any, ...]


def atom(a: str) -> Term:
    return ("a", a)


def var(key: str) -> Term:
    return ("v", key)


def cell(terms: Terms) -> Term:
    return ("c", terms)


class Origins:
    """The solved origins of a set of facts: what every variable key and every term may point to."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        self.flows: dict[str, list[Terms]] = defaultdict(list)
        self.stores: list[tuple[Terms, Terms]] = []
        self.seeds: dict[str, str] = {}
        params: list[tuple[str, str, Terms, bool, str]] = []
        bound: set[str] = set()
        escaped: set[str] = set()
        for f in facts:
            kind = f[0]
            if kind == "flow":
                self.flows[f[1]].append(f[2])
            elif kind == "store":
                self.stores.append((f[1], f[2]))
            elif kind == "seed":
                self.seeds.setdefault(f[1], f[2])
            elif kind == "param":
                params.append((f[1], f[2], f[3], f[4], f[5]))
            elif kind == "bind":
                bound.add(f[1])
            elif kind == "escape":
                escaped.add(f[1])
        for fn, key, default, entry, vname in params:
            by_name = bool(vname) and "v:" + vname in bound  # a virtual method: bound by any call of its name
            if by_name:
                self.flows[key].append((var(f"vparam:{vname}#{key.rsplit('#', 1)[1]}"),))
            called = fn in bound or by_name
            if entry or fn in escaped or not called:  # callers we do not see may pass anything of its type
                self.flows[key].append(default)
        self.pts: dict[str, set[str]] = defaultdict(set)
        self._final = False
        self._fix()
        self._final = True  # now an empty variable or own cell is uninitialized memory: fail closed
        for k in [k for k in self.flows if not self.pts.get(k)]:
            self.pts[k].add(UNKNOWN)
        self._fix()

    def _fix(self) -> None:
        changed = True
        while changed:
            changed = False
            for key, sources in self.flows.items():
                have = self.pts[key]
                for t in sources:
                    new = self.eval(t)
                    if not new <= have:
                        have |= new
                        changed = True
            for target, value in self.stores:
                v = self.eval(value)
                for o in self.eval(target):
                    if o == NULL:
                        continue
                    have = self.pts["cell:" + o]
                    if not v <= have:
                        have |= v
                        changed = True

    def key(self, key: str) -> set[str]:
        if key in self.flows:
            return self.pts.get(key, set())
        return {self.seeds.get(key, UNKNOWN)}  # assigned nowhere we see

    def eval(self, terms: Terms) -> set[str]:
        out: set[str] = set()
        for t in terms:
            tag = t[0]
            if tag == "a":
                out.add(t[1])
            elif tag == "v":
                out |= self.key(t[1])
            elif tag == "c":
                for o in self.eval(t[1]):
                    if o == NULL:
                        continue
                    held = self.pts.get("cell:" + o, set())
                    out |= held
                    if o == PACKET:
                        out.add(PACKET)  # a packet's links (next, prev) are packets: Packet API trusted
                    elif o not in (OWN, CONST) or (self._final and not held):
                        out.add(UNKNOWN)  # memory other code may write, or nothing we saw wrote
        return out

    def target(self, terms: Terms) -> set[str]:
        """The origins a dereference of ``terms`` reaches: never empty (nothing proven is ``unknown``)."""
        got = self.eval(terms)
        return got or {UNKNOWN}


def deref_hits(facts: Sequence[Fact], origins: Origins) -> list[Hit]:
    """The findings of the dereferences among ``facts`` (one function's), under ``origins``."""
    out: list[Hit] = []
    for f in facts:
        if f[0] != "deref":
            continue
        _, file, line, column, terms, write, text = f
        for o in sorted(origins.target(terms)):
            if o in SAFE:
                continue
            if o.startswith(GLOBAL):
                out.append(Hit(GLOBAL_WRITE if write else GLOBAL_READ, file, line, column, o[len(GLOBAL):]))
            elif o == ELEMENT:
                out.append(Hit(ELEMENT_ACCESS, file, line, column, text))
            elif o == ROUTER:
                out.append(Hit(ROUTER_ACCESS, file, line, column, text))
            else:
                out.append(Hit(UNPROVEN_TARGET, file, line, column, text))
    return out


def cast_hits(facts: Sequence[Fact], origins: Origins) -> list[Hit]:
    """KS403 for each deferred ``reinterpret_cast`` among ``facts`` whose operand is not proven packet data."""
    out: list[Hit] = []
    for f in facts:
        if f[0] == "cast":
            _, file, line, column, terms, symbol = f
            if not origins.target(terms) <= CAST_SAFE:
                out.append(Hit(REINTERPRET_CAST, file, line, column, symbol))
    return out


def _new(hits: list[Hit], have: Iterable[Hit]) -> list[Hit]:
    """``hits`` less what the direct checks (``have``) already report: the same global by the same rule on the
    same line, or the same element or router access (KS201, KS202) on the same line; one KS105, KS201 or KS202
    per line."""
    named = {(h.rule.id, h.file, h.line, h.symbol) for h in have}
    lines = {(h.rule.id, h.file, h.line) for h in have if h.rule.id in ("KS201", "KS202")}
    out = []
    for h in hits:
        if h.rule.id in ("KS105", "KS201", "KS202"):
            at = (h.rule.id, h.file, h.line)
            if at in lines:
                continue
            lines.add(at)
        else:
            named_at = (h.rule.id, h.file, h.line, h.symbol)
            if named_at in named:
                continue
            named.add(named_at)
        out.append(h)
    return out


def element_hits(alias: dict[str, list[Fact]], hits: dict[str, list[Hit]], on_packet: Iterable[str],
                 on_config: Iterable[str]) -> dict[str, list[Hit]]:
    """The hits the origins decide, per function id, for one element: dereferences on the packet path,
    deferred casts everywhere its code reaches; solved over the facts of every function it reaches."""
    packet = set(on_packet)
    every = packet | set(on_config)
    origins = Origins(f for fid in sorted(every) for f in alias.get(fid, ()))
    out: dict[str, list[Hit]] = {}
    for fid in sorted(every):
        facts = alias.get(fid, [])
        found = cast_hits(facts, origins)
        if fid in packet:
            found += deref_hits(facts, origins)
        found = _new(found, hits.get(fid, []))
        if found:
            out[fid] = found
    return out


def linked_hits(alias: dict[str, list[Fact]], hits: dict[str, list[Hit]]) -> dict[str, list[Hit]]:
    """The same hits for every walked function of a file, solved over all of them: what another file of the
    run links to when it follows a definition here (:mod:`analyzers.crossfile`)."""
    return element_hits(alias, hits, list(alias), [])
