"""Loop bounds and costs of whole files: bound every loop, apply annotations, cost every function.

What it decides: the rows of ``certify bounds`` (and the loops/cost of ``certify
element``): for every function defined in the given files, its loops with
their bounds (:mod:`analyzers.loops`), annotations (:mod:`analyzers.annotations`)
and costs (:mod:`analyzers.cost.functions`), plus findings: KS501 when a proven bound
contradicts an annotation, KS502 for each loop left unbounded, and what the
symbols of the bounds and costs stand for where that is known
(:mod:`analyzers.symbolfacts`).

Two entries: :func:`analyze` parses the files it is given (C files as C, the
rest as the front end's C++; ``certify bounds``); :func:`analyze_parsed` takes one
file the element analysis has already parsed (:func:`analyzers.analysis.analyze_file`),
so an element file is parsed once for its checks and its bounds.

Whole-program mode (``whole_program=True``): the files are the entire program.
A function's parameters take the values of its call contexts
(:mod:`analyzers.contexts`).
A global integer defined in the files whose every write is ``g = constant``
takes one of finitely many values: its initial value (0 without an
initializer) or one of those constants; a bound mentioning it is the largest
over them (flow-insensitive, so sound whatever the order of the writes; a
``volatile`` global is taken as written only by the program, as the files are
the whole program).  Any other write (``g++``, ``g += x``, ``&g``, a
non-constant value) leaves the global symbolic.
In whole C programs, a struct member whose every store is a constant takes one
of those values (:mod:`analyzers.members`).  A loop whose count only numbers can
give (a symbolic step) is counted again for every context.
``bound`` is then the largest of the bound over all contexts (a number where the
program fixes it) and ``bound_symbolic`` the parametric form.  Without the flag
both are the parametric form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import sympy
from sympy import Expr

from analyzers import annotations as ann
from analyzers import apicost
from analyzers import loopmath as lm
from analyzers.contexts import call_contexts, count_deferred, instantiate
from analyzers.cost.functions import CallSite, FunctionInfo, function_costs
from analyzers.frontend import Node, Parsed, ParseOptions, declarations_in, parse
from analyzers.growth import Site
from analyzers.loopexpr import Converter, Sources, initializer, is_unsigned_type
from analyzers.loops import FunctionLoops, Loop
from analyzers.members import MemberStores, collect_fields, member_values
from analyzers.symbolfacts import (
    ConfigurationArgument,
    PacketLength,
    SymbolFact,
    UnsignedBitField,
    configuration_fillers,
)
from certify.core.findings import Finding, make_finding, position
from certify.core.rules import rule

FUNCTION_KINDS = frozenset(("FUNCTION_DECL", "CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE"))
HEADER_SUFFIXES = (".h", ".hh", ".hpp")

class BoundsInputError(Exception):
    """Bad input: the message is one ``file:line:col: error: ...`` line."""


@dataclass
class FunctionRow:
    name: str
    file: str
    line: int
    cost: Expr


@dataclass
class BoundsReport:
    loops: list[Loop] = field(default_factory=list)
    functions: list[FunctionRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    symbols: dict[str, SymbolFact] = field(default_factory=dict)  # symbol -> what fills it (configuration, packet)
    call_sites: dict[str, set[CallSite]] = field(default_factory=dict)  # cost_<name> -> the calls it stands for

    def to_json(self) -> dict[str, object]:
        return {
            "loops": [dict(loop_json(lp), total=_text(lp.total), reason=lp.reason, annotation=lp.annotated or None)
                      for lp in self.loops],
            "functions": [{"name": f.name, "file": f.file, "line": f.line, "cost": _text(f.cost)}
                          for f in self.functions],
            "findings": [f.to_json() for f in self.findings],
            "symbols": {name: str(fact) for name, fact in sorted(self.symbols.items())},
        }


def loop_json(lp: Loop) -> dict[str, object]:
    """A loop's place, kind, bounds and status, as ``certify bounds --json`` and the element records give them."""
    return {"file": lp.file, "line": lp.line, "column": lp.column, "function": lp.function, "kind": lp.kind,
            "bound": _text(lp.bound), "bound_symbolic": _text(lp.bound_symbolic), "status": lp.status}


def _text(e: Expr | None) -> str | None:
    return None if e is None else str(e)


def options_for(path: str, opts: ParseOptions) -> ParseOptions:
    """C files are parsed as C (gnu11); everything else as the front end's C++."""
    if path.endswith(".c"):
        return ParseOptions(opts.click_root, opts.build_dir, opts.includes, opts.defines,
                            tuple(opts.extra_args) + ("-x", "c", "-std=gnu11"))
    return opts


