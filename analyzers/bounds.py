"""Loop bounds and costs of whole files: parse, bound every loop, apply annotations, cost every function.

What it decides: the rows of ``certify bounds`` (and the loops/cost of ``certify
element``): for every function defined in the given files, its loops with
their bounds (:mod:`analyzers.loops`), annotations (:mod:`analyzers.annotations`)
and costs (:mod:`analyzers.cost.functions`), plus findings: KS501 when a proven bound
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
A direct recursive call that passes a parameter on unchanged adds no value of it.
In whole C programs, a struct member (or a member array's element at a constant
index) whose every store is a constant, or another such member, takes one of
those values, plus 0 for static instances; a record whose pointer is converted
to another pointer type (``memset``, ``memcpy``, byte views, allocators), that
has an initializer list, an external instance or a union around it, is left
symbolic (:func:`_collect_fields`).  A loop whose count only numbers can give
(a symbolic step) is counted again for every context (:func:`analyzers.loops.recount`).
``bound`` is then the largest of the bound over all contexts (a number where the
program fixes it) and ``bound_symbolic`` the parametric form.  Without the flag
both are the parametric form.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy
from sympy import Expr

from analyzers import annotations as ann
from analyzers import apicost
from analyzers import loopmath as lm
from analyzers.cost.functions import FunctionInfo, function_costs
from analyzers.frontend import Node, ParseOptions, TypeView, declarations_in, parse
from analyzers.loopexpr import Converter, Sources, initializer, is_unsigned_type, strip
from analyzers.loops import Call, FunctionLoops, Loop, recount
from certify.core.findings import Finding, make_finding, position
from certify.core.rules import rule

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
class _Fields:
    """What a C program stores in struct members, gathered over its files (whole-program mode).

    Keys: a field's USR, ``USR[k]`` for element ``k`` of a member array; records by their USR.
    """

    stores: dict[str, list[Expr | None]] = field(default_factory=dict)  # field key -> values stored
    untracked: set[str] = field(default_factory=set)  # field keys and record USRs with unseen writes
    zero: set[str] = field(default_factory=set)  # records with a zero-initialized (static) instance
    record_of: dict[str, str] = field(default_factory=dict)  # field USR -> its record's USR
    by_spelling: dict[str, str] = field(default_factory=dict)  # record type spelling -> USR
    externs: dict[str, str] = field(default_factory=dict)  # extern global of a record type -> record USR
    nested: dict[str, set[str]] = field(default_factory=dict)  # record USR -> its members' type keys
    passed: set[tuple[str, str]] = field(default_factory=set)  # (callee USR, record USR) of pointer arguments
    defined: set[str] = field(default_factory=set)  # globals defined in the files

    def merge(self, other: _Fields) -> None:
        for k, v in other.stores.items():
            self.stores.setdefault(k, []).extend(v)
        self.untracked |= other.untracked
        self.zero |= other.zero
        self.record_of.update(other.record_of)
        self.by_spelling.update(other.by_spelling)
        self.externs.update(other.externs)
        for record, types in other.nested.items():
            self.nested.setdefault(record, set()).update(types)
        self.passed |= other.passed
        self.defined |= other.defined


@dataclass
class _Unit:
    """One parsed file's functions and what whole-program mode needs of it."""

    shown: str
    functions: list[tuple[FunctionInfo, list[Loop]]]
    global_values: dict[str, list[Expr | None]]  # global name -> initial value and assigned values
    defined: set[str]  # globals defined (not only declared) in the unit
    fillers: dict[str, str] = field(default_factory=dict)  # member -> configuration keyword
    fields: _Fields | None = None  # struct members' writes (C whole programs)
    member_syms: dict[str, set[str]] = field(default_factory=dict)  # member symbol -> field keys
    bit_widths: dict[str, int | None] = field(default_factory=dict)  # member symbol -> unsigned bit-field width


