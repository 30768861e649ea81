"""The analysis of one element file: parse once, walk once, attribute findings to element classes.

Pipeline (each step plain data to plain data):
1. parse the file (:mod:`analyzers.frontend`) and scan the own files' text
   (:mod:`analyzers.conditionals`, :mod:`analyzers.suppressions`);
2. discover element classes (:mod:`analyzers.discovery`) and walk, once each,
   every method they define and every function those reach, running all checks
   in one walk per function (:mod:`analyzers.walker`); the calls form a networkx
   call graph;
3. per exported element class: resolve virtual calls on ``this`` against its
   own overrides, take what its packet-path methods reach (the packet path) and
   what its configuration methods reach besides (config time), attach each
   function's hits with the shortest call path from an entry, add file-level
   facts (parse errors, requirements, kernel headers, kernel-only regions);
4. apply audited suppressions across the file's elements, then decide verdicts;
5. bound the loops and cost the packet-path methods (:mod:`analyzers.element_bounds`)
   on the same translation unit: the file is parsed once for its checks and its bounds.
A crash while attributing one element makes that element ``error``; a crash
before (discovery, graph) makes every exported element of the file ``error``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections import defaultdict
from typing import Any

import networkx as nx

from analyzers import globaluse
from analyzers.assumptions import TrustedCall, describe
from analyzers.checks import all_checks
from analyzers.checks.layout import FACTS as LAYOUT_FACTS
from analyzers.conditionals import Region, SourceFacts, scan
from analyzers.discovery import (
    CONFIG_METHODS,
    PACKET_METHODS,
    all_method_definitions,
    definitions_named,
    element_classes,
    element_info,
    lookup_order,
    methods,
    resolve,
)
from analyzers.frontend import Node, Parsed, ParseOptions, declarations_in, parse, release, system_include_dirs
from analyzers.guards import element_guards
from analyzers.pointsto import element_hits, linked_hits
from analyzers.policy import Policy
from analyzers.report import ElementReport, FileResult
from analyzers.suppressions import Suppression, scan_suppressions
from analyzers.walker import FUNCTION_KINDS, FunctionContext, Hit, Walker, display_name, function_id, hit_finding
from certify.core.findings import Finding, make_finding
from certify.core.rules import rule

MAX_FUNCTIONS = 5000
MAX_PARSE_ERRORS = 10


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def own_files(parsed: Parsed) -> list[str]:
    """The file and the files beside it that it includes directly."""
    return [parsed.path] + [p for p in parsed.beside(direct=True) if p != parsed.path]


def _finding(hit: Hit, element: str, policy: Policy, path: tuple[str, ...] = ()) -> Finding:
    return hit_finding(hit, element, policy, path)


class Graph:
    """The walked functions of one file, their hits, and the call graph."""

    def __init__(self) -> None:
        self.g: nx.DiGraph = nx.DiGraph()
        self.defs: dict[str, Node] = {}
        self.hits: dict[str, list[Hit]] = {}
        self.names: dict[str, str] = {}
        self.layout: dict[str, set[str]] = {}
        # per element class: its call graph with virtual calls resolved, its packet-path methods
        # ((method, function id) of each definition) and its add_handlers definitions, for the bounds
        self.reach: dict[str, tuple[nx.DiGraph, list[tuple[str, str]], list[str]]] = {}
        self.alias: dict[str, list[tuple[Any, ...]]] = {}  # points-to facts per function (analyzers.pointsto)
        self.own_functions: list[Node] = []  # every function defined in the element's own files (analyzers.guards)
        self.trusted: dict[str, set[TrustedCall]] = {}  # callees taken on trust, by function

    def build(self, roots: list[Node], policy: Policy, own: frozenset[str]) -> None:
        walker = Walker(all_checks())
        work = list(reversed(roots))
        while work:
            d = work.pop()
            fid = function_id(d)
            if fid in self.defs:
                continue
            if len(self.defs) >= MAX_FUNCTIONS:
                raise RuntimeError(f"call graph larger than {MAX_FUNCTIONS} functions")
            ctx = FunctionContext(d, policy, own)
            walker.walk_function(ctx)
            self.defs[fid] = d
            self.names[fid] = display_name(d)
            self.hits[fid] = sorted(set(ctx.hits), key=lambda h: (h.file, h.line, h.column, h.rule.id))
            self.layout[fid] = set(ctx.layout)
            self.alias[fid] = list(dict.fromkeys(ctx.alias))
            self.trusted[fid] = set(ctx.trusted)
            self.g.add_node(fid)
            for c in ctx.calls:
                if not self.g.has_edge(fid, c.callee):
                    self.g.add_edge(fid, c.callee, site=(c.file, c.line, c.column))
            work.extend(reversed(ctx.to_walk))


def _reach(g: nx.DiGraph, entries: list[str]) -> dict[str, list[str]]:
    """For every node reached from ``entries``, the shortest path from the first entry reaching it."""
    paths: dict[str, list[str]] = {}
    for e in entries:
        if e in g:
            for node, p in nx.single_source_shortest_path(g, e).items():
                paths.setdefault(node, p)
    return paths


def _file_hits(parsed: Parsed, facts: dict[str, SourceFacts], policy: Policy, opts: ParseOptions) -> list[Hit]:
    hits: list[Hit] = []
    for d in parsed.diagnostics[:MAX_PARSE_ERRORS]:
        hits.append(Hit(rule("KS001"), os.path.abspath(d.file), d.line, d.column, "",
                        (("detail", f"{d.severity}: {d.message}"),)))
    if len(parsed.diagnostics) > MAX_PARSE_ERRORS:
        d = parsed.diagnostics[MAX_PARSE_ERRORS]
        more = len(parsed.diagnostics) - MAX_PARSE_ERRORS
        hits.append(Hit(rule("KS001"), os.path.abspath(d.file), d.line, d.column, "", (("detail", f"and {more} more errors"),)))
    search = list(system_include_dirs()) + list(opts.includes)
    if opts.click_root:
        search.append(os.path.join(opts.click_root, "include"))
    for f in facts.values():
        for inc in f.includes:
            if not inc.angled or inc.user is not True:  # only an include every user-level build makes
                continue
            if not any(fnmatch.fnmatch(inc.name, p) for p in policy.lists.get("kernel_header_names", [])):
                continue
            if not any(os.path.exists(os.path.join(d, inc.name)) for d in search):
                hits.append(Hit(rule("KS305"), f.file, inc.line, 1, inc.name))
        for word, line in f.requires:
            if word in ("linuxmodule", "bsdmodule"):
                hits.append(Hit(rule("KS306"), f.file, line, 1, word))
            elif word in ("userlevel", "ns"):
                hits.append(Hit(rule("KS307"), f.file, line, 1, word))
    return hits


def _region_hits(region: Region, graph: Graph, extents: list[tuple[str, int, int]],
                 class_extents: list[tuple[str, int, int]], facts: dict[str, SourceFacts]) -> list[tuple[str, Hit]]:
    """KS304 hits for a kernel-only region: (id of the walked function it is in, or '' for the whole element, hit).

    A region inside a function that was not walked (unreachable from any element method) gives none, and
    so does a region of scalar data members in a class body (``#ifdef CLICK_LINUXMODULE`` / ``bool _aligned;``
    / ``#endif``) whose names appear nowhere else in the element's files but in kernel-only regions: it adds
    storage that only kernel-only code can use -- code that is itself a region held against the element --
    and runs nothing."""
    detail = (("first", str(region.first)), ("last", str(region.last)))
    hit = Hit(rule("KS304"), region.file, region.first, 1, f"lines {region.first}-{region.last}", detail)
    inside = [fid for fid, d in graph.defs.items()
              if d.extent[0] == region.file and d.extent[1] <= region.last and d.extent[2] >= region.first]
    if inside:
        return [(fid, hit) for fid in inside]

    def within(spans: list[tuple[str, int, int]]) -> bool:
        return any(f == region.file and a <= region.first and b >= region.last for f, a, b in spans)

    if within(extents) or (region.data_only and within(class_extents) and not _used_at_user_level(region, facts)):
        return []
    return [("", hit)]


def _used_at_user_level(region: Region, facts: dict[str, SourceFacts]) -> bool:
    """A name ``region`` declares appears in the element's files outside kernel-only regions.

    Then user-level code may mean another entity by it (a base class's member the kernel-only one hides), and
    the kernel build would run that code on storage the analysis never saw initialized."""
    if not region.declared:
        return True
    word = re.compile(r"\b(?:" + "|".join(map(re.escape, region.declared)) + r")\b")
    for f in facts.values():
        try:
            with open(f.file, encoding="utf-8", errors="replace") as src:
                lines = src.read().splitlines()
        except OSError:
            return True
        for n, line in enumerate(lines, 1):
            if word.search(line) and not any(r.first <= n <= r.last for r in f.kernel_only):
                return True
    return False


def _element_report(name: str, cls: Node, graph: Graph, policy: Policy, file_hits: list[Hit],
                    region_hits: list[tuple[str, Hit]]) -> ElementReport:
    order = lookup_order(cls)
    rep = ElementReport(name, cls.file, cls.line, info=element_info(order))
    g = graph.g.copy()
    extra: dict[str, list[Hit]] = defaultdict(list)
    for node in [n for n in g if isinstance(n, str) and n.startswith("vthis:")]:
        method = node[6:]
        targets, missing = resolve(order, method)
        for t in targets:
            g.add_edge(node, function_id(t))
        element_default = not targets and not missing and policy.matches("allowed_api", f"Element::{method}")
        if missing or (not targets and not element_default):
            for pred in g.predecessors(node):
                f, line, col = g.edges[pred, node]["site"]
                extra[pred].append(Hit(rule("KS405"), f, line, col, f"{name}::{method}"))
    packet = []
    for m in PACKET_METHODS:
        defs, missing = resolve(order, m)
        packet += [function_id(d) for d in defs]
        rep.packet_defs += [(m, d.qualified_name(), d.file, d.line) for d in defs]
        for decl in missing:  # a packet method whose body is in another file: not analyzed here, never kernel
            f = _finding(Hit(rule("KS303"), decl.file, decl.line, decl.column, decl.qualified_name()), name, policy, ())
            rep.findings.append(f)
            rep.unresolved.append((f, decl.usr))
            rep.packet_elsewhere.append((m, decl.qualified_name(), decl.usr))
    config = [function_id(d) for m in CONFIG_METHODS for d in definitions_named(order, m)]
    config += [function_id(d) for d in all_method_definitions(order) if d.kind in ("CONSTRUCTOR", "DESTRUCTOR")]
    on_packet = _reach(g, packet)
    graph.reach[name] = (g, [(m, function_id(d)) for m in PACKET_METHODS for d in resolve(order, m)[0]],
                         [function_id(d) for d in definitions_named(order, "add_handlers")])
    on_config = {k: v for k, v in _reach(g, config).items() if k not in on_packet}
    for fid, hs in element_hits(graph.alias, graph.hits, on_packet, on_config).items():
        extra[fid].extend(hs)  # dereferences and casts the origins decide (analyzers.pointsto)
    for fid_paths, sink in ((on_packet, rep.findings), (on_config, rep.config_findings)):
        for fid, chain in fid_paths.items():
            names = tuple(graph.names[x] for x in chain if x in graph.names)
            for h in graph.hits.get(fid, []) + extra.get(fid, []):
                # a crash anywhere in the element's code makes the verdict an error
                f = _finding(h, name, policy, names)
                (rep.findings if h.rule.id == "KS002" else sink).append(f)
                usr = dict(h.detail).get("usr")
                if usr and sink is rep.findings and h.rule.id == "KS303":
                    rep.unresolved.append((f, usr))
    for fid, h in region_hits:
        if fid == "" or fid in on_packet:
            names = tuple(graph.names[x] for x in on_packet.get(fid, []) if x in graph.names)
            rep.findings.append(_finding(h, name, policy, names))
        elif fid in on_config:
            rep.config_findings.append(_finding(h, name, policy))
    rep.findings.extend(_finding(h, name, policy) for h in file_hits)
    for klass in order:
        for meth in methods(klass):
            if meth.spelling not in rep.overrides:
                defs, missing = resolve(order, meth.spelling)
                rep.overrides[meth.spelling] = [function_id(d) for d in defs] + ["?" + d.usr for d in missing]
    rep.packet_layout = _packet_layout(rep, graph, on_packet)
    hits = {fid: graph.hits.get(fid, []) + extra.get(fid, []) for fid in on_packet}
    rep.guards = element_guards(name, order, g, graph.defs, graph.own_functions, packet, on_packet,
                                definitions_named(order, "configure"), policy, hits)
    rep.trusted = set().union(*(graph.trusted.get(fid, set()) for fid in on_packet))
    if any(g.has_edge(a, b) for a in on_packet for b in config if a in g):
        rep.notes.append("the packet path calls a configuration-time method")
    return rep


UNRESOLVED = frozenset(("KS001", "KS002", "KS303", "KS404", "KS405"))


def _packet_layout(rep: ElementReport, graph: Graph, on_packet: dict[str, list[str]]) -> dict[str, bool] | None:
    """The layout facts of the whole packet path, or None when some call on it was not resolved."""
    if not on_packet or any(f.rule in UNRESOLVED for f in rep.findings):
        return None
    found = set().union(*(graph.layout.get(fid, set()) for fid in on_packet))
    return {fact: fact in found for fact in LAYOUT_FACTS}


def unique_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per rule and place (the one with the shortest call path), sorted."""
    best: dict[tuple[str, str, int, int, str], Finding] = {}
    for f in findings:
        key = (f.rule, f.file, f.line, f.column, f.symbol)
        if key not in best or len(f.path) < len(best[key].path):
            best[key] = f
    return sorted(best.values())


def _apply_suppressions(reports: list[ElementReport], supps: list[Suppression], policy: Policy) -> None:
    used: set[Suppression] = set()
    for rep in reports:
        for attr in ("findings", "config_findings"):
            kept = []
            for f in getattr(rep, attr):
                s = next((s for s in supps if not s.problem and s.file == f.file and s.target == f.line and f.rule in s.rules),
                         None)
                if s is None:
                    kept.append(f)
                else:
                    used.add(s)
                    rep.suppressed.append(dict(s.to_json(), rule=f.rule, finding_line=f.line))
            setattr(rep, attr, kept)
    for s in supps:
        if s.problem:
            hit = Hit(rule("KS004"), s.file, s.line, s.column, ",".join(s.rules), (("detail", s.problem),))
        elif s not in used:
            hit = Hit(rule("KS003"), s.file, s.line, s.column, ",".join(s.rules), (("rule_id", ",".join(s.rules)),))
        else:
            continue
        for rep in reports:
            rep.findings.append(_finding(hit, rep.cls, policy))


def analyze_file(path: str, opts: ParseOptions, policy: Policy, kernel_mode: bool = True, index: Any = None) -> FileResult:
    """Analyze one element source file; raises OSError only when it cannot be read."""
    text = _read(path)
    parsed = parse(path, opts, index)
    try:
        return _analyze_parsed(path, text, parsed, opts, policy, kernel_mode)
    finally:
        release(parsed)


def _analyze_parsed(path: str, text: str, parsed: Parsed, opts: ParseOptions, policy: Policy,
                    kernel_mode: bool) -> FileResult:
    t0 = time.perf_counter()
    result = FileResult(os.path.abspath(path), parse_seconds=parsed.seconds, errors=len(parsed.diagnostics),
                        diagnostics=[(os.path.abspath(d.file), d.line, d.column, d.severity, d.message)
                                     for d in parsed.diagnostics[:MAX_PARSE_ERRORS]])
    own = own_files(parsed)
    facts = {f: scan(f, text if f == parsed.path else _read(f)) for f in own}
    exports = [(cls, f, line) for f in own for cls, line in facts[f].exports]
    supps = [s for f in own for s in scan_suppressions(f, _read(f), policy.unsuppressible)]
    file_hits = _file_hits(parsed, facts, policy, opts)
    reports: list[ElementReport] = []
    try:
        assert parsed.root is not None
        declarations = declarations_in(parsed.root, own)
        classes = element_classes(declarations)
        graph = Graph()
        roots = [d for cls in classes.values() for d in all_method_definitions(lookup_order(cls))]
        graph.build(roots, policy, frozenset(own))
        result.functions = len(graph.defs)
        linked = linked_hits(graph.alias, graph.hits)  # what another file of the run links to
        result.hits = {k: list(v) + linked.get(k, []) for k, v in graph.hits.items()}
        result.names = dict(graph.names)
        result.edges = [(a, b, d["site"]) for a, b, d in graph.g.edges(data=True)]
        written, defined = globaluse.uses(globaluse.function_definitions(declarations) + list(graph.defs.values()),
                                          frozenset(own))
        result.global_writes, result.global_defined = sorted(written), sorted(defined)
        result.trusted = {k: sorted(v) for k, v in graph.trusted.items() if v}
        extents = [n.extent for n in declarations if n.kind in FUNCTION_KINDS and n.is_definition()]
        class_extents = [n.extent for n in declarations
                         if n.kind in ("CLASS_DECL", "STRUCT_DECL", "CLASS_TEMPLATE") and n.is_definition()]
        graph.own_functions = [n for n in declarations if n.kind in FUNCTION_KINDS and n.is_definition()]
        region_hits: list[tuple[str, Hit]] = []
        if kernel_mode:
            for f in own:
                for r in facts[f].kernel_only:
                    if r.code:
                        region_hits.extend(_region_hits(r, graph, extents, class_extents, facts))
    except Exception as e:  # discovery or graph failed: every exported element is an error
        for cls_name, f, line in exports:
            rep = ElementReport(cls_name, f, line)
            rep.findings.append(_finding(Hit(rule("KS002"), f, line, 1, cls_name, (("detail", f"{type(e).__name__}: {e}"),)),
                                         cls_name, policy))
            rep.findings.extend(_finding(h, cls_name, policy) for h in file_hits)
            reports.append(rep)
        classes = {}
    else:
        for cls_name, f, line in exports:
            cls = classes.get(cls_name)
            try:
                if cls is None:
                    rep = ElementReport(cls_name, f, line)
                    rep.findings.append(_finding(Hit(rule("KS005"), f, line, 1, cls_name), cls_name, policy))
                    rep.findings.extend(_finding(h, cls_name, policy) for h in file_hits)
                    rep.findings.extend(_finding(h, cls_name, policy) for fid, h in region_hits if fid == "")
                else:
                    rep = _element_report(cls_name, cls, graph, policy, file_hits, region_hits)
            except Exception as e:
                rep = ElementReport(cls_name, f, line)
                rep.findings.append(_finding(Hit(rule("KS002"), f, line, 1, cls_name, (("detail", f"{type(e).__name__}: {e}"),)),
                                             cls_name, policy))
            reports.append(rep)
    if not kernel_mode:
        for rep in reports:
            rep.notes.append("user-level mode: kernel-only code was not considered")
    else:
        for rep in reports:
            rep.notes.append("kernel mode: analyzed from the user-level parse (no kernel headers); "
                             "kernel-only code is fail-closed (KS304)")
    if parsed.diagnostics:
        for rep in reports:
            rep.notes.append(f"{len(parsed.diagnostics)} parse errors: not certifiable for the kernel (KS001)")
    _apply_suppressions(reports, supps, policy)
    for rep in reports:
        rep.source = parsed.path
        rep.findings = unique_findings(rep.findings)
        rep.config_findings = unique_findings(rep.config_findings)
        rep.assumptions = describe(rep.trusted, policy)
        rep.decide(policy)
    if not reports:
        result.findings = [_finding(h, "", policy) for h in file_hits]
    result.elements = reports
    if reports:
        from analyzers.element_bounds import add_bounds

        try:
            add_bounds(result, parsed, path, opts, policy, graph)  # on this parse: one per file
        except Exception as e:  # the bound analysis failed: bounds unknown, costs unbounded, never a pass
            for rep in reports:
                rep.notes.append(f"loop bounds not analyzed: {type(e).__name__}: {e}")
                rep.cost = {m: None for m, _, _, _ in rep.packet_defs}
                for m, qname, file, line in rep.packet_defs:
                    rep.findings.append(make_finding(
                        rule("KS502"), file, line, 1, severity=policy.severity("KS502"), variant="method",
                        method=qname, problem=f"was not bound-analyzed (the bound analysis failed: {type(e).__name__})",
                        element=rep.cls, symbol=qname))
                rep.decide(policy)
    result.analysis_seconds = time.perf_counter() - t0
    return result
