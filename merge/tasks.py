"""Kernel tasks and the budget: what one task can cost.

Decides, on the merged kernel graph:

* the cost of each element instance: the largest of its record's packet-path
  method costs (:data:`analyzers.cost.methods.PATH_METHODS`: push, pull,
  simple_action, smaction; run_task for a task's own work), each a
  :class:`analyzers.cost.formula.CostFormula` instantiated for that instance:
  the record's ``cost_symbols`` say what fills each symbol
  (:mod:`analyzers.cost.fills`: ``packet_length``, ``nargs``, ``arg:N``,
  ``ninputs``/``noutputs``, ``config_words``, ``classifier_words``,
  ``config:KEYWORD@N``, ``max:V``), from the instance's configuration, read
  here with the Click language (:func:`instance`).  An element the merger
  inserted itself whose record gives no finite cost takes its class's declared
  cost (``merge/data/platform_costs.yaml``).  No record cost, a symbol nothing
  fills, or an expression that is not a plain formula: the cost is unknown and
  counts as unbounded.  An element's cost excludes the elements it pushes to
  or pulls from: paths add them.
* a task: an element of a task class (Unqueue, ToDevice, PollDevice, ...);
  its worst-case cost per packet is its own cost, plus the most expensive pull
  path upstream (to and including the first queue), plus the most expensive
  push path downstream (to and including the first queue; Tee-like classes add
  all their outputs); per run, that many times the packets it handles in one
  run (its BURST, from the policy's ``task_bursts``).

When a task costs more than ``task_budget``, :mod:`merge.cuts` finds the cut on
its most expensive path that best balances the two halves.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from analyzers.cost.fills import Instance, parse_fills
from analyzers.cost.formula import INF, CostFormula
from analyzers.cost.methods import AGNOSTIC_METHODS, PATH_METHODS, RUN_TASK
from element_db.decision import condition_keywords, dropped_costs
from merge.lang import confparse as cp
from merge.ports import parse_processing

FANOUT_ALL = frozenset({"Tee", "PullTee"})

__all__ = ["FANOUT_ALL", "INF", "Budget", "CostModel", "PathCost", "TaskCost", "instance", "instance_cost_symbols",
           "instantiate", "load_platform_costs", "packets_per_run", "record_cost"]


def instance(config: str, max_packet: int, nports: tuple[int, int] | None = None, read_config: bool = True) -> Instance:
    """The cost model's description of one element instance: its configuration read with the Click language
    (arguments split and unquoted; one argument by keyword or position: ``confparse.config_value``).  Without
    ``read_config`` (no fill reads it: most records), the configuration is not read."""
    ninputs, noutputs = nports if nports is not None else (None, None)
    if not read_config:
        return Instance(ninputs=ninputs, noutputs=noutputs, max_packet=max_packet)
    return Instance(tuple(cp.unquote(a) for a in cp.argvec(config)), functools.partial(cp.config_value, config),
                    ninputs, noutputs, max_packet)


def instantiate(expr: str | None, symbols: Mapping[str, str], config: str, max_packet: int,
                nports: tuple[int, int] | None = None) -> float:
    """The cost of one element instance (a record's cost formula and ``cost_symbols``), or ``inf`` when it cannot
    be known."""
    return CostFormula.parse(expr).instantiate(parse_fills(symbols), instance(config, max_packet, nports))


def instance_cost_symbols(rec: Mapping[str, Any], config: str) -> Mapping[str, str]:
    """A record's ``cost_symbols`` for one instance: a configuration-conditional record's symbols that only calls
    the instance's configuration does not enable introduce cost 0 (:func:`element_db.decision.dropped_costs`)."""
    symbols = rec.get("cost_symbols") or {}
    if not any(c.get("cost_symbols") for c in rec.get("conditions", [])):
        return symbols
    dropped = dropped_costs(rec, cp.given_keywords(config, condition_keywords(rec)))
    return {**symbols, **{s: "const:0" for s in dropped}} if dropped else symbols


def record_cost(rec: Mapping[str, Any], config: str, nports: tuple[int, int], task: bool, max_packet: int,
                mode: str = "") -> float:
    """What one instance of ``rec``'s class costs, configured with ``config`` and using ``nports`` (inputs,
    outputs): the largest of its path methods (``mode``'s, push or pull, when the record has it) and, for a task,
    its ``run_task``; ``inf`` when none is recorded or one cannot be known."""
    costs = rec.get("cost") or {}
    directed = [m for m in (mode, *AGNOSTIC_METHODS) if mode and m in costs]
    methods = (directed or [m for m in PATH_METHODS if m in costs]) + ([RUN_TASK] if task and RUN_TASK in costs else [])
    if not methods:
        return INF
    fills = parse_fills(instance_cost_symbols(rec, config))
    inst = instance(config, max_packet, nports, read_config=any(f.reads_config for f in fills.values()))
    return max(CostFormula.parse(costs[m]).instantiate(fills, inst) for m in methods)


def _reads_config(rec: Mapping[str, Any]) -> bool:
    """Whether an instance's cost depends on its configuration (a fill reads it, or a condition drops costs)."""
    if any(c.get("cost_symbols") for c in rec.get("conditions", [])):
        return True
    return any(f.reads_config for f in parse_fills(rec.get("cost_symbols") or {}).values())


def load_platform_costs(path: str | None = None) -> dict[str, dict[str, Any]]:
    """The declared costs of platform-inserted elements (``merge/data/platform_costs.yaml``), by class (read
    again only when the file changed; callers must not modify the result)."""
    import os

    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "platform_costs.yaml")
    st = os.stat(path)
    return _platform_costs(path, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _platform_costs(path: str, ino: int, size: int, mtime_ns: int) -> dict[str, dict[str, Any]]:
    import yaml

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


@dataclass(frozen=True)
class PathCost:
    """The most expensive push or pull path from an element (the element itself excluded): its total per-packet
    cost, its elements in the order the packet meets them, and each one's cost."""

    cost: float
    elements: list[str]
    costs: list[float]


_NO_PATH = PathCost(0.0, [], [])


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
                 bursts: Mapping[str, Mapping[str, Any]] | None = None,
                 shared: dict[tuple[Any, ...], Any] | None = None) -> None:
        self.g = g
        # instance costs by (record, configuration, ports, task, mode): the same for every graph of one merge, so
        # the merge's cost models may share it (the records must outlive it: the merge's decisions hold them)
        self._instances: dict[tuple[Any, ...], Any] = {} if shared is None else shared
        self.records = records
        self.declared = declared or {}
        self.bursts = bursts or {}
        self.platform_nodes = platform_nodes
        self.used_declared: set[str] = set()  # platform elements whose cost came from a declaration
        self.metadata = metadata
        self.max_packet = max_packet
        self.task_classes = task_classes
        self._cost: dict[str, float] = {}
        self._nports: dict[str, tuple[int, int]] = {}
        # memoized paths (a path from an element does not depend on the task that reaches it; a push or pull
        # cycle without a queue is unbounded whichever task meets it first)
        self._paths: dict[tuple[str, str, int | None], PathCost] = {}

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
        nports = self._nports.get(n)
        if nports is None:  # the adjacency dicts themselves (networkx's views cost more than the walk)
            nports = self._nports[n] = (
                max((d["to_port"] for kd in self.g._pred[n].values() for d in kd.values()), default=-1) + 1,
                max((d["from_port"] for kd in self.g._succ[n].values() for d in kd.values()), default=-1) + 1)
        config = self.g.nodes[n]["config"]
        reads = self._instances.get(("reads config", id(rec)))
        if reads is None:
            reads = self._instances[("reads config", id(rec))] = _reads_config(rec)
        key = (id(rec), config if reads else None, nports, task, mode)
        value = self._instances.get(key)
        if value is None:
            value = self._instances[key] = record_cost(rec, config, nports, task, self.max_packet, mode)
        return value

    def invalidate(self) -> None:
        """Forget every cost and path: the graph changed."""
        self._cost.clear()
        self._paths.clear()
        self._nports.clear()

    def downstream(self, n: str, port_filter: int | None, seen: frozenset[str]) -> PathCost:
        """Most expensive push path from ``n``'s outputs (``n`` excluded)."""
        key = ("down", n, port_filter)
        if key not in self._paths:
            self._paths[key] = self._downstream(n, port_filter, seen)
        return self._paths[key]

    def _downstream(self, n: str, port_filter: int | None, seen: frozenset[str]) -> PathCost:
        outs = sorted(((n, v, d) for v, kd in self.g._succ[n].items() for d in kd.values()),
                      key=lambda x: (x[2]["from_port"], x[1]))
        best = _NO_PATH
        total = 0.0
        fan_all = self.g.nodes[n]["klass"] in FANOUT_ALL
        for _, v, d in outs:
            if port_filter is not None and d["from_port"] != port_filter:
                continue
            if v in seen:
                return PathCost(INF, [v], [INF])
            c = self.cost(v, mode="push")
            if self.is_queue(v) or c == INF:
                sub = PathCost(c, [v], [c])
            else:
                rest = self.downstream(v, None, seen | {v})
                sub = PathCost(c + rest.cost, [v] + rest.elements, [c] + rest.costs)
            total += sub.cost
            if sub.cost > best.cost or not best.elements:
                best = sub
        if fan_all:
            return PathCost(total, best.elements, best.costs)
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

    def upstream(self, n: str, seen: frozenset[str]) -> PathCost:
        """Most expensive pull path into ``n`` (``n`` excluded), nearest element first."""
        key = ("up", n, None)
        if key not in self._paths:
            self._paths[key] = self._upstream(n, seen)
        return self._paths[key]

    def _upstream(self, n: str, seen: frozenset[str]) -> PathCost:
        best = _NO_PATH
        proc = self.processing(n)
        for u, _, d in sorted(((u, n, d) for u, kd in self.g._pred[n].items() for d in kd.values()),
                              key=lambda x: (x[2]["to_port"], x[0])):
            if proc is None or proc[0][min(d["to_port"], len(proc[0]) - 1)] == "h":
                continue  # a push input: not pulled by this task
            if u in seen:
                return PathCost(INF, [u], [INF])
            c = self.cost(u, mode="pull")
            if self.is_queue(u) or c == INF:
                sub = PathCost(c, [u], [c])
            else:
                rest = self.upstream(u, seen | {u})
                sub = PathCost(c + rest.cost, [u] + rest.elements, [c] + rest.costs)
            if sub.cost > best.cost or not best.elements:
                best = sub
        return best

    def task_cost(self, t: str) -> TaskCost:
        own = self.cost(t, task=True)
        up = self.upstream(t, frozenset({t}))
        down = self.downstream(t, None, frozenset({t}))
        path = list(reversed(up.elements)) + [t] + down.elements
        costs = list(reversed(up.costs)) + [own] + down.costs
        d = self.g.nodes[t]
        burst = packets_per_run(d["config"], self.bursts.get(d["klass"]))
        total = own + up.cost + down.cost
        return TaskCost(t, burst * total if total else 0.0, path, costs, len(up.elements), burst)

    def tasks(self) -> list[str]:
        return sorted(n for n, d in self.g.nodes(data=True) if d["klass"] in self.task_classes)

