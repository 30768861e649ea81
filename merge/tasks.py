"""Kernel tasks and the budget: what one task can cost, and how to make every task fit.

Decides, on the merged kernel graph:

* the cost of each element instance: the largest of its record's packet-path
  method costs (push, pull, simple_action, smaction; run_task for a task's
  own work), instantiated from that instance: the record's ``cost_symbols``
  say what fills each symbol -- ``packet_length`` (the platform's maximum
  packet length), ``nargs`` (how many configuration arguments, e.g.
  Classifier patterns), ``arg:N`` (the integer value of argument N),
  ``ninputs``/``noutputs`` (the instance's port counts), ``config_words``
  (whitespace-separated words of its configuration), ``classifier_words``
  (the 32-bit words its Classifier patterns compare), ``config:KEYWORD@N``
  (the integer the instance gives for a configuration argument, by keyword or
  as positional argument N; not given: unknown), ``max:V`` (a
  declared maximum).  An element the merger inserted itself whose record
  gives no finite cost takes its class's declared cost
  (``merge/data/platform_costs.yaml``).  No record cost, a symbol nothing fills,
  or an expression that is not a plain formula: the cost is unknown and
  counts as unbounded.  An element's cost excludes the elements it pushes to
  or pulls from: paths add them.
* a task: an element of a task class (Unqueue, ToDevice, PollDevice, ...);
  its worst-case cost per packet is its own cost, plus the most expensive pull
  path upstream (to and including the first queue), plus the most expensive
  push path downstream (to and including the first queue; Tee-like classes add
  all their outputs); per run, that many times the packets it handles in one
  run (its BURST, from the policy's ``task_bursts``);
* when a task costs more than ``task_budget``: the cut on its most expensive
  path that best balances the two halves gets a ``Queue`` + ``Unqueue`` (a new
  task on the same network's thread), and the analysis runs again; when no
  cut helps because one element alone is over the budget, or its cost is
  unbounded, that element must move to its network's container (the caller
  re-partitions), or, for a platform element, the merge is refused.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import sympy
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from merge.lang import confparse as cp
from merge.ports import parse_processing

PACKET_METHODS = ("push", "pull", "simple_action", "smaction")
FANOUT_ALL = frozenset({"Tee", "PullTee"})
_FORMULA = re.compile(r"[A-Za-z0-9_+\-*/(). ,]*")
_FUNCTIONS = {"Max": sympy.Max, "Min": sympy.Min, "ceiling": sympy.ceiling, "floor": sympy.floor}
INF = math.inf


@functools.lru_cache(maxsize=4096)
def _parsed(expr: str) -> sympy.Expr:
    """A record's cost formula as sympy (plain symbols); raises on a formula that does not parse."""
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr)) - set(_FUNCTIONS)
    local = {n: sympy.Symbol(n) for n in names}
    return parse_expr(expr, local_dict=local, global_dict={**_FUNCTIONS, "Integer": sympy.Integer,
                                                           "Float": sympy.Float, "Rational": sympy.Rational,
                                                           "Symbol": sympy.Symbol},
                      transformations=standard_transformations)


@functools.lru_cache(maxsize=4096)
def _compiled(expr: str) -> tuple[list[str], Any]:
    """The formula's symbols (sorted) and a plain-Python function of them: evaluated once per instance and
    round, sympy's subs would dominate a large merge."""
    e = _parsed(expr)
    syms = sorted(e.free_symbols, key=str)
    return [str(x) for x in syms], sympy.lambdify(syms, e, modules=[{"ceiling": math.ceil, "floor": math.floor}, "math"])


