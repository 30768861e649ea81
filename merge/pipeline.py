"""The partitioned merge: each network placed, cut and fitted to the budget on its own, then combined.

Decides the final layout of a certified merge (``certify merge`` unless
``--no-certify``), over the decisions on the layered database's records
(:class:`element_db.decision.Decisions`: one decision per class and run).

Per network, alone (:func:`partition_network`; the platform hands each
network's packets over at a queue of its own, so nothing another network
does changes this network's tasks):

1. place its elements (:func:`merge.partition.place`); a refusal
   (uncertified, rejected) stops here;
2. cut it into its kernel part and its container part, with a channel per
   cut edge (:func:`merge.partition.cut`); a cut where the network header's
   offset is not known statically moves (the element on its kernel side
   joins the container) and the network starts again from 1;
3. build its section of the master (:func:`merge.combine.build_network`)
   and cost its kernel tasks (:mod:`merge.tasks`).  An element that alone
   exceeds the budget, or whose cost is unbounded or unknown, is forced into
   the container and the network starts again from 1.  Otherwise every task
   over the budget gets the Queue + Unqueue cut that best balances it
   (:mod:`merge.cuts`), until all fit; when no cut helps, the task's most
   expensive element moves out and the network starts again.

A move redoes one network's steps, never the whole merge.  Then the sections
are combined with the platform's dispatch (:func:`merge.combine.merge_networks`)
and the platform's own tasks (receive and dispatch, transmit) are costed and
split the same way; a platform task that cannot fit refuses the merge (MN303).

Every step is deterministic; plan.json records every placement, channel,
split and task cost with the budget, and the dispatch tree's cost per level.
A network's result depends only on its own inputs, so a caller may keep it
(:class:`NetworkPartition`, see :mod:`merge.incremental`) and hand it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import networkx as nx

from certify.core.findings import Finding, make_finding
from element_db.decision import Decisions
from merge import rules
from merge.channels import unknown_offset_moves
from merge.checks import NetworkResult
from merge.combine import RESERVED, Master, NetworkPart, build_network, merge_networks
from merge.cuts import best_cut, split_costs
from merge.partition import Placement, Split, cut, place
from merge.policy import Policy
from merge.system import System
from merge.tasks import INF, CostModel, load_platform_costs

MAX_ROUNDS = 64


@dataclass
class Partitioned:
    master: Master | None
    splits: dict[str, Split] = field(default_factory=dict)
    placements: dict[str, Placement] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    task_splits: list[dict[str, Any]] = field(default_factory=list)
    task_costs: list[dict[str, Any]] = field(default_factory=list)
    partitions: dict[str, NetworkPartition] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.master is not None and not any(f.severity == "error" for f in self.findings)


@dataclass
class NetworkPartition:
    """One network's placement, cut, section of the master and fitted tasks: a function of its own inputs."""

    name: str
    placement: Placement
    split: Split | None
    part: NetworkPart | None
    findings: list[Finding] = field(default_factory=list)
    task_costs: list[dict[str, Any]] = field(default_factory=list)
    task_splits: list[dict[str, Any]] = field(default_factory=list)
    classes: frozenset[str] = frozenset()  # every class whose decision it consulted

    @property
    def ok(self) -> bool:
        return self.part is not None and not any(f.severity == "error" for f in self.findings)


class _Consulted:
    """A run's decisions, recording every class a network's partition asks about (what its result depends on)."""

    def __init__(self, decisions: Decisions) -> None:
        self.decisions = decisions
        self.seen: set[str] = set()

    def get(self, klass: str) -> Any:
        self.seen.add(klass)
        return self.decisions.get(klass)


def _fmt(c: float) -> float | None:
    return None if c == INF else round(c, 3)