def analyze(paths: list[str], opts: ParseOptions, whole_program: bool = False,
            external: list[ann.ExternalBound] | None = None, use_pragmas: bool = True,
            own_headers: bool = False) -> BoundsReport:
    """Bound and cost every function of ``paths``; raises OSError or :class:`BoundsInputError`.

    ``own_headers``: also the functions defined in the headers each file includes from its own directory
    (an element's inline methods, e.g. a queue's ``push_success``), except those whose cost
    ``api_costs.yaml`` declares when the header lies in the Click tree given as ``click_root`` (trusted API
    that lives beside the element, like Classifier's decision program).  Outside that tree an element's
    header cannot vouch for itself: a function it defines is costed from its body whatever its name."""
    units = [_analyze_file(p, opts, whole_program, own_headers) for p in paths]
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
        if units and all(u.fields is not None for u in units):
            values.update(_member_values(units))
    costs = function_costs(infos)
    for u in units:
        for info, loops in u.functions:
            for lp in loops:
                if not lp.file or os.path.abspath(lp.file) == os.path.abspath(u.shown):
                    lp.file = u.shown  # as given; a loop in the file's own header keeps that header's path
                lp.bound_symbolic = lp.bound
                if whole_program and lp.bound is not None:
                    lp.bound = _instantiate(lp.bound, contexts.get(info.usr, [{}]), values)
                elif whole_program and lp.deferred is not None:
                    _count_deferred(lp, lp.deferred, contexts.get(info.usr, [{}]), values)
                _annotate(lp, info, external or [], use_pragmas, report)
                report.loops.append(lp)
            shown = u.shown if info.file == os.path.abspath(u.shown) else info.file  # a header's own path
            report.functions.append(FunctionRow(info.name, shown, info.line, costs.get(info.usr, sympy.oo)))
        used = {sym.name for lp in report.loops if lp.bound_symbolic is not None for sym in lp.bound_symbolic.free_symbols}
        used |= {sym.name for f in report.functions for sym in f.cost.free_symbols}
        for name in used:
            if name in u.fillers:
                report.symbols[name] = f"configuration argument {u.fillers[name]}"
            elif name.endswith("_length") and name.count("_") == 1:
                report.symbols.setdefault(name, "packet length")
            elif u.bit_widths.get(name):
                report.symbols.setdefault(name, f"unsigned bit-field of {u.bit_widths[name]} bits")
    return report


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


def _own_headers(root: Node, me: str) -> list[str]:
    """Headers the translation unit includes from ``me``'s own directory."""
    tu = root._tu
    if tu is None:
        return []
    here = os.path.dirname(me)
    found = {os.path.abspath(str(inc.include.name)) for inc in tu.get_includes()}
    return sorted(h for h in found if os.path.dirname(h) == here and h != me and h.endswith((".h", ".hh", ".hpp")))


def _analyze_file(path: str, opts: ParseOptions, whole_program: bool = False, own_headers: bool = False) -> _Unit:
    parsed = parse(path, options_for(path, opts))
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
    conv = Converter(sources, lambda d, use: current[-1].resolve(d, use) if current else None)
    conv.choice = lambda values: current[-1].choose(values) if current else None
    me = os.path.abspath(path)
    unit = _Unit(path, [], {}, set())
    seen: set[str] = set()
    headers = _own_headers(root, me) if own_headers else []
    declared = apicost.load()
    for fn in declarations_in(root, [me] + headers):
        if fn.kind not in FUNCTION_KINDS or not fn.is_definition() or fn.usr in seen:
            continue
        if fn.file != me and (fn.file not in headers or declared.declares(fn.qualified_name())
                              and _in_tree(fn.file, opts.click_root)):
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
        info = FunctionInfo(fn.usr, name, fn.file or me, fn.line, body, params,
                            {(lp.line, lp.column): lp for lp in loops},
                            {(c.line, c.column): c for c in fl.calls})
        unit.functions.append((info, loops))
        if fn.spelling == "configure" and fn.kind == "CXX_METHOD":
            unit.fillers.update(configuration_fillers(fn.tokens()))
        if body is not None:
            for key, nodes in fl.writes(body).items():
                if not key.startswith("m:"):
                    name = key.rsplit(":", 1)[-1]
                    unit.global_values.setdefault(name, []).extend(_assigned(n, conv) for n in nodes)
    if path.endswith(".c") and whole_program:
        unit.fields = _collect_fields(root, conv, {os.path.dirname(me)})
        unit.member_syms = conv.member_syms
    unit.bit_widths = dict(conv.bit_widths)
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
        params = by_usr[usr].params
        # a direct recursive call that passes a parameter on unchanged adds no value of it; any other
        # argument of such a call leaves that parameter unknown (dropped from every context)
        varying = {p.name for caller, call in callers[usr] if caller == usr
                   for p, v in zip(params, call.args) if v is None or v != p} | \
            {p.name for caller, call in callers[usr] if caller == usr for p in params[len(call.args):]}
        entries = [(caller, call) for caller, call in callers[usr] if caller != usr]
        if not entries:
            return [{}]
        for caller, call in entries:
            for outer in ctx(caller, stack + (usr,)):
                values: dict[str, Expr] = {}
                for p, v in zip(params, call.args):
                    if v is not None and p.name not in varying:
                        values[p.name] = _by_name(v, outer)
                out.append(values)
                if len(out) > MAX_CONTEXTS:
                    memo[usr] = [{}]
                    return memo[usr]
        memo[usr] = out
        return out

    return {f.usr: ctx(f.usr, ()) for f in infos}