@dataclass
class _Unit:
    """One parsed file's functions and what whole-program mode needs of it."""

    shown: str
    functions: list[tuple[FunctionInfo, list[Loop]]]
    global_values: dict[str, list[Expr | None]]  # global name -> initial value and assigned values
    defined: set[str]  # globals defined (not only declared) in the unit
    fillers: dict[str, str] = field(default_factory=dict)  # member -> configuration keyword
    fields: MemberStores | None = None  # struct members' writes (C whole programs)
    member_syms: dict[str, set[str]] = field(default_factory=dict)  # member symbol -> field keys
    bit_widths: dict[str, int | None] = field(default_factory=dict)  # member symbol -> unsigned bit-field width
    symbol_decls: dict[str, set[str]] = field(default_factory=dict)  # symbol -> USRs of the members/globals it reads
    packet_syms: set[str] = field(default_factory=set)  # symbols that only ever stood for a packet's length


def analyze(paths: list[str], opts: ParseOptions, whole_program: bool = False,
            external: list[ann.ExternalBound] | None = None, use_pragmas: bool = True,
            own_headers: bool = False) -> BoundsReport:
    """Parse, bound and cost every function of ``paths``; raises OSError or :class:`BoundsInputError`.

    ``own_headers``: also the functions defined in the headers each file includes from its own directory
    (an element's inline methods, e.g. a queue's ``push_success``), except those whose cost
    ``api_costs.yaml`` declares when the header lies in the Click tree given as ``click_root`` (trusted API
    that lives beside the element, like Classifier's decision program).  Outside that tree an element's
    header cannot vouch for itself: a function it defines is costed from its body whatever its name."""
    units = [_unit(parse(p, options_for(p, opts)), p, opts, whole_program, own_headers) for p in paths]
    return _report(units, whole_program, external or [], use_pragmas)


def analyze_parsed(parsed: Parsed, shown: str, opts: ParseOptions,
                   grown: dict[str, list[Site]] | None = None) -> BoundsReport:
    """Bound and cost every function of one already parsed element file and of its own headers (as
    :func:`analyze` with ``own_headers``), on the translation unit the element checks walked.  ``shown``: the
    file's path as its loops and functions name it; ``opts``: the options it was parsed with; ``grown``: the
    members and globals (by USR) the packet path can write, with the writes: a loop whose bound reads one of them
    is unbounded (its bound is not fixed while packets flow).  Raises :class:`BoundsInputError` when it has parse
    errors."""
    return _report([_unit(parsed, shown, opts, False, True)], False, [], True, grown or {})


def _report(units: list[_Unit], whole_program: bool, external: list[ann.ExternalBound],
            use_pragmas: bool, grown: dict[str, list[Site]] | None = None) -> BoundsReport:
    report = BoundsReport()
    for u in units:
        ranged = {name for name in u.bit_widths if _filled_by_width(name, u)}
        for _info, loops in u.functions:
            for lp in loops:
                _unbound_grown(lp, u.symbol_decls, grown or {}, ranged)
    infos = [info for u in units for info, _ in u.functions]
    contexts = call_contexts(infos) if whole_program else {}
    values: dict[str, list[Expr | None]] = {}
    if whole_program:
        defined = set().union(*(u.defined for u in units)) if units else set()
        for u in units:
            for name, vs in u.global_values.items():
                values.setdefault(name, []).extend(vs)
        values = {k: v for k, v in values.items() if k in defined and None not in v}
        if units and all(u.fields is not None for u in units):
            values.update(member_values([(u.fields, u.member_syms) for u in units if u.fields is not None],
                                        {info.usr for info in infos}))
    costs = function_costs(infos, sites=report.call_sites)
    for u in units:
        for info, loops in u.functions:
            for lp in loops:
                if not lp.file or os.path.abspath(lp.file) == os.path.abspath(u.shown):
                    lp.file = u.shown  # as given; a loop in the file's own header keeps that header's path
                lp.bound_symbolic = lp.bound
                if whole_program and lp.bound is not None:
                    lp.bound = instantiate(lp.bound, contexts.get(info.usr, [{}]), values)
                elif whole_program and lp.deferred is not None:
                    count_deferred(lp, lp.deferred, contexts.get(info.usr, [{}]), values)
                _annotate(lp, info, external, use_pragmas, report)
                report.loops.append(lp)
            shown = u.shown if info.file == os.path.abspath(u.shown) else info.file  # a header's own path
            report.functions.append(FunctionRow(info.name, shown, info.line, costs.get(info.usr, sympy.oo)))
        used = {sym.name for lp in report.loops if lp.bound_symbolic is not None for sym in lp.bound_symbolic.free_symbols}
        used |= {sym.name for f in report.functions for sym in f.cost.free_symbols}
        for name in used:
            width = u.bit_widths.get(name)
            if name in u.fillers:
                report.symbols[name] = ConfigurationArgument(u.fillers[name])
            elif name in u.packet_syms:
                report.symbols.setdefault(name, PacketLength())
            elif width:
                report.symbols.setdefault(name, UnsignedBitField(width))
    return report


