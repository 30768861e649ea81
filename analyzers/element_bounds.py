"""Loop bounds and costs of an element's packet-path methods, for verdicts and records.

Decides what `certify element` and `certify library` add from the loop-bound
analysis (:func:`analyzers.bounds.analyze_parsed`, on the translation unit the
checks parsed and walked: one parse per file): per element class (by C++ name), the loops
of its own methods, the worst-case cost of each packet-path method (push,
pull, simple_action, smaction, run_task, run_timer; ``None`` when unbounded),
and what fills each cost symbol where that is known (``*_length`` of a packet:
``packet_length``; ``ninputs``/``noutputs``: the instance's port counts; a
symbol of a declared API cost, such as ``classifier_words``: what
``api_costs.yaml`` says; an unsigned bit-field of w bits: ``max:2^w-1``; a
member read from a configuration argument in
configure() and assigned nowhere else: ``config:KEYWORD@POSITION``; the
rest stays unfilled, so the partition counts it as unbounded).

Findings: a loop whose bound reads a member or global that the packet path (or,
when the policy's ``tenant_write_handlers`` is true, a handler) can write is
unbounded (:mod:`analyzers.growth`, :func:`growth_sites`); every unbounded loop a
packet-path method reaches is KS502 at the loop, or at those writes when they are
why; KS502 at the method only when no loop explains its unbounded cost (recursion,
an argument a callee's cost needs that cannot be expressed) or it was not
bound-analyzed; KS501 on a loop the packet path reaches is a packet-path finding.
Such an element is never ``kernel``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import sympy

from analyzers import apicost, growth
from analyzers import loopmath as lm
from analyzers.bounds import BoundsInputError, BoundsReport, analyze_parsed, loop_json
from analyzers.cost.fills import ConfigSetting, Maximum, PacketLength, PortCount
from analyzers.cost.formula import CostFormula
from analyzers.cost.methods import KERNEL_METHODS
from analyzers.frontend import Parsed, ParseOptions
from analyzers.growth import Site
from analyzers.loopexpr import relpath
from analyzers.loops import Loop
from analyzers.policy import Policy
from analyzers.report import ElementReport, FileResult
from analyzers.symbolfacts import ConfigurationArgument, UnsignedBitField
from analyzers.symbolfacts import PacketLength as PacketLengthFact
from certify.core.findings import Finding, make_finding
from certify.core.rules import rule

PACKET_METHODS = KERNEL_METHODS
_UNBOUNDED = (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan)
_LOOP_KEYS = ("file", "line", "column", "function", "kind", "bound", "bound_symbolic", "status")


@dataclass
class ElementBounds:
    """The bound analysis of one element file: per C++ class its loops (JSON rows) and cost symbols, per
    qualified function name its cost (None when unbounded), and the loops and findings (KS501) themselves."""

    per_class: dict[str, dict[str, Any]]
    costs: dict[str, str | None]
    loops: list[Loop] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    call_sites: dict[str, set[tuple[str, int, int]]] = field(default_factory=dict)  # cost_<name> -> its calls


def element_bounds(parsed: Parsed, opts: ParseOptions, path: str | None = None,
                   grown: dict[str, list[Site]] | None = None) -> ElementBounds | None:
    """The bounds and costs of the file's functions; None when the file could not be bound-analyzed (it does
    not parse).

    ``parsed``: the element file as :func:`analyzers.analysis.analyze_file` parsed it (with ``opts``); ``path``:
    the file as its loops name it (default: its absolute path); ``grown``: the members and globals the packet
    path writes (:mod:`analyzers.growth`), whose loops are unbounded."""
    shown = parsed.path if path is None else path
    try:
        report: BoundsReport = analyze_parsed(parsed, shown, opts, grown)
    except BoundsInputError:
        return None
    out: dict[str, dict[str, Any]] = {}
    costs: dict[str, str | None] = {}
    declared = apicost.load().symbols
    with open(shown, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for fn in report.functions:
        name = fn.name
        cost = str(fn.cost)
        unbounded = fn.cost.has(*_UNBOUNDED)  # the analyzer's own expression: nothing to parse back
        costs[name] = None if unbounded else cost
        cls = name.rpartition("::")[0]
        if cls:
            entry = out.setdefault(cls, {"loops": [], "cost_symbols": {}})
            if not unbounded:
                for sym in sorted(str(x) for x in fn.cost.free_symbols):
                    fact = report.symbols.get(sym)
                    if isinstance(fact, PacketLengthFact):  # p->length(), never a member named *_length
                        entry["cost_symbols"][sym] = PacketLength().spec
                    elif sym in ("ninputs", "noutputs"):  # Element::ninputs()/noutputs(): the instance's ports
                        entry["cost_symbols"][sym] = PortCount(outputs=sym == "noutputs").spec
                    elif sym in declared:  # a declared API cost's symbol (classifier_words)
                        entry["cost_symbols"][sym] = declared[sym]
                    elif isinstance(fact, UnsignedBitField):
                        entry["cost_symbols"][sym] = Maximum(2 ** fact.bits - 1).spec
                    elif isinstance(fact, ConfigurationArgument):
                        fill = config_fill(text, sym, fact.keyword)
                        if fill:
                            entry["cost_symbols"][sym] = fill
    for lp in report.loops:
        cls = lp.function.rpartition("::")[0]
        if cls in out:
            loop = loop_json(lp)
            out[cls]["loops"].append({k: loop[k] for k in _LOOP_KEYS})
    return ElementBounds(out, costs, list(report.loops), [f for f in report.findings if f.rule == "KS501"],
                         {sym: set(where) for sym, where in report.call_sites.items()})


_POSITIONAL_READ = re.compile(r'\.read_m?p(?:_with)?\s*\(\s*"([A-Z][A-Z0-9_]*)"')


def config_fill(text: str, member: str, keyword: str) -> str | None:
    """What fills a member read from configuration argument ``keyword`` (as the record stores a
    :class:`~analyzers.cost.fills.ConfigSetting`): ``config:KEYWORD@N`` (N: its position
    among the positional reads of the one Args chain) or ``config:KEYWORD``; None when the file assigns the member
    anywhere else (a text check, conservative: an initialize() that clamps or rescales it would make the
    configured value the wrong one)."""
    m = re.escape(member)
    if re.search(rf"\b{m}\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)|\b{m}\s*(?:\+\+|--)|(?:\+\+|--)\s*{m}\b", text):
        return None
    keywords = _POSITIONAL_READ.findall(text)
    if text.count("Args(") == 1 and keywords.count(keyword) == 1:
        return ConfigSetting(keyword, keywords.index(keyword)).spec
    return ConfigSetting(keyword).spec


def growth_sites(result: FileResult, graph: Any, policy: Policy) -> dict[str, list[Site]]:
    """The members and globals (by USR) that some element of the file can write while packets flow, with the
    writes: in every function its packet-path methods reach, and, when the policy lets tenants call write
    handlers (``tenant_write_handlers``), every function its ``add_handlers`` reaches (the handlers)."""
    grown: dict[str, list[Site]] = {}
    if graph is None:
        return grown
    for rep in result.elements:
        got = graph.reach.get(rep.cls)
        if got is None:
            continue
        g, methods, handlers = got
        packet = _reached(g, [fid for _m, fid in methods])
        fids = set(packet)
        if policy.tenant_write_handlers:
            fids |= _reached(g, handlers) - set(handlers)
        for fid in sorted(fids):
            d = graph.defs.get(fid)
            if d is None:
                continue
            for usr, sites in growth.writes_in(d).items():
                if fid not in packet:  # reached only from a handler
                    sites = [(f, ln, col, m, how + ", in a write handler tenants may call") for f, ln, col, m, how in sites]
                grown.setdefault(usr, []).extend(s for s in sites if s not in grown[usr])
    return grown


def _reached(g: nx.DiGraph, entries: list[str]) -> set[str]:
    out: set[str] = set()
    for e in entries:
        if e in g:
            out |= {e} | nx.descendants(g, e)
    return out


def add_bounds(result: FileResult, parsed: Parsed, path: str, opts: ParseOptions, policy: Policy,
               graph: Any = None) -> None:
    """Attach loops and packet-path costs, from the parse the checks used (``parsed``, of ``path`` with ``opts``),
    and their findings.  ``graph``: the checks' :class:`analyzers.analysis.Graph` (which functions each element's
    packet path reaches); without it only the method-level findings are given.

    KS502 at each unbounded loop the packet path reaches (in a helper, a lambda, a template as instantiated, a
    base class, a header beside the file); for a loop whose bound a packet-path write makes unknown, at each such
    write, naming the loop; at the method only when no loop explains an unbounded cost (recursion, a call whose
    cost cannot be expressed) or the method was not bound-analyzed (its body is outside this file).  KS501 (a
    loop-bound annotation the analysis contradicts) for a loop on the packet path.  Such a class is never
    ``kernel``."""
    grown = growth_sites(result, graph, policy)
    got = element_bounds(parsed, opts, path, grown=grown)
    per_class, costs = (got.per_class, got.costs) if got is not None else ({}, {})
    result.function_costs = dict(costs)
    result.class_symbols = {cls: dict(b["cost_symbols"]) for cls, b in per_class.items()}
    for rep in result.elements:
        if got is None and any(f.rule == "KS001" for f in rep.findings):
            rep.cost = {m: None for m, _, _, _ in rep.packet_defs}
            continue  # it does not parse: KS001 already keeps it out of the kernel
        b = per_class.get(rep.cls.split("-")[0], {"loops": [], "cost_symbols": {}})
        rep.loops = list(b["loops"])
        symbols: dict[str, str] = {}
        problems = []
        for method, qname, file, line in rep.packet_defs:
            if qname not in costs:
                rep.cost[method] = None
                problems.append((method, qname, file, line, "was not bound-analyzed (its body is outside this file)"))
                continue
            cost = costs[qname]
            rep.cost[method] = cost
            if cost is None:
                problems.append((method, qname, file, line, "has no proven bound on its work (recursion, or a "
                                 "call whose cost cannot be expressed)"))
            else:
                owner = per_class.get(qname.rpartition("::")[0], {"cost_symbols": {}})
                symbols.update(owner["cost_symbols"])
        rep.cost_symbols = symbols
        if got is not None:
            rep.guard_costs = guarded_costs(rep, got.call_sites)
        reach = graph.reach.get(rep.cls) if graph is not None else None
        explained: set[str] = set()  # functions with an unbounded loop reported at a better line
        if got is not None and reach is not None:
            explained = _loop_findings(rep, got, reach, policy)
        for method, qname, file, line, why in problems:
            fid = next((f for m, f in reach[1] if m == method), None) if reach is not None else None
            if reach is not None and fid is not None and qname in costs and _reached(reach[0], [fid]) & explained:
                continue  # an unbounded loop it reaches is reported where it is
            rep.findings.append(make_finding(rule("KS502"), str(file), int(line), 1, severity=policy.severity("KS502"),
                                             variant="method", method=qname, problem=why, element=rep.cls,
                                             symbol=qname))
        rep.decide(policy)


def guarded_costs(rep: ElementReport, call_sites: dict[str, set[tuple[str, int, int]]]) -> dict[str, list[str]]:
    """The unresolved-call symbols (``cost_<name>``) of the element's costs whose every call in the file lies at a
    packet-path finding a configuration guard holds (:mod:`analyzers.guards`): listed under each member that
    holds one of its calls.  InfiniteSource calls ``HandlerCall::call_write`` only under ``if (_end_h)``: an
    instance giving neither END_CALL nor STOP never runs it, so its cost is 0 there; Counter's calls are held by
    two members, and the symbol is 0 only for an instance that gives the keywords of neither.  A symbol with a
    call no guard holds, or whose calls are not known here (a cost linked from another file), is not listed: it
    stays in every instance."""
    member_at = {(os.path.abspath(f), line, col): g.member for (_rule, f, line, col), g in rep.guards.items()}
    out: dict[str, list[str]] = {}
    free = {s for c in rep.cost.values() if c for s in CostFormula.parse(c).symbols}
    for sym in sorted(free):
        sites = call_sites.get(sym)
        if not sym.startswith("cost_") or not sites:
            continue
        members = {member_at.get((os.path.abspath(f), line, col)) for f, line, col in sites}
        if None not in members:
            for m in sorted(str(m) for m in members):
                out.setdefault(m, []).append(sym)
    return out


_EFFECT_RANK = {"none": 0, "userspace": 1, "reject": 2, "error": 3}


def _loop_findings(rep: ElementReport, got: ElementBounds, reach: tuple[nx.DiGraph, list[tuple[str, str]], list[str]],
                   policy: Policy) -> set[str]:
    """KS502 for every unbounded loop of a function the element's packet path reaches (at the writes that make
    its bound unknown, when that is why) and KS501 for a contradicted annotation there; the functions with such
    a loop."""
    g, methods, _handlers = reach
    on_packet = _reached(g, [fid for _m, fid in methods])
    severity = policy.severity("KS502")
    explained: set[str] = set()
    at_loop = {(os.path.abspath(lp.file), lp.line, lp.column): lp for lp in got.loops}
    # a goto cycle is KS410, decided by the unsafe-constructs check (analyzers.checks.unsafe); when a policy makes
    # KS410 weaker than KS502, the cycle it reported is an unbounded loop here too, so that a style choice about
    # gotos never lets an unbounded one into the kernel
    cycles = {(f.file, f.line, f.column) for f in rep.findings if f.rule == "KS410"} \
        if _EFFECT_RANK.get(policy.verdict_class("KS410"), 3) < _EFFECT_RANK.get(policy.verdict_class("KS502"), 3) else set()
    for lp in got.loops:
        if lp.usr not in on_packet or lp.annotated or lp.status != lm.UNBOUNDED:
            continue
        if lp.kind == "goto" and (os.path.abspath(lp.file), lp.line, lp.column) not in cycles:
            continue
        explained.add(lp.usr)
        if lp.grown:
            for file, line, column, member, how in lp.grown:
                why = (f"the bound of the loop at {relpath(lp.file)}:{lp.line} in {lp.function} reads {member}, which "
                       f"grows here while packets flow ({how})")
                rep.findings.append(make_finding(rule("KS502"), file, line, column, severity=severity, reason=why,
                                                 element=rep.cls, symbol=lp.function))
        else:
            rep.findings.append(make_finding(rule("KS502"), os.path.abspath(lp.file), lp.line, lp.column,
                                             severity=severity, reason=lp.reason, element=rep.cls, symbol=lp.function))
    for f in got.findings:  # KS501: the annotation is contradicted
        annotated = at_loop.get((os.path.abspath(f.file), f.line, f.column))
        if annotated is None:
            continue
        if annotated.usr in on_packet:
            rep.findings.append(replace(f, file=os.path.abspath(f.file), element=rep.cls,
                                        severity=policy.severity("KS501")))
        elif annotated.function.startswith(rep.cls.split("-")[0] + "::"):
            rep.config_findings.append(replace(f, file=os.path.abspath(f.file), element=rep.cls,
                                               severity=policy.severity("KS501")))
    rep.findings = sorted(set(rep.findings), key=lambda f: (f.file, f.line, f.column, f.rule, f.message))
    return explained