def partition_network(
    system: System,
    r: NetworkResult,
    decisions: Decisions,
    policy: Policy,
    metadata: Mapping[str, Mapping[str, str]],
    target: str = "linuxmodule",
    declared: Mapping[str, Mapping[str, Any]] | None = None,
    shared_costs: dict[tuple[Any, ...], Any] | None = None,
) -> NetworkPartition:
    """Place, cut, build and fit one network (see the module docstring): its kernel tasks within the budget,
    or the findings that refuse it."""
    budget = system.platform.task_budget
    declared = load_platform_costs() if declared is None else declared
    consulted = _Consulted(decisions)  # records which classes this network asks about: what its result depends on
    decisions = cast(Decisions, consulted)
    name = r.network.name
    forced: dict[str, dict[str, str]] = {name: {}}
    assert r.graph is not None
    # each round moves at least one of the network's elements into its container, so the loop ends
    for _ in range(r.graph.number_of_nodes() + 2):
        pl, fs = place(r, decisions, policy, forced[name])
        classes = consulted.seen
        if any(f.severity == "error" for f in fs):
            return NetworkPartition(name, pl, None, None, fs, classes=frozenset(classes))
        sp = cut(r, pl, metadata, target)
        moves = unknown_offset_moves(sp.channels, pl.side)
        if moves:
            forced[name].update(moves)
            continue  # a cut whose network header offset is unknown moved: start this network again
        part = build_network(system, r, sp.kernel, policy, target)
        view = Master(part.graph, [part.section], {"elements": part.elements}, target)
        records = _records(decisions, part.graph)
        platform_nodes = frozenset(n for n, e in part.elements.items() if e.get("origin") == "platform")
        model = CostModel(part.graph, records, metadata, system.platform.max_packet_length, policy.task_classes,
                          declared, platform_nodes, policy.task_bursts, shared_costs)
        findings = list(fs)
        tasks = [t for t in model.tasks() if t not in part.boundary]
        if _force_out(model, view, budget, forced, findings, tasks):
            continue
        if any(f.severity == "error" for f in findings):
            return NetworkPartition(name, pl, sp, None, findings, classes=frozenset(classes))
        task_splits: list[dict[str, Any]] = []
        task_costs: list[dict[str, Any]] = []
        if _fit(model, view, budget, records, system, forced, findings, task_splits, task_costs, tasks,
                part.tasks, f"{name}/{RESERVED}/split"):
            continue  # no split could fit a task: its most expensive element moved out; start this network again
        if any(f.severity == "error" for f in findings):
            return NetworkPartition(name, pl, sp, None, findings, classes=frozenset(classes))
        return NetworkPartition(name, pl, sp, part, findings, task_costs, task_splits, frozenset(classes))
    raise RuntimeError("partition did not settle")  # each round moves at least one element: cannot happen


def partitioned_merge(
    system: System,
    results: list[NetworkResult],
    decisions: Decisions,
    policy: Policy,
    metadata: Mapping[str, Mapping[str, str]],
    target: str = "linuxmodule",
    known: Mapping[str, NetworkPartition] | None = None,
    progress: Callable[[str | None], None] | None = None,
) -> Partitioned:
    """The whole partitioned merge.  ``known`` gives networks already partitioned with the same inputs (their
    result is used as it is: :mod:`merge.incremental` decides when that holds).  ``progress`` is called after
    each network and after the combine (a caller's limit may stop the merge there by raising)."""
    declared = load_platform_costs()
    shared_costs: dict[tuple[Any, ...], Any] = {}  # instance costs, shared by every network's cost model
    out = Partitioned(None)
    parts: dict[str, NetworkPartition] = {}
    for r in sorted(results, key=lambda r: r.network.name):
        nm = r.network.name
        np_ = (known or {}).get(nm) or partition_network(system, r, decisions, policy, metadata, target, declared,
                                                                     shared_costs)
        parts[nm] = np_
        out.placements[nm] = np_.placement
        out.findings.extend(np_.findings)
        if np_.split is not None:
            out.splits[nm] = np_.split
        if progress is not None:
            progress(nm)
    out.partitions = parts
    if any(f.severity == "error" for f in out.findings):
        return out
    net_parts = {n: p.part for n, p in parts.items() if p.part is not None}
    master = merge_networks(system, results, policy, target, parts=net_parts)
    if progress is not None:
        progress(None)
    # the platform's own tasks: receive and dispatch, transmit; every network's tasks were fitted alone
    budget = system.platform.task_budget
    pgraph = master.graph
    records = _records(decisions, pgraph, {d["klass"] for n, d in pgraph.nodes(data=True)
                                          if master.plan["elements"][n]["origin"] == "platform"
                                          and master.plan["elements"][n]["network"] is None})
    platform_nodes = frozenset(n for n, e in master.plan["elements"].items() if e.get("origin") == "platform")
    model = CostModel(pgraph, records, metadata, system.platform.max_packet_length, policy.task_classes,
                      declared, platform_nodes, policy.task_bursts, shared_costs)
    ptasks = [t for t in model.tasks() if master.plan["elements"][t]["network"] is None]
    no_moves: dict[str, dict[str, str]] = {}
    platform_findings: list[Finding] = []
    _force_out(model, master, budget, no_moves, platform_findings, ptasks)
    platform_splits: list[dict[str, Any]] = []
    platform_costs: list[dict[str, Any]] = []
    if not platform_findings:
        _fit(model, master, budget, records, system, no_moves, platform_findings, platform_splits, platform_costs,
             ptasks, None, "platform/split")
    out.findings.extend(platform_findings)
    if any(f.severity == "error" for f in out.findings):
        return out
    for nm in sorted(parts):
        out.task_costs.extend(parts[nm].task_costs)
        out.task_splits.extend(parts[nm].task_splits)
    out.task_costs.extend(platform_costs)
    out.task_costs.sort(key=lambda t: t["task"])
    out.task_splits.extend(platform_splits)
    _dispatch_costs(model, master)
    out.master = master
    master.plan["budget"] = {"task_budget": budget, "ns_per_unit": system.platform.ns_per_unit}
    master.plan["tasks"] = out.task_costs
    master.plan["splits"] = out.task_splits
    master.plan["placements"] = {
        n: {e: dict({"side": pl.side[e], "reason": pl.reasons[e]},
                    **({"condition": pl.conditional[e]} if e in pl.conditional else {}))
            for e in sorted(pl.side)}
        for n, pl in sorted(out.placements.items())
    }
    master.plan["channels"] = {n: [c.to_json() for c in s.channels] for n, s in sorted(out.splits.items())}
    return out