def _by_name(e: Expr, values: dict[str, Expr]) -> Expr:
    """``e`` with its symbols replaced by name; unchanged when the values make it undefined."""
    got = _substituted(e, values)
    return e if got is None else got


def _substituted(e: Expr, values: dict[str, Expr]) -> Expr | None:
    """``e`` with its symbols replaced by name, or None when that divides by zero.

    A division by zero in a bound comes from one in the program (undefined behaviour), so a
    combination of values that makes one is not a combination the program can run.
    """
    try:
        out = e.xreplace({s: values[s.name] for s in e.free_symbols if s.name in values})
    except (ValueError, TypeError, ZeroDivisionError):
        return None
    return None if out.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) else out


def _count_deferred(lp: Loop, d: lm.Deferred, contexts: list[dict[str, Expr]],
                    values: dict[str, list[Expr | None]]) -> None:
    """Bound a loop with a symbolic step from every context's numbers: the largest count over all."""
    counts: list[Expr] = []
    statuses: set[str] = set()
    for env in _environments([d.init, d.bound, d.step], contexts, values):
        got = recount(d, env)
        if got.count is None:
            lp.reason = got.reason or lp.reason
            return
        counts.append(got.count)
        statuses.add(got.status)
    if not counts:
        return
    lp.bound = sympy.Max(*counts) if len(set(counts)) > 1 else counts[0]
    lp.status = lm.EXACT if statuses == {lm.EXACT} else lm.UPPER
    lp.reason = "" if lp.status == lm.EXACT else \
        "an early exit can shorten the loop" if d.early_exit else "the largest over the program's values"


def _environments(exprs: list[Expr], contexts: list[dict[str, Expr]],
                  values: dict[str, list[Expr | None]]) -> list[dict[str, Expr]]:
    """Every assignment of numbers to the symbols of ``exprs`` from the contexts and global values.

    A context's values may mention globals; those get every value they can take.  An empty list
    when there are too many combinations.
    """
    out: list[dict[str, Expr]] = []
    for c in contexts:
        ctx = dict(c)
        names = sorted({s.name for e in exprs for s in _by_name(e, ctx).free_symbols if s.name in values})
        choices = [sorted(set(v for v in values[n] if v is not None), key=sympy.default_sort_key) for n in names]
        combos = list(itertools.islice(itertools.product(*choices), MAX_CONTEXTS + 1))
        if len(combos) > MAX_CONTEXTS or len(out) + len(combos) > MAX_CONTEXTS:
            return []
        for combo in combos:
            glob = dict(zip(names, combo))
            out.append({**{k: _by_name(v, glob) for k, v in ctx.items()}, **glob})
    return out


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
            got = _substituted(e, dict(zip(names, combo)))
            if got is not None:
                variants.add(got)
    if not variants:
        return bound
    return sympy.Max(*variants) if len(variants) > 1 else next(iter(variants))


# ---- struct members in whole C programs ------------------------------------------------------
_CASTS = frozenset(("UNEXPOSED_EXPR", "CSTYLE_CAST_EXPR"))
_RECORDS = frozenset(("STRUCT_DECL", "UNION_DECL"))
MAX_MEMBER_VALUES = 16