def _filled_by_width(name: str, u: _Unit) -> bool:
    """Whether symbol ``name`` is an unsigned bit-field that only its width fills (``max:2^w-1``, whatever value it
    holds when the loop starts): no configuration argument, packet length, port count or declared API symbol fills
    it instead (as :func:`analyzers.element_bounds.element_bounds` picks fills)."""
    return bool(u.bit_widths.get(name)) and name not in u.fillers and name not in u.packet_syms \
        and name not in ("ninputs", "noutputs") and name not in apicost.load().symbols


def _unbound_grown(lp: Loop, decls: dict[str, set[str]], grown: dict[str, list[Site]],
                   ranged: set[str] | None = None) -> None:
    """A loop whose bound reads a member or global the packet path can write has no bound while packets flow.

    Except through a symbol in ``ranged`` (an unsigned bit-field filled by its width): any value it takes is within
    the range its fill gives, written or not."""
    if lp.bound is None or not grown:
        return
    sites = sorted({site for sym in lp.bound.free_symbols if str(sym) not in (ranged or set())
                    for usr in decls.get(str(sym), ()) for site in grown.get(usr, ())})
    if not sites:
        return
    lp.reason = f"its bound, {lp.bound}, is not fixed while packets flow (written on the packet path)"
    lp.bound, lp.status, lp.range, lp.total, lp.grown = None, lm.UNBOUNDED, None, None, tuple(sites)


def _annotate(lp: Loop, info: FunctionInfo, external: list[ann.ExternalBound], use_pragmas: bool,
              report: BoundsReport) -> None:
    a = ann.external_for(external, info.file, info.name, lp.line)
    if a is None and use_pragmas:
        a = ann.in_source(_lines(info.file), lp.line)
    if a is not None:
        if lp.bound is not None and ann.contradiction(lp.bound, lp.status, a):
            report.findings.append(make_finding(rule("KS501"), lp.file, lp.line, lp.column,
                                                proven=str(lp.bound), annotated=a.text, symbol=lp.function))
        lp.bound, lp.bound_symbolic, lp.status, lp.annotated = a.max, a.max, lm.ANNOTATED, a.text
        return
    if lp.status == lm.UNBOUNDED:
        report.findings.append(make_finding(rule("KS502"), lp.file, lp.line, lp.column, reason=lp.reason,
                                            symbol=lp.function))


_LINES: dict[str, list[str]] = {}


def _lines(path: str) -> list[str]:
    if path not in _LINES:
        with open(path, encoding="utf-8", errors="replace") as f:
            _LINES[path] = f.read().splitlines()
    return _LINES[path]


def _in_tree(path: str, root: str | None) -> bool:
    """``path`` lies in the Click tree the operator named (``--click-root``): its headers are trusted."""
    if not root:
        return False
    top = os.path.realpath(root)
    return os.path.realpath(path).startswith(top + os.sep)


def _own_headers(parsed: Parsed) -> list[str]:
    """The headers the translation unit includes, at any depth, from the parsed file's own directory."""
    return sorted({h for h in parsed.beside(direct=False) if h != parsed.path and h.endswith(HEADER_SUFFIXES)})


