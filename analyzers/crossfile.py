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
from analyzers.policy import Policy
from analyzers.report import ElementReport, FileResult
from analyzers.walker import Hit, hit_finding
from certify.core.rules import rule

UNRESOLVED_SYMBOL = rule("KS303")
VIRTUAL_CALL = rule("KS405")


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
    for r in results:
        for rep in r.elements:
            if any(usr in hits for _f, usr in rep.unresolved):
                _link_element(rep, g, hits, names, policy)


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
