"""Linking the files of one run: a call whose definition is in another analyzed file is followed there.

Each file is parsed once, in its own worker, so a packet-path method inherited
from a base class defined in another file (NotifierQueue::pull for
FrontDropQueue, IPFilter::push for IPClassifier) is unresolved (KS303) in the
first file's analysis.  When that other file is part of the same run, its
worker walked the definition and returned its hits and call edges keyed by USR
(stable across translation units).  This pass, over plain data only, replaces
each such KS303 finding by the findings of everything the definition reaches in
the union call graph, with the call path extended; virtual calls on ``this``
(``vthis:<name>``) are resolved against the element's own override table.  A
definition not in the run stays KS303: never kernel.
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from analyzers.analysis import unique_findings
from analyzers.assumptions import TrustedCall, describe
from analyzers.cost.formula import CostFormula
from analyzers.policy import Policy
from analyzers.report import ElementReport, FileResult
from analyzers.walker import Hit, hit_finding
from certify.core.findings import make_finding
from certify.core.rules import rule

UNRESOLVED_SYMBOL = rule("KS303")
VIRTUAL_CALL = rule("KS405")
UNBOUNDED = rule("KS502")


def link(results: list[FileResult], policy: Policy) -> None:
    """Resolve, in place, the KS303 findings of ``results`` whose definitions other results hold."""
    g: nx.DiGraph = nx.DiGraph()
    hits: dict[str, list[Hit]] = {}
    names: dict[str, str] = {}
    for r in results:
        for fid, hs in r.hits.items():
            hits.setdefault(fid, hs)
            g.add_node(fid)
        names.update(r.names)
        for a, b, site in r.edges:
            if not g.has_edge(a, b):
                g.add_edge(a, b, site=site)
    # a KS303 inside a summary whose callee another file defines becomes an edge to that definition
    for fid, hs in list(hits.items()):
        kept = []
        for hit in hs:
            usr = dict(hit.detail).get("usr", "")
            if hit.rule == UNRESOLVED_SYMBOL and usr in hits and usr != fid:  # == : hits cross processes
                if not g.has_edge(fid, usr):
                    g.add_edge(fid, usr, site=(hit.file, hit.line, hit.column))
            else:
                kept.append(hit)
        hits[fid] = kept
    costs: dict[str, str | None] = {}
    symbols: dict[str, dict[str, str]] = {}
    for r in results:
        costs.update(r.function_costs)
        symbols.update(r.class_symbols)
    trusted: dict[str, list[TrustedCall]] = {}
    for r in results:
        for fid, calls in r.trusted.items():
            trusted.setdefault(fid, calls)
    for r in results:
        for rep in r.elements:
            if any(usr in hits for _f, usr in rep.unresolved):
                _link_element(rep, g, hits, names, policy)
                _link_trusted(rep, g, trusted, hits, policy)
                _link_costs(rep, hits, costs, symbols, policy)


def _link_costs(rep: ElementReport, hits: dict[str, list[Hit]], costs: dict[str, str | None],
                symbols: dict[str, dict[str, str]], policy: Policy) -> None:
    """The cost of each packet-path method linked into another file is that file's cost of the definition; a
    definition that file could not bound (or did not bound-analyze) is KS502 here too, as it would be at home."""
    changed = False
    for method, qname, usr in rep.packet_elsewhere:
        if usr not in hits:
            continue  # not in this run: still KS303
        where = next((f for f, u in rep.unresolved if u == usr), None)
        file, line = (where.file, where.line) if where is not None else (rep.file, rep.line)
        cost = costs.get(qname)
        rep.cost[method] = cost
        if cost is not None:
            rep.cost_symbols.update(symbols.get(qname.rpartition("::")[0], {}))
            linked = set(CostFormula.parse(cost).symbols)
            if any(linked & set(syms) for syms in rep.guard_costs.values()):
                # the other file's calls are not held by this element's guards: those symbols stay in every instance
                rep.guard_costs = {m: [s for s in syms if s not in linked] for m, syms in rep.guard_costs.items()}
                changed = True
            continue
        problem = ("has no proven bound on its work (an unbounded loop or recursion, in another file of this run)"
                   if qname in costs else "was not bound-analyzed (its body is in another file of this run)")
        rep.findings.append(make_finding(UNBOUNDED, file, line, 1, severity=policy.severity(UNBOUNDED.id),
                                         variant="method", method=qname, problem=problem, element=rep.cls,
                                         symbol=qname))
        changed = True
    if changed:
        rep.findings = unique_findings(rep.findings)
        rep.decide(policy)


def _link_trusted(rep: ElementReport, g: nx.DiGraph, trusted: dict[str, list[TrustedCall]],
                  hits: dict[str, list[Hit]], policy: Policy) -> None:
    """The routines taken on trust by the definitions an element was linked into join its assumptions."""
    seen: set[str] = set()
    todo = [usr for _f, usr in rep.unresolved if usr in hits and usr in g]
    while todo:
        fid = todo.pop()
        if fid in seen or fid not in g:
            continue
        seen.add(fid)
        if fid.startswith("vthis:"):  # a virtual call on this: the element's own overrides
            todo.extend(t[1:] if t.startswith("?") else t for t in rep.overrides.get(fid[6:], []))
        todo.extend(g.successors(fid))
    more = {c for fid in seen for c in trusted.get(fid, [])}
    if not more <= rep.trusted:
        rep.trusted |= more
        rep.assumptions = describe(rep.trusted, policy)


def _link_element(rep: ElementReport, g: nx.DiGraph, hits: dict[str, list[Hit]], names: dict[str, str],
                  policy: Policy) -> None:
    h = g.copy()
    extra: dict[str, list[Hit]] = defaultdict(list)
    for node in [n for n in h if n.startswith("vthis:")]:
        method = node[6:]
        targets = rep.overrides.get(method)
        if targets is None:
            if policy.matches("allowed_api", f"Element::{method}"):
                continue
            targets = []
        for t in targets:
            if t.startswith("?") and t[1:] in hits:
                t = t[1:]
            if t in hits:
                h.add_edge(node, t)
        if not targets or any(t.startswith("?") and t[1:] not in hits for t in targets):
            for pred in h.predecessors(node):
                f, line, col = h.edges[pred, node]["site"]
                extra[pred].append(Hit(VIRTUAL_CALL, f, line, col, f"{rep.cls}::{method}"))
    current = set(rep.findings)
    for finding, usr in rep.unresolved:
        if finding not in current or usr not in hits:
            continue
        rep.findings.remove(finding)
        current.discard(finding)
        for fid, chain in nx.single_source_shortest_path(h, usr).items():
            path = finding.path + tuple(names[x] for x in chain if x in names)
            for hit in hits.get(fid, []) + extra.get(fid, []):
                rep.findings.append(hit_finding(hit, rep.cls, policy, path))
        rep.notes.append(f"followed {names.get(usr, usr)} into another file of this run")
    rep.findings = unique_findings(rep.findings)
    rep.decide(policy)