def _unit(parsed: Parsed, path: str, opts: ParseOptions, whole_program: bool = False,
          own_headers: bool = False) -> _Unit:
    """The functions of one parsed file (``path``: as given) and what whole-program mode needs of it."""
    _LINES.pop(os.path.abspath(path), None)
    for d in parsed.diagnostics:
        raise BoundsInputError(f"{position(d.file, d.line, d.column)}: error: {d.message}")
    root = parsed.root
    if root is None:
        raise BoundsInputError(f"{path}:1:1: error: could not be parsed")
    sources = Sources()
    sources.add_macros(root)
    sources.add_defines(tuple(opts.defines))
    current: list[FunctionLoops] = []
    conv = Converter(sources, lambda d, use: current[-1].values.resolve(d, use) if current else None)
    conv.choice = lambda values: current[-1].values.choose(values) if current else None
    me = os.path.abspath(path)
    unit = _Unit(path, [], {}, set())
    seen: set[str] = set()
    headers = _own_headers(parsed) if own_headers else []
    declared = apicost.load()
    # the functions written in the files, then what they call that the files define but that no declaration
    # names: lambdas' call operators, template functions as instantiated (their loops cost at their calls)
    work = list(declarations_in(root, [me] + headers))
    work.reverse()
    while work:
        fn = work.pop()
        if fn.kind not in FUNCTION_KINDS or not fn.is_definition() or fn.usr in seen:
            continue
        if fn.file != me and (fn.file not in headers or declared.declares(fn.qualified_name())
                              and _in_tree(fn.file, opts.click_root)):
            continue
        seen.add(fn.usr)
        name = _function_name(fn)
        fl = FunctionLoops(fn, name, sources, conv)
        current.append(fl)
        try:
            loops = fl.run()
        finally:
            current.pop()
        params = [conv.symbol(p.spelling, is_unsigned_type(p.type.canonical.spelling))
                  for p in fn.children() if p.kind == "PARM_DECL"]
        conv.other_syms.update(str(p) for p in params)  # a parameter named p_length is not the packet's length
        body = next((c for c in fn.children() if c.kind == "COMPOUND_STMT"), None)
        info = FunctionInfo(fn.usr, name, fn.file or me, fn.line, body, params,
                            {(lp.line, lp.column): lp for lp in loops},
                            {(c.line, c.column): c for c in fl.calls})
        unit.functions.append((info, loops))
        work.extend(d for usr, d in reversed(fl.callees.items()) if usr not in seen)
        if fn.spelling == "configure" and fn.kind == "CXX_METHOD":
            unit.fillers.update(configuration_fillers(fn.tokens()))
        if body is not None:
            for key, nodes in fl.values.writes(body).items():
                if not key.startswith("m:"):
                    name = key.rsplit(":", 1)[-1]
                    unit.global_values.setdefault(name, []).extend(_assigned(n, conv) for n in nodes)
    if path.endswith(".c") and whole_program:
        unit.fields = collect_fields(root, conv, {os.path.dirname(me)})
        unit.member_syms = conv.member_syms
    unit.bit_widths = dict(conv.bit_widths)
    # p_length: also the packet length of the declared API costs (api_costs.yaml), unless a member, parameter or
    # other call of the unit made a symbol of that name too
    unit.packet_syms = (conv.packet_syms | {"p_length"}) - conv.other_syms - set(unit.fillers) - set(unit.bit_widths)
    unit.symbol_decls = {k: set(v) for k, v in conv.symbol_decls.items()}
    for name, seen_decl in conv.global_syms.items():
        decl = seen_decl.definition or seen_decl
        # a file-scope "int g;" is a (tentative) definition in C, zero-initialized; libclang says it is not
        if (decl.is_definition() or decl.storage() in ("NONE", "STATIC")) and _is_plain(decl):
            unit.defined.add(name)
            init = initializer(decl)
            unit.global_values.setdefault(name, []).append(conv.expr(init) if init is not None else sympy.Integer(0))
    return unit


def _function_name(fn: Node) -> str:
    """How a function is named in the rows: its qualified name (a free function by its name); a lambda's call
    operator as ``Enclosing::function[lambda LINE:COL]``."""
    qualified = fn.qualified_name()
    if fn.spelling == "operator()" and "::(lambda at " in "::" + qualified:
        outer = ("::" + qualified).split("::(lambda at ")[0].lstrip(":")
        return f"{outer}[lambda {fn.line}:{fn.column}]"
    return qualified if fn.kind != "FUNCTION_DECL" else fn.spelling


def _assigned(w: Node, conv: Converter) -> Expr | None:
    """The constant a write ``g = c`` stores, or None for any other write."""
    if w.kind == "BINARY_OPERATOR" and w.operator() == "=":
        kids = w.children()
        v = conv.expr(kids[1]) if len(kids) == 2 else None
        return v if v is not None and v.is_number else None
    return None


def _is_plain(d: Node) -> bool:
    return d.type.is_integer() and not d.type.is_pointer()