def instantiate(expr: str | None, symbols: Mapping[str, str], config: str, max_packet: int,
                nports: tuple[int, int] | None = None) -> float:
    """The cost of one element instance, or ``inf`` when it cannot be known."""
    if expr is None or not _FORMULA.fullmatch(expr):
        return INF
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
    values: dict[str, Any] = {}
    ranges: dict[str, int] = {}  # symbols that take any value from 0 to this
    args = cp.argvec(config)
    for name in names - set(_FUNCTIONS):
        spec = symbols.get(name)
        if spec is None:
            return INF
        if spec == "packet_length":
            ranges[name] = max_packet  # any length up to the maximum: the cost's largest value over 0..max
        elif spec == "nargs":
            values[name] = len(args)
        elif spec in ("ninputs", "noutputs") and nports is not None:
            values[name] = nports[0] if spec == "ninputs" else nports[1]
        elif spec == "config_words":
            values[name] = sum(len(cp.unquote(a).split()) for a in args)
        elif spec == "classifier_words":
            words = classifier_words(args)
            if words is None:
                return INF
            values[name] = words
        elif spec.startswith("config:"):  # config:KEYWORD or config:KEYWORD@POSITION (the element's configure())
            kw, _, pos = spec[7:].partition("@")
            raw = cp.config_value(config, kw, int(pos) if pos.isdigit() else None)
            try:
                values[name] = int(raw, 0) if raw is not None else -1
            except ValueError:
                return INF
            if values[name] < 0:
                return INF  # not given (the default is not known here), or negative
        elif spec.startswith("arg:"):
            try:
                values[name] = int(cp.unquote(args[int(spec[4:])]), 0)
            except (ValueError, IndexError):
                return INF
        elif spec.startswith(("max:", "const:")):
            try:
                v = int(spec.split(":", 1)[1])
            except ValueError:
                return INF
            if spec.startswith("max:"):
                ranges[name] = v
            else:
                values[name] = v
        else:
            return INF
    try:
        names_in, fn = _compiled(expr)
        if any(n not in values and n not in ranges for n in names_in):
            return INF
        if any(n in ranges for n in names_in):
            # a symbol that can take any value in 0..max: the formula's largest value over the box, by
            # interval arithmetic (a cost need not grow with it: padding costs Max(0, 60 - p_length))
            box = {n: (float(values[n]), float(values[n])) if n in values else (0.0, float(ranges[n]))
                   for n in names_in}
            out = _interval(_parsed(expr), box)[1]
        else:
            out = float(fn(*[values[n] for n in names_in]))
    except (SyntaxError, TypeError, ValueError, AttributeError, ZeroDivisionError, OverflowError,
            sympy.SympifyError):
        return INF
    return out if out >= 0 and math.isfinite(out) else INF