def _dispatch_costs(model: CostModel, master: Master) -> None:
    """Per physical device, the cost per packet of each level of the dispatch tree (its most expensive
    Classifier) and their sum, a bound on any walk from the root to a tunnel's output (also when a split put a
    Queue between two levels)."""
    for tree in master.plan.get("dispatch", {}).values():
        for lv in tree["levels"]:
            lv["max_cost"] = _fmt(max(model.cost(n, mode="push") for n in lv["classifiers"]))
        costs = [lv["max_cost"] for lv in tree["levels"]]
        tree["worst_walk"] = None if None in costs else _fmt(sum(costs))


def _records(decisions: Decisions, g: nx.MultiDiGraph, classes: set[str] | None = None) -> dict[str, Mapping[str, Any]]:
    """The fresh records of ``classes`` (default: every class of ``g``): their costs."""
    out: dict[str, Mapping[str, Any]] = {}
    for klass in sorted(classes if classes is not None else {d["klass"] for _, d in g.nodes(data=True)}):
        dec = decisions.get(klass)
        if dec.state == "fresh" and dec.record is not None:
            out[klass] = dec.record
    return out


def _force_out(model: CostModel, master: Master, budget: int, forced: dict[str, dict[str, str]],
               findings: list[Finding], tasks: list[str]) -> bool:
    """Force out every network element that alone breaks the budget of one of ``tasks``; refuse (MN303) for
    platform ones.  True when something moved."""
    moved = False
    elements = master.plan["elements"]
    for t in tasks:
        tc = model.task_cost(t)
        if tc.cost <= budget:
            continue
        # every element the task can run, on any path: the most expensive path alone would show one
        # culprit per round
        for n in [t] + model.reach(t):
            c = model.cost(n, task=n == t)
            if n == t and c != INF:  # the task's own work repeats for every packet of a run
                if tc.burst == INF:
                    c = INF
                elif c * tc.burst > budget:
                    c = c * tc.burst
            if c != INF and c <= budget:
                continue
            info = elements[n]
            if n == t and tc.burst == INF:
                why = "it handles an unbounded number of packets per run (BURST)"
            elif c == INF:
                why = "its cost is unknown or unbounded"
            else:
                why = f"it alone costs {c:g} units, above the budget of {budget}"
            if info["origin"] == "network":
                net, orig = info["network"], info["original"]
                if orig not in forced[net]:
                    forced[net][orig] = f"in task {t}, {why}"
                    moved = True
            else:
                d = master.graph.nodes[n]
                findings.append(make_finding(rules.OVER_BUDGET_PLATFORM, d["file"], d["line"], d["column"],
                                             element=n, cost="unbounded" if c == INF else f"{c:g}", budget=budget,
                                             network=info["network"] or ""))
    return moved


