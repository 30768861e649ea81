"""Loop bounds and costs of whole files: parse, bound every loop, apply annotations, cost every function.

What it decides: the rows of ``certify bounds`` (and the loops/cost of ``certify
element``): for every function defined in the given files, its loops with
their bounds (:mod:`analyzers.loops`), annotations (:mod:`analyzers.annotations`)
and costs (:mod:`analyzers.cost`), plus findings: KS501 when a proven bound
contradicts an annotation, KS502 for each loop left unbounded.

Whole-program mode (``whole_program=True``): the files are the entire program.
A function's *contexts* are the parameter values of each visible call site,
composed through its callers' own contexts (a function without a visible
caller, or on a call-graph cycle, has one context that keeps its symbols).
A global integer defined in the files whose every write is ``g = constant``
takes one of finitely many values: its initial value (0 without an
initializer) or one of those constants; a bound mentioning it is the largest
over them (flow-insensitive, so sound whatever the order of the writes; a
``volatile`` global is taken as written only by the program, as the files are
the whole program).  Any other write (``g++``, ``g += x``, ``&g``, a
non-constant value) leaves the global symbolic.
``bound`` is then the largest of the bound over all contexts (a number where the
program fixes it) and ``bound_symbolic`` the parametric form.  Without the flag
both are the parametric form.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field

import sympy
from sympy import Expr

from analyzers import annotations as ann
from analyzers import loopmath as lm
from analyzers.cost import FunctionInfo, function_costs
from analyzers.frontend import Node, ParseOptions, declarations_in, parse
from analyzers.loopexpr import Converter, Sources, initializer, is_unsigned_type
from analyzers.loops import Call, FunctionLoops, Loop
from analyzers.loopsyntax import writes
from certify.findings import Finding, make_finding

FUNCTION_KINDS = frozenset(("FUNCTION_DECL", "CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE"))
MAX_CONTEXTS = 64


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
    symbols: dict[str, str] = field(default_factory=dict)  # symbol -> what fills it (configuration, packet)

    def to_json(self) -> dict[str, object]:
        return {
            "loops": [{"file": lp.file, "line": lp.line, "column": lp.column, "function": lp.function,
                       "kind": lp.kind, "bound": _text(lp.bound), "bound_symbolic": _text(lp.bound_symbolic),
                       "status": lp.status, "total": _text(lp.total), "reason": lp.reason,
                       "annotation": lp.annotated or None} for lp in self.loops],
            "functions": [{"name": f.name, "file": f.file, "line": f.line, "cost": _text(f.cost)}
                          for f in self.functions],
            "findings": [f.to_json() for f in self.findings],
            "symbols": dict(sorted(self.symbols.items())),
        }


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


def analyze(paths: list[str], opts: ParseOptions, whole_program: bool = False,
            external: list[ann.ExternalBound] | None = None, use_pragmas: bool = True) -> BoundsReport:
    """Bound and cost every function of ``paths``; raises OSError or :class:`BoundsInputError`."""
    units = [_analyze_file(p, opts) for p in paths]
    report = BoundsReport()
    infos = [info for u in units for info, _ in u.functions]
    contexts = _contexts(infos) if whole_program else {}
    values: dict[str, list[Expr | None]] = {}
    if whole_program:
        defined = set().union(*(u.defined for u in units)) if units else set()
        for u in units:
            for name, vs in u.global_values.items():
                values.setdefault(name, []).extend(vs)
        values = {k: v for k, v in values.items() if k in defined and None not in v}
    costs = function_costs(infos)
    for u in units:
        for info, loops in u.functions:
            for lp in loops:
                lp.file = u.shown
                lp.bound_symbolic = lp.bound
                if whole_program and lp.bound is not None:
                    lp.bound = _instantiate(lp.bound, contexts.get(info.usr, [{}]), values)
                _annotate(lp, info, external or [], use_pragmas, report)
                report.loops.append(lp)
            report.functions.append(FunctionRow(info.name, u.shown, info.line, costs.get(info.usr, sympy.oo)))
        used = {sym.name for lp in report.loops if lp.bound_symbolic is not None for sym in lp.bound_symbolic.free_symbols}
        used |= {sym.name for f in report.functions for sym in f.cost.free_symbols}
        for name in used:
            if name in u.fillers:
                report.symbols[name] = f"configuration argument {u.fillers[name]}"
            elif name.endswith("_length") and name.count("_") == 1:
                report.symbols.setdefault(name, "packet length")
    return report


def _annotate(lp: Loop, info: FunctionInfo, external: list[ann.ExternalBound], use_pragmas: bool,
              report: BoundsReport) -> None:
    a = ann.external_for(external, info.file, info.name, lp.line)
    if a is None and use_pragmas:
        a = ann.in_source(_lines(info.file), lp.line)
    if a is not None:
        if lp.bound is not None and ann.contradiction(lp.bound, lp.status, a):
            report.findings.append(make_finding(ann.BY_ID["KS501"], lp.file, lp.line, lp.column,
                                                proven=str(lp.bound), annotated=a.text, symbol=lp.function))
        lp.bound, lp.bound_symbolic, lp.status, lp.annotated = a.max, a.max, lm.ANNOTATED, a.text
        return
    if lp.status == lm.UNBOUNDED:
        report.findings.append(make_finding(ann.BY_ID["KS502"], lp.file, lp.line, lp.column, reason=lp.reason,
                                            symbol=lp.function))


_LINES: dict[str, list[str]] = {}


def _lines(path: str) -> list[str]:
    if path not in _LINES:
        with open(path, encoding="utf-8", errors="replace") as f:
            _LINES[path] = f.read().splitlines()
    return _LINES[path]


def _analyze_file(path: str, opts: ParseOptions) -> _Unit:
    parsed = parse(path, options_for(path, opts))
    _LINES.pop(os.path.abspath(path), None)
    for d in parsed.diagnostics:
        raise BoundsInputError(f"{d.file}:{d.line}:{d.column}: error: {d.message}")
    root = parsed.root
    if root is None:
        raise BoundsInputError(f"{path}:1:1: error: could not be parsed")
    sources = Sources()
    sources.add_macros(root)
    sources.add_defines(tuple(opts.defines))
    current: list[FunctionLoops] = []
    conv = Converter(sources, lambda d, use: current[-1].resolve(d, use) if current else None)
    me = os.path.abspath(path)
    unit = _Unit(path, [], {}, set())
    seen: set[str] = set()
    for fn in declarations_in(root, [me]):
        if fn.kind not in FUNCTION_KINDS or not fn.is_definition() or fn.file != me or fn.usr in seen:
            continue
        seen.add(fn.usr)
        name = fn.qualified_name() if fn.kind != "FUNCTION_DECL" else fn.spelling
        fl = FunctionLoops(fn, name, sources, conv)
        current.append(fl)
        try:
            loops = fl.run()
        finally:
            current.pop()
        params = [conv.symbol(p.spelling, is_unsigned_type(p.type.canonical.spelling))
                  for p in fn.children() if p.kind == "PARM_DECL"]
        body = next((c for c in fn.children() if c.kind == "COMPOUND_STMT"), None)
        info = FunctionInfo(fn.usr, name, me, fn.line, body, params,
                            {(lp.line, lp.column): lp for lp in loops},
                            {(c.line, c.column): c for c in fl.calls})
        unit.functions.append((info, loops))
        if fn.spelling == "configure" and fn.kind == "CXX_METHOD":
            unit.fillers.update(configuration_fillers(fn.tokens()))
        if body is not None:
            for key, nodes in writes(body).items():
                if not key.startswith("m:"):
                    name = key.rsplit(":", 1)[-1]
                    unit.global_values.setdefault(name, []).extend(_assigned(n, conv) for n in nodes)
    for name, seen_decl in conv.global_syms.items():
        decl = seen_decl.definition or seen_decl
        # a file-scope "int g;" is a (tentative) definition in C, zero-initialized; libclang says it is not
        if (decl.is_definition() or decl.storage() in ("NONE", "STATIC")) and _is_plain(decl):
            unit.defined.add(name)
            init = initializer(decl)
            unit.global_values.setdefault(name, []).append(conv.expr(init) if init is not None else sympy.Integer(0))
    return unit


_READ = re.compile(r'\bread\w*\s*\(\s*"(\w+)"\s*,\s*(?:\w+\s*\(\s*)?(?:this\s*->\s*)?(\w+)')
_KPARSE = re.compile(r'"(\w+)"\s*,\s*cpk\w*\s*,\s*cp\w+\s*,\s*&\s*(?:this\s*->\s*)?(\w+)')


def configuration_fillers(tokens: list[str]) -> dict[str, str]:
    """Members set from configuration keywords in a Click configure(): ``Args(...).read("N", _n)``
    (also ``read_mp``, ``read_or_set`` ..., and ``cp_va_kparse(..., "N", cpkP, cpInteger, &_n)``)."""
    text = " ".join(tokens)
    out: dict[str, str] = {}
    for pattern in (_READ, _KPARSE):
        for key, member in pattern.findall(text):
            out.setdefault(member, key)
    return out


def _assigned(w: Node, conv: Converter) -> Expr | None:
    """The constant a write ``g = c`` stores, or None for any other write."""
    if w.kind == "BINARY_OPERATOR" and w.operator() == "=":
        kids = w.children()
        v = conv.expr(kids[1]) if len(kids) == 2 else None
        return v if v is not None and v.is_number else None
    return None


def _is_plain(d: Node) -> bool:
    return d.type.is_integer() and not d.type.is_pointer()


def _contexts(infos: list[FunctionInfo]) -> dict[str, list[dict[str, Expr]]]:
    """Each function's parameter values over every visible call path (name -> value)."""
    by_usr = {f.usr: f for f in infos}
    callers: dict[str, list[tuple[str, Call]]] = {}
    for f in infos:
        for c in f.calls.values():
            if c.usr in by_usr:
                callers.setdefault(c.usr, []).append((f.usr, c))
    memo: dict[str, list[dict[str, Expr]]] = {}

    def ctx(usr: str, stack: tuple[str, ...]) -> list[dict[str, Expr]]:
        if usr in memo:
            return memo[usr]
        if usr in stack or usr not in callers:
            return [{}]
        out: list[dict[str, Expr]] = []
        for caller, call in callers[usr]:
            for outer in ctx(caller, stack + (usr,)):
                values: dict[str, Expr] = {}
                for p, v in zip(by_usr[usr].params, call.args):
                    if v is not None:
                        values[p.name] = _by_name(v, outer)
                out.append(values)
                if len(out) > MAX_CONTEXTS:
                    memo[usr] = [{}]
                    return memo[usr]
        memo[usr] = out
        return out

    return {f.usr: ctx(f.usr, ()) for f in infos}


def _by_name(e: Expr, values: dict[str, Expr]) -> Expr:
    return e.xreplace({s: values[s.name] for s in e.free_symbols if s.name in values})


def _instantiate(bound: Expr, contexts: list[dict[str, Expr]], values: dict[str, list[Expr | None]]) -> Expr:
    variants: set[Expr] = set()
    for c in contexts:
        e = _by_name(bound, c)
        names = sorted({s.name for s in e.free_symbols if s.name in values})
        choices = [sorted(set(v for v in values[n] if v is not None), key=sympy.default_sort_key) for n in names]
        combos = list(itertools.islice(itertools.product(*choices), MAX_CONTEXTS + 1))
        if len(combos) > MAX_CONTEXTS:
            variants.add(e)
            continue
        for combo in combos:
            variants.add(_by_name(e, dict(zip(names, combo))))
    if not variants:
        return bound
    return sympy.Max(*variants) if len(variants) > 1 else next(iter(variants))