def _interval(e: sympy.Expr, box: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """Bounds (lo, hi) of ``e`` when each symbol ranges over ``box``; (-inf, inf) for what is not modelled."""
    if e.is_Number:
        return float(e), float(e)
    if e.is_Symbol:
        return box[str(e)]
    parts = [_interval(a, box) for a in e.args]
    if isinstance(e, sympy.Add):
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if isinstance(e, sympy.Mul):
        lo, hi = parts[0]
        for a, b in parts[1:]:
            cands = [x * y for x in (lo, hi) for y in (a, b) if not (math.isinf(x) and y == 0 or math.isinf(y) and x == 0)]
            lo, hi = (min(cands), max(cands)) if cands else (-INF, INF)
        return lo, hi
    if isinstance(e, sympy.Max):
        return max(p[0] for p in parts), max(p[1] for p in parts)
    if isinstance(e, sympy.Min):
        return min(p[0] for p in parts), min(p[1] for p in parts)
    if isinstance(e, (sympy.ceiling, sympy.floor)):
        f = math.ceil if isinstance(e, sympy.ceiling) else math.floor
        lo, hi = parts[0]
        return (f(lo) if math.isfinite(lo) else lo), (f(hi) if math.isfinite(hi) else hi)
    if isinstance(e, sympy.Pow) and e.exp.is_Integer and int(e.exp) > 0:
        lo, hi = parts[0]
        k = int(e.exp)
        cands = [lo ** k, hi ** k] + ([0.0] if lo < 0 < hi else [])
        return min(cands), max(cands)
    return -INF, INF


_TERM = re.compile(r"!?(\d+)/([0-9a-fA-F?]+)(?:%([0-9a-fA-F]+))?")


def classifier_words(args: list[str]) -> int | None:
    """How many 32-bit words a Classifier's patterns compare: each ``offset/value[%mask]`` term spans at most
    ceil(bytes/4) + 1 aligned words; ``-``, ``true`` and ``false`` compare none.  None: not Classifier patterns."""
    total = 0
    for arg in args:
        for term in cp.unquote(arg).split():
            if term in ("-", "true", "false", "!true", "!false"):
                continue
            m = _TERM.fullmatch(term)
            if m is None:
                return None
            nbytes = (len(m.group(2)) + 1) // 2
            total += -(-nbytes // 4) + 1
    return total


def load_platform_costs(path: str | None = None) -> dict[str, dict[str, Any]]:
    """The declared costs of platform-inserted elements (``merge/data/platform_costs.yaml``), by class."""
    import os

    import yaml

    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "platform_costs.yaml")
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return {str(k): dict(v) for k, v in (doc.get("classes") or {}).items()}


def packets_per_run(config: str, spec: Mapping[str, Any] | None) -> float:
    """How many packets one run of a task handles: its BURST argument (by keyword, else at ``position``), else the
    spec's default; 1 without a spec; ``inf`` for a negative or non-integer BURST."""
    if spec is None:
        return 1.0
    pos = spec.get("position")
    value = cp.config_value(config, spec.get("keyword"), int(pos) if pos is not None else None)
    if value is None:
        return float(spec["default"])
    try:
        n = int(value, 0)
    except ValueError:
        return INF
    return INF if n < 0 else float(n)


@dataclass
class TaskCost:
    task: str
    cost: float  # per run: burst x (the task's own work + its most expensive path), per packet
    path: list[str]  # the most expensive chain, in flow order: upstream queue ... task ... downstream queue
    costs: list[float]  # each element's per-packet cost along it
    task_index: int  # where the task itself is in ``path``
    burst: float = 1.0  # packets per run


@dataclass
class Budget:
    splits: list[dict[str, Any]] = field(default_factory=list)
    over: list[TaskCost] = field(default_factory=list)  # tasks that no cut can bring under the budget
    culprits: dict[str, str] = field(default_factory=dict)  # element -> why it alone breaks the budget
    tasks: list[TaskCost] = field(default_factory=list)


class CostModel:
    def __init__(self, g: nx.MultiDiGraph, records: Mapping[str, Mapping[str, Any]],
                 metadata: Mapping[str, Mapping[str, str]], max_packet: int, task_classes: frozenset[str],
                 declared: Mapping[str, Mapping[str, Any]] | None = None,
                 platform_nodes: frozenset[str] = frozenset(),
                 bursts: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.g = g
        self.records = records
        self.declared = declared or {}
        self.bursts = bursts or {}
        self.platform_nodes = platform_nodes
        self.used_declared: set[str] = set()  # platform elements whose cost came from a declaration
        self.metadata = metadata
        self.max_packet = max_packet
        self.task_classes = task_classes
        self._cost: dict[str, float] = {}
        # memoized paths (a path from an element does not depend on the task that reaches it; a push or pull
        # cycle without a queue is unbounded whichever task meets it first)
        self._paths: dict[tuple[str, str, int | None], tuple[float, list[str], list[float]]] = {}

    def processing(self, n: str) -> tuple[str, str] | None:
        meta = self.metadata.get(self.g.nodes[n]["klass"], {})
        return parse_processing(meta["processing"]) if "processing" in meta else None

    def is_queue(self, n: str) -> bool:
        p = self.processing(n)
        return p is not None and p[0][0] == "h" and p[1][0] == "l"

    def cost(self, n: str, task: bool = False, mode: str = "") -> float:
        """One packet through ``n``: on a push path (``mode`` "push") its push, simple_action or smaction
        cost; on a pull path ("pull") its pull, simple_action or smaction cost; otherwise, or when the record
        has none of those, the largest of its packet methods (plus run_task for a task's own work)."""
        key = n + ("#task" if task else "") + "#" + mode
        if key in self._cost:
            return self._cost[key]
        d = self.g.nodes[n]
        value = self._from(self.records.get(d["klass"]), n, task, mode)
        if value == INF and n in self.platform_nodes and d["klass"] in self.declared:
            value = self._from(self.declared[d["klass"]], n, task, mode)
            if value != INF:
                self.used_declared.add(n)
        self._cost[key] = value
        return value

    def _from(self, rec: Mapping[str, Any] | None, n: str, task: bool, mode: str = "") -> float:
        if rec is None:
            return INF
        d = self.g.nodes[n]
        costs = rec.get("cost") or {}
        symbols = rec.get("cost_symbols") or {}
        directed = [m for m in (mode, "simple_action", "smaction") if mode and m in costs]
        methods = (directed or [m for m in PACKET_METHODS if m in costs]) + \
            (["run_task"] if task and "run_task" in costs else [])
        if not methods:
            return INF
        nports = (max((e[2]["to_port"] for e in self.g.in_edges(n, data=True)), default=-1) + 1,
                  max((e[2]["from_port"] for e in self.g.out_edges(n, data=True)), default=-1) + 1)
        return max(instantiate(costs[m], symbols, d["config"], self.max_packet, nports) for m in methods)

    def invalidate(self) -> None:
        """Forget every cost and path: the graph changed."""
        self._cost.clear()
        self._paths.clear()

    def downstream(self, n: str, port_filter: int | None, seen: frozenset[str]) -> tuple[float, list[str], list[float]]:
        """Most expensive push path from ``n``'s outputs (``n`` excluded)."""
        key = ("down", n, port_filter)
        if key not in self._paths:
            self._paths[key] = self._downstream(n, port_filter, seen)
        return self._paths[key]

    def _downstream(self, n: str, port_filter: int | None, seen: frozenset[str]) -> tuple[float, list[str], list[float]]:
        outs = sorted(self.g.out_edges(n, data=True), key=lambda x: (x[2]["from_port"], x[1]))
        best: tuple[float, list[str], list[float]] = (0.0, [], [])
        total = 0.0
        fan_all = self.g.nodes[n]["klass"] in FANOUT_ALL
        for _, v, d in outs:
            if port_filter is not None and d["from_port"] != port_filter:
                continue
            if v in seen:
                return INF, [v], [INF]
            c = self.cost(v, mode="push")
            if self.is_queue(v) or c == INF:
                sub: tuple[float, list[str], list[float]] = (c, [v], [c])
            else:
                rest = self.downstream(v, None, seen | {v})
                sub = (c + rest[0], [v] + rest[1], [c] + rest[2])
            total += sub[0]
            if sub[0] > best[0] or not best[1]:
                best = sub
        if fan_all:
            return total, best[1], best[2]
        return best

    def reach(self, t: str) -> list[str]:
        """Every element a run of task ``t`` can execute, on any path (not only the most expensive one): push
        paths downstream and pull paths upstream, each to and including the first queue; sorted."""
        out: set[str] = set()
        stack = [v for _, v in self.g.out_edges(t)]
        while stack:
            v = stack.pop()
            if v in out or v == t:
                continue
            out.add(v)
            if not self.is_queue(v):
                stack.extend(w for _, w in self.g.out_edges(v))
        stack = [t]
        pulled: set[str] = set()
        while stack:
            n = stack.pop()
            proc = self.processing(n)
            for u, _, d in self.g.in_edges(n, data=True):
                if proc is None or proc[0][min(d["to_port"], len(proc[0]) - 1)] == "h" or u in pulled or u == t:
                    continue
                pulled.add(u)
                if not self.is_queue(u):
                    stack.append(u)
        return sorted(out | pulled)

    def upstream(self, n: str, seen: frozenset[str]) -> tuple[float, list[str], list[float]]:
        """Most expensive pull path into ``n`` (``n`` excluded), nearest element first."""
        key = ("up", n, None)
        if key not in self._paths:
            self._paths[key] = self._upstream(n, seen)
        return self._paths[key]

    def _upstream(self, n: str, seen: frozenset[str]) -> tuple[float, list[str], list[float]]:
        best: tuple[float, list[str], list[float]] = (0.0, [], [])
        for u, _, d in sorted(self.g.in_edges(n, data=True), key=lambda x: (x[2]["to_port"], x[0])):
            proc = self.processing(n)
            if proc is None or proc[0][min(d["to_port"], len(proc[0]) - 1)] == "h":
                continue  # a push input: not pulled by this task
            if u in seen:
                return INF, [u], [INF]
            c = self.cost(u, mode="pull")
            if self.is_queue(u) or c == INF:
                sub: tuple[float, list[str], list[float]] = (c, [u], [c])
            else:
                rest = self.upstream(u, seen | {u})
                sub = (c + rest[0], [u] + rest[1], [c] + rest[2])
            if sub[0] > best[0] or not best[1]:
                best = sub
        return best

    def task_cost(self, t: str) -> TaskCost:
        own = self.cost(t, task=True)
        up = self.upstream(t, frozenset({t}))
        down = self.downstream(t, None, frozenset({t}))
        path = list(reversed(up[1])) + [t] + down[1]
        costs = list(reversed(up[2])) + [own] + down[2]
        d = self.g.nodes[t]
        burst = packets_per_run(d["config"], self.bursts.get(d["klass"]))
        total = own + up[0] + down[0]
        return TaskCost(t, burst * total if total else 0.0, path, costs, len(up[1]), burst)

    def tasks(self) -> list[str]:
        return sorted(n for n, d in self.g.nodes(data=True) if d["klass"] in self.task_classes)


def halves(tc: TaskCost, i: int, queue_push: float, queue_pull: float, unqueue: float) -> tuple[float, float]:
    """(the task's cost, the new Unqueue task's cost) after cutting between path[i] and path[i+1]."""
    left, right = sum(tc.costs[: i + 1]), sum(tc.costs[i + 1:])
    b = tc.burst  # the task keeps its burst; the new Unqueue (BURST 1) handles one packet per run
    if i >= tc.task_index:  # downstream of the task: path[i] -> Queue -> Unqueue -> path[i+1]
        return b * (left + queue_push), unqueue + queue_pull + right
    # upstream: path[i] -> Unqueue -> Queue -> path[i+1]; the new task does the left part
    return b * (queue_pull + right), unqueue + left + queue_push


def best_cut(tc: TaskCost, queue_push: float, queue_pull: float, unqueue: float) -> tuple[int, float] | None:
    """Index i: the cut between path[i] and path[i+1] minimizing the larger half; None when none helps."""
    if len(tc.path) < 2 or any(c == INF for c in tc.costs) or INF in (queue_push, queue_pull, unqueue, tc.burst):
        return None
    best: tuple[int, float] | None = None
    for i in range(len(tc.path) - 1):
        worst = max(halves(tc, i, queue_push, queue_pull, unqueue))
        if worst < tc.cost and (best is None or worst < best[1]):
            best = (i, worst)
    return best