def _fit(model: CostModel, master: Master, budget: int, records: Mapping[str, Mapping[str, Any]],
         system: System, forced: dict[str, dict[str, str]], findings: list[Finding],
         task_splits: list[dict[str, Any]], task_costs: list[dict[str, Any]], tasks: list[str],
         new_tasks: list[str] | None, split_base: str) -> bool:
    """Split over-budget ``tasks`` with Queue + Unqueue until every one fits (each new Unqueue joins
    ``tasks`` and, for a network, ``new_tasks``: the network's thread runs it).  When no split helps a task,
    its most expensive network element moves to its container (True: the caller starts the network again);
    with none, the merge is refused (MN303).  Each fitted task's cost goes to ``task_costs``."""
    split = split_costs(records, system.platform.max_packet_length, model.declared)
    tried: set[tuple[str, float]] = set()
    tasks = list(tasks)
    # a split only shortens the paths of other tasks through the cut edge (they now stop at its queue), so
    # after one only the split task and its new Unqueue need another look
    pending = [t for t in tasks if model.task_cost(t).cost > budget]
    for _ in range(10_000):
        if not pending:
            break
        tc = model.task_cost(pending.pop(0))
        if tc.cost <= budget:
            continue
        cut_at = best_cut(tc, split)
        if cut_at is None or (tc.task, tc.cost) in tried:  # no cut, or the last one did not lower this task
            return _give_up(tc, master, budget, forced, findings)
        tried.add((tc.task, tc.cost))
        record = _insert_split(master, tc, cut_at.index, f"{split_base}{len(task_splits)}",
                               None if new_tasks is None else master.plan["elements"][tc.task]["network"])
        model.platform_nodes = model.platform_nodes | {record["queue"], record["unqueue"]}
        record.update({"task": tc.task, "cost_before": _fmt(tc.cost), "task_cost_after": _fmt(cut_at.halves.task),
                       "new_task_cost": _fmt(cut_at.halves.new_task), "budget": budget})
        task_splits.append(record)
        tasks.append(record["unqueue"])
        if new_tasks is not None:
            new_tasks.append(record["unqueue"])
        model.invalidate()
        pending[:0] = [tc.task, record["unqueue"]]
    for t in sorted(tasks):
        tc = model.task_cost(t)
        entry: dict[str, Any] = {"task": t, "cost": _fmt(tc.cost), "budget": budget, "fits": tc.cost <= budget,
                                 "packets_per_run": _fmt(tc.burst), "path": tc.path}
        declared = [n for n in tc.path if n in model.used_declared]
        if declared:  # these platform elements' costs are declarations (merge/data/platform_costs.yaml)
            entry["declared"] = declared
        task_costs.append(entry)
    return False


def _give_up(tc: Any, master: Master, budget: int, forced: dict[str, dict[str, str]], findings: list[Finding]) -> bool:
    """No split brings ``tc`` under the budget: move its most expensive network element out, else refuse."""
    elements = master.plan["elements"]
    movable = [(c, n) for n, c in zip(tc.path, tc.costs)
               if elements[n]["origin"] == "network" and elements[n]["original"] not in forced[elements[n]["network"]]]
    if movable:
        _, n = max(movable, key=lambda x: (x[0], x[1]))
        info = elements[n]
        forced[info["network"]][info["original"]] = (f"in task {tc.task}, no split brings the task under the budget "
                                                     f"of {budget} units ({tc.cost:g}): it is the most expensive "
                                                     "element of the task's path")
        return True
    d = master.graph.nodes[tc.task]
    findings.append(make_finding(rules.OVER_BUDGET_PLATFORM, d["file"], d["line"], d["column"],
                                 element=tc.task, cost=f"{tc.cost:g}", budget=budget, network=""))
    return False


def _insert_split(master: Master, tc: Any, i: int, base: str, net: str | None) -> dict[str, Any]:
    """Cut ``tc``'s path between ``path[i]`` and ``path[i + 1]`` with ``base/queue`` and ``base/unqueue`` (of
    network ``net``, or of the platform)."""
    g = master.graph
    u, v = tc.path[i], tc.path[i + 1]
    edges = sorted((d["from_port"], d["to_port"]) for _, w, d in g.out_edges(u, data=True) if w == v)
    fp, tp = edges[0]
    els = master.plan["elements"]
    at = g.nodes[v]
    downstream = i >= tc.task_index
    q, uq = f"{base}/queue", f"{base}/unqueue"
    section = next(s for s in master.sections if (u, fp, v, tp) in s.edges)
    section.edges.remove((u, fp, v, tp))
    g.remove_edge(u, v, key=(fp, tp))
    for name, klass, why in ((q, "Queue", "holds packets between the two halves of a split task"),
                             (uq, "Unqueue", "runs the second half of a split task")):
        g.add_node(name, klass=klass, config="", file=at["file"], line=at["line"], column=at["column"])
        section.nodes.append(name)
        els[name] = {"network": net, "origin": "platform", "reason": why, "file": at["file"], "line": at["line"]}
    chain = [(u, fp, q, 0), (q, 0, uq, 0), (uq, 0, v, tp)] if downstream else [(u, fp, uq, 0), (uq, 0, q, 0), (q, 0, v, tp)]
    for a, ap, b, bp in chain:
        g.add_edge(a, b, key=(ap, bp), from_port=ap, to_port=bp)
        section.edges.append((a, ap, b, bp))
    return {"between": [u, v], "queue": q, "unqueue": uq, "where": "downstream" if downstream else "upstream"}
