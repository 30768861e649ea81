"""Declared costs of trusted API calls (the Click library, libc), for the cost model.

What it decides: the cost, in abstract cost units, of one call to a function whose
body the cost analysis does not see -- the Click API an element may call on the
packet path (``allowed_api`` in the analyzer policy) and the C library.  Each
entry of ``api_costs.yaml`` matches the callee's qualified name (``Packet::push``,
``Classification::Wordwise::Program::match``, ``memcpy``; ``*`` is the only
wildcard; the first matching entry wins), or, when the pattern has a ``(``,
its signature (``operator==(const IPAddress &*``), and, optionally, its number
of arguments, and, optionally, the calling function (``caller``, a pattern or a
list of patterns: a declaration reviewed for some elements' use of a general
routine, e.g. a template whose cost depends on the parameter type those
elements use), and gives a cost formula over:

* ``a0``, ``a1``, ...: the values of the call's arguments where the analysis
  knows them (a constant, ``p_length``, a parameter); an entry whose formula
  needs an argument the analysis does not know does not apply;
* ``p_length``: the length of the packet being processed (the merger fills it
  with the platform's maximum packet length);
* the symbols the file declares under ``symbols`` (the merger fills them from
  the element instance, e.g. ``classifier_words`` from a Classifier's patterns).

A call that no entry matches keeps a symbol ``cost_<qualified name>``, which
nothing fills: the merger counts such an element's cost as unbounded (fail
closed).  Declared costs are trusted declarations, like loop annotations: the
file is part of the analyzer policy's version, so changing it makes every
certified record stale.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sympy
import yaml
from sympy import Expr

API_COSTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api_costs.yaml")
_ARG = re.compile(r"\ba(\d+)\b")
_OPERATOR_CHARS = {"=": "eq", "<": "lt", ">": "gt", "!": "not", "+": "plus", "-": "minus", "*": "star", "/": "div",
                   "%": "mod", "&": "and", "|": "or", "^": "xor", "~": "tilde", "[": "index", "(": "call",
                   ",": "comma"}


class ApiCostError(ValueError):
    """The declared-cost file is malformed (its path and entry are in the message)."""


@dataclass(frozen=True)
class Entry:
    pattern: re.Pattern[str]
    nargs: int | None
    cost: Expr
    uses: frozenset[int]  # argument indexes the formula needs
    with_params: bool  # the pattern names parameter types: match the signature
    caller: re.Pattern[str] | None  # only calls made by these functions
    source: str  # "file:index" for messages
    line: int = 0  # the entry's line in its file (1-based; 0 when unknown)
    text: str = ""  # the cost formula as written in the file
    file: str = ""  # the file that declares it


@dataclass(frozen=True)
class ApiCosts:
    entries: tuple[Entry, ...]
    symbols: dict[str, str]  # declared symbol -> what fills it (for the record's cost_symbols)

    def declares(self, qualified: str) -> bool:
        """Some entry names this function whatever its arguments and caller: trusted, its body not costed."""
        return any(not e.with_params and e.caller is None and e.pattern.fullmatch(qualified) for e in self.entries)

    def cost(self, qualified: str, signature: str, args: Sequence[Expr | None], caller: str = "") -> Expr | None:
        """The declared cost of one call, or None when no entry applies.  ``signature`` is the qualified name
        with its parameter types (``operator==(const IPAddress &, const IPAddress &)``): an entry whose
        pattern has a ``(`` matches it, any other entry matches the qualified name.  ``caller``: the calling
        function's qualified name, for entries declared for one element's calls only."""
        for e in self.entries:
            if e.nargs is not None and e.nargs != len(args):
                continue
            if e.caller is not None and not e.caller.fullmatch(caller):
                continue
            if not e.pattern.fullmatch(signature if e.with_params else qualified):
                continue
            if any(i >= len(args) or args[i] is None for i in e.uses):
                return None  # the entry that matches needs an argument we do not know: do not guess
            subs = {sympy.Symbol(f"a{i}"): args[i] for i in e.uses}
            return e.cost.xreplace(subs) if subs else e.cost
        return None

    def entry_for(self, qualified: str, signature: str, nargs: int, caller: str = "") -> Entry | None:
        """The entry :meth:`cost` would apply to a call of ``nargs`` arguments, whatever the arguments' values
        (an entry whose formula needs an argument the analysis does not know leaves the call's cost unfilled,
        which is fail-closed, not an assumption); None when no entry names the call."""
        for e in self.entries:
            if e.nargs is not None and e.nargs != nargs:
                continue
            if e.caller is not None and not e.caller.fullmatch(caller):
                continue
            if e.pattern.fullmatch(signature if e.with_params else qualified):
                return e
        return None


def unresolved_symbol(qualified: str) -> sympy.Symbol:
    """``cost_Packet__push``, ``cost_IPAddress__operator_eq_eq``: the cost of a call nothing declares."""
    name = qualified.replace("::", "__") or "call"
    name = "".join(c if c.isalnum() or c == "_" else ("_" + _OPERATOR_CHARS[c] if c in _OPERATOR_CHARS else "")
                   for c in name)
    return sympy.Symbol(f"cost_{name}", integer=True, nonnegative=True)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _callers(patterns: list[str]) -> re.Pattern[str]:
    """One pattern that matches a name any of ``patterns`` matches (``caller`` given as a list)."""
    return re.compile("|".join(f"(?:{_glob(p).pattern})" for p in patterns))


def _entry_lines(text: str) -> list[int]:
    """The 1-based line of each item of the ``costs`` list, in order (empty when the text has no such list)."""
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "costs" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse(text: str, source: str) -> ApiCosts:
    try:
        doc = yaml.safe_load(text)
        lines = _entry_lines(text)
    except yaml.YAMLError as e:
        raise ApiCostError(f"{source}: not YAML: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("costs"), list):
        raise ApiCostError(f"{source}: expected a mapping with a 'costs' list")
    symbols = doc.get("symbols") or {}
    if not isinstance(symbols, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in symbols.items()):
        raise ApiCostError(f"{source}: 'symbols' must map symbol names to what fills them")
    known = {"p_length", *symbols}
    entries = []
    for i, raw in enumerate(doc["costs"]):
        where = f"{source}: costs[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("match"), str) or "cost" not in raw:
            raise ApiCostError(f"{where}: each entry needs 'match' (a qualified name) and 'cost'")
        nargs = raw.get("nargs")
        if nargs is not None and (not isinstance(nargs, int) or nargs < 0):
            raise ApiCostError(f"{where}: 'nargs' must be a non-negative integer")
        text_cost = str(raw["cost"])
        try:
            names = {n: sympy.Symbol(n, integer=True, nonnegative=True)
                     for n in re.findall(r"[A-Za-z_]\w*", text_cost) if n not in ("Max", "Min", "ceiling")}
            expr = sympy.sympify(text_cost, locals={**names, "Max": sympy.Max, "Min": sympy.Min,
                                                    "ceiling": sympy.ceiling})
        except (sympy.SympifyError, SyntaxError, TypeError) as e:
            raise ApiCostError(f"{where}: cost {text_cost!r} is not a formula: {e}") from None
        free = {str(s) for s in expr.free_symbols}
        unknown = {s for s in free if not _ARG.fullmatch(s) and s not in known}
        if unknown:
            raise ApiCostError(f"{where}: cost {text_cost!r} uses undeclared symbols {sorted(unknown)}")
        uses = frozenset(int(m.group(1)) for s in free for m in [_ARG.fullmatch(s)] if m)
        # the argument placeholders are plain symbols so that xreplace finds them
        expr = expr.xreplace({names[f"a{j}"]: sympy.Symbol(f"a{j}") for j in uses})
        caller = raw.get("caller")
        callers: list[str] = []  # none: calls from any function
        if caller not in (None, ""):  # "": no restriction, as no caller
            given = [caller] if isinstance(caller, str) else caller
            if not isinstance(given, list) or not given or not all(isinstance(c, str) and c for c in given):
                raise ApiCostError(f"{where}: 'caller' must be a qualified-name pattern or a list of them")
            callers = given
        entries.append(Entry(_glob(raw["match"]), nargs, expr, uses, "(" in raw["match"],
                             _callers(callers) if callers else None, where, lines[i] if i < len(lines) else 0,
                             text_cost, source))
    return ApiCosts(tuple(entries), dict(symbols))


@functools.lru_cache(maxsize=4)
def load(path: str = API_COSTS_FILE) -> ApiCosts:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)