def _collect_fields(root: Node, conv: Converter, dirs: set[str]) -> _Fields:
    """Every store into a struct member in the program's own files, and every way one could go unseen.

    A member ``s.f`` / ``p->f`` / ``p->a[k]`` assigned ``= e`` records ``e`` (a constant, or other
    members); ``++``, ``+=``, ``&s.f`` or a member array used as a pointer makes it unknown.  A
    record is unknown as a whole when a pointer to it is converted to or from another pointer type
    (``memcpy``, ``memset``, byte views, allocators), when it is given an initializer list, when a
    union holds it, when an instance is external to the files, or when a pointer to it is passed
    to a function the files do not define.  Static instances without an
    initializer add the value 0 to every member (and to the members of records nested in them).
    """
    f = _Fields()
    tops = [c for c in root.children() if c.file and any(c.file.startswith(d + os.sep) for d in dirs)]
    stack: list[tuple[Node, Node | None]] = [(c, None) for c in tops]
    while stack:
        n, parent = stack.pop()
        k = n.kind
        if k in _RECORDS:
            _record(n, f)
        elif k == "VAR_DECL":
            _instance(n, parent, f)
        elif k == "BINARY_OPERATOR":
            kids = n.children()
            lhs = strip(kids[0]) if len(kids) == 2 else None
            # the operator is read from the tokens (slow on long expressions): only for a member or a
            # record, and only an lvalue operand, never under an implicit conversion as a read is (C)
            key = _field_key(kids[0], conv) if lhs is not None and kids[0].kind != "UNEXPOSED_EXPR" else None
            record = None
            if lhs is not None and key is None and kids[0].kind != "UNEXPOSED_EXPR" and \
                    lhs.kind in ("DECL_REF_EXPR", "UNARY_OPERATOR", "MEMBER_REF_EXPR"):
                record = _record_usr(lhs.type, f)
            if (key is not None or record is not None) and n.operator() == "=":
                if key is not None:
                    f.stores.setdefault(key, []).append(conv.expr(kids[1]))
                elif lhs is not None:
                    rhs = strip(kids[1])  # a struct copy: from an unseen function, unknown
                    callee = rhs.referenced if rhs.kind == "CALL_EXPR" else None
                    if rhs.kind == "CALL_EXPR" and (callee is None or callee.definition is None):
                        f.untracked.add(record or "")
        elif k in ("COMPOUND_ASSIGNMENT_OPERATOR", "UNARY_OPERATOR"):
            kids = n.children()
            key = _field_key(kids[0], conv) if kids and kids[0].kind != "UNEXPOSED_EXPR" and \
                strip(kids[0]).kind in ("MEMBER_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR") else None
            op = n.operator() if key is not None and k == "UNARY_OPERATOR" else ""
            if key is not None and (k == "COMPOUND_ASSIGNMENT_OPERATOR" or op in ("++", "--")):
                f.untracked.add(key)
            elif key is not None and op == "&":
                f.untracked.add(key.split("[")[0])
        elif k == "MEMBER_REF_EXPR":
            d = n.referenced
            if d is not None and d.kind == "FIELD_DECL" and d.type.canonical.kind != "CONSTANTARRAY":
                pass
            elif d is not None and d.kind == "FIELD_DECL" and (parent is None or parent.kind != "ARRAY_SUBSCRIPT_EXPR"):
                f.untracked.add(d.usr)  # a member array used as a pointer: writes through it are unseen
        elif k in _CASTS:
            kids = n.children()
            if kids and (n.type.is_pointer() or kids[-1].type.is_pointer()):
                to, frm = _record_usr(n.type, f), _record_usr(kids[-1].type, f)
                if to != frm:
                    f.untracked |= {r for r in (to, frm) if r is not None}
        elif k == "CALL_EXPR":
            callee = n.referenced
            for a in n.children()[1:]:
                if a.type.is_pointer():
                    r = _record_usr(a.type, f)
                    if r is not None:  # a function outside the files may store into it
                        f.passed.add((callee.usr if callee is not None else "", r))
        elif k == "INIT_LIST_EXPR":
            r = _record_usr(n.type, f)
            if r is not None:
                f.untracked.add(r)
        up = parent if k in _CASTS or k == "PAREN_EXPR" else n  # the nearest non-wrapper ancestor
        stack.extend((c, up) for c in n.children())
    return f


def _record(n: Node, f: _Fields) -> None:
    f.by_spelling[n.type.canonical.spelling] = n.usr
    for c in n.children():
        if c.kind == "FIELD_DECL":
            f.record_of[c.usr] = n.usr
            f.nested.setdefault(n.usr, set()).add(_type_key(c.type))
            if n.kind == "UNION_DECL":
                f.untracked.add(c.usr)  # a store into another member of the union changes it
                inner = _record_usr(c.type, f)
                if inner is not None:
                    f.untracked.add(inner)


def _record_usr(t: TypeView, f: _Fields) -> str | None:
    """The record a type is, points to or is an array of (by the record's USR), else None."""
    spelling = _type_key(t)
    if spelling in f.by_spelling:
        return f.by_spelling[spelling]
    d = t.canonical.declaration()
    return d.usr if d is not None and d.kind in _RECORDS else None


def _type_key(t: TypeView) -> str:
    """A type's canonical spelling without qualifiers, array bounds and pointers: ``struct s``."""
    spelling = re.sub(r"\s*(\[[^]]*\])+$", "", t.canonical.spelling)
    return re.sub(r"\b(const|volatile)\s+", "", spelling).rstrip(" *")


