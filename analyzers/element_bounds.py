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
rest stays unfilled, so the partition counts it as unbounded).  A packet-path method whose cost is unbounded -- an unbounded loop
or recursion on it -- is a KS502 finding at the method: such an element is
never ``kernel``.
"""

from __future__ import annotations

import re
from typing import Any

import sympy

from analyzers import apicost
from analyzers.bounds import BoundsInputError, BoundsReport, analyze_parsed, loop_json
from analyzers.cost.fills import ConfigSetting, Maximum, PacketLength, PortCount
from analyzers.cost.methods import KERNEL_METHODS
from analyzers.frontend import Parsed, ParseOptions
from analyzers.policy import Policy
from analyzers.report import FileResult
from analyzers.symbolfacts import ConfigurationArgument, UnsignedBitField
from certify.core.findings import make_finding
from certify.core.rules import rule

PACKET_METHODS = KERNEL_METHODS
_UNBOUNDED = (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan)
_LOOP_KEYS = ("file", "line", "column", "function", "kind", "bound", "bound_symbolic", "status")


def element_bounds(parsed: Parsed, opts: ParseOptions, path: str | None = None
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]] | None:
    """(per C++ class: loops and cost symbols; per qualified function name: its cost, None when unbounded);
    None when the file could not be bound-analyzed (it does not parse).

    ``parsed``: the element file as :func:`analyzers.analysis.analyze_file` parsed it (with ``opts``); ``path``:
    the file as its loops name it (default: its absolute path)."""
    shown = parsed.path if path is None else path
    try:
        report: BoundsReport = analyze_parsed(parsed, shown, opts)
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
                    if sym.endswith("_length"):
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
    return out, costs


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


def add_bounds(result: FileResult, parsed: Parsed, path: str, opts: ParseOptions, policy: Policy) -> None:
    """Attach loops and packet-path costs, from the parse the checks used (``parsed``, of ``path`` with ``opts``).
    KS502 when a packet-path method's work is unbounded, or was not bound-analyzed at all (its body is in another
    file): such a class is never ``kernel``."""
    got = element_bounds(parsed, opts, path)
    per_class, costs = got if got is not None else ({}, {})
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
                problems.append((method, qname, file, line, "has no proven bound on its work (an unbounded loop "
                                 "or recursion)"))
            else:
                owner = per_class.get(qname.rpartition("::")[0], {"cost_symbols": {}})
                symbols.update(owner["cost_symbols"])
        rep.cost_symbols = symbols
        for method, qname, file, line, why in problems:
            rep.findings.append(make_finding(rule("KS502"), str(file), int(line), 1, severity=policy.severity("KS502"),
                                             variant="method", method=qname, problem=why, element=rep.cls,
                                             symbol=qname))
        if problems:
            rep.decide(policy)