def _instance(n: Node, parent: Node | None, f: _Fields) -> None:
    """A variable of a record type: zero-initialized when static without an initializer."""
    r = _record_usr(n.type, f)
    if r is None:
        return
    storage = n.storage()
    top = n.semantic_parent is not None and n.semantic_parent.kind == "TRANSLATION_UNIT"
    if storage == "EXTERN":
        f.externs[n.spelling] = r
        return
    if top:
        f.defined.add(n.spelling)
    if (top or storage == "STATIC") and initializer(n) is None:
        f.zero.add(r)


def _field_key(lhs: Node, conv: Converter) -> str | None:
    """``s.f`` -> the field's USR; ``s.a[k]`` -> ``USR[k]`` (``USR[*]`` for a non-constant index)."""
    t = strip(lhs)
    if t.kind == "MEMBER_REF_EXPR":
        d = t.referenced
        return d.usr if d is not None and d.kind == "FIELD_DECL" else None
    if t.kind == "ARRAY_SUBSCRIPT_EXPR":
        kids = t.children()
        base = strip(kids[0]) if kids else None
        d = base.referenced if base is not None and base.kind == "MEMBER_REF_EXPR" else None
        if d is None or d.kind != "FIELD_DECL" or len(kids) != 2:
            return None
        index = conv.expr(kids[1])
        ok = index is not None and index.is_number and index.is_integer
        return f"{d.usr}[{int(index) if ok and index is not None else '*'}]"
    return None


def _member_values(units: list[_Unit]) -> dict[str, list[Expr | None]]:
    """Member symbols whose field takes finitely many constant values in the whole program."""
    facts = _Fields()
    functions = {info.usr for u in units for info, _ in u.functions}
    names: dict[str, set[str]] = {}
    for u in units:
        if u.fields is not None:
            facts.merge(u.fields)
        for name, keys in u.member_syms.items():
            names.setdefault(name, set()).update(keys)
    for var, r in facts.externs.items():
        if var not in facts.defined:
            facts.untracked.add(r)
    facts.untracked |= {r for callee, r in facts.passed if callee not in functions}
    todo = list(facts.zero)  # a zeroed record zeroes the records nested in it (pointers too: only more values)
    while todo:
        for t in facts.nested.get(todo.pop(), set()):
            inner = facts.by_spelling.get(t)
            if inner is not None and inner not in facts.zero:
                facts.zero.add(inner)
                todo.append(inner)
    memo: dict[str, set[Expr] | None] = {}

    def values_of(key: str, stack: tuple[str, ...]) -> set[Expr] | None:
        if key in memo:
            return memo[key]
        if key in stack:
            return None
        base = key.split("[")[0]
        rec = facts.record_of.get(base)
        if rec is None or {key, base, rec, base + "[*]"} & facts.untracked:
            memo[key] = None
            return None
        out: set[Expr] = {sympy.Integer(0)} if rec in facts.zero else set()
        for v in facts.stores.get(key, []) + (facts.stores.get(base + "[*]", []) if "[" in key else []):
            got = _value_set(v, names, lambda k: values_of(k, stack + (key,)))
            if got is None or len(out | got) > MAX_MEMBER_VALUES:
                memo[key] = None
                return None
            out |= got
        memo[key] = out or None
        return memo[key]

    result: dict[str, list[Expr | None]] = {}
    for name, keys in names.items():
        got = values_of(next(iter(keys)), ()) if len(keys) == 1 else None
        if got:
            result[name] = sorted(got, key=sympy.default_sort_key)
    return result


def _value_set(v: Expr | None, names: dict[str, set[str]],
               lookup: Callable[[str], set[Expr] | None]) -> set[Expr] | None:
    """The numbers a stored value can be, its member symbols replaced by their own value sets."""
    if v is None:
        return None
    if v.is_number:
        return {v} if v.is_integer else None
    choices: list[tuple[sympy.Symbol, list[Expr]]] = []
    for s in sorted(v.free_symbols, key=lambda x: x.name):
        keys = names.get(s.name, set())
        if len(keys) != 1:
            return None
        got = lookup(next(iter(keys)))
        if got is None:
            return None
        choices.append((s, sorted(got, key=sympy.default_sort_key)))  # type: ignore[arg-type]
    out: set[Expr] = set()
    for combo in itertools.islice(itertools.product(*(c[1] for c in choices)), MAX_CONTEXTS + 1):
        e = v.xreplace({c[0]: x for c, x in zip(choices, combo)})
        if not (e.is_number and e.is_integer):
            return None
        out.add(e)
    return out if len(out) <= MAX_MEMBER_VALUES else None
