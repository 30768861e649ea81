"""The partitioned merge: place, cut, merge, fit every kernel task to the budget, repeat.

Decides the final layout of a certified merge (``certify merge`` unless
``--no-certify``), over the decisions on the layered database's records
(:class:`element_db.decision.Decisions`: one decision per class and run):

1. place every network's elements (:func:`merge.partition.place`); a refusal
   (uncertified, rejected) stops here;
2. cut each network into its kernel part and its container part, with a
   channel per cut edge (:func:`merge.partition.cut`); a cut where the
   network header's offset is not known statically moves (the element on
   its kernel side joins the container) and the loop starts again from 1;
3. merge the kernel parts (:func:`merge.combine.merge_networks`);
4. cost every kernel task (:mod:`merge.tasks`).  An element that alone exceeds
   the budget, or whose cost is unbounded or unknown, is forced into its
   network's container and the loop starts again from 1 (a platform element
   cannot move: the merge is refused).  Otherwise every task over the budget
   gets the Queue + Unqueue cut that best balances it (:mod:`merge.cuts`), until
   all fit.

Every step is deterministic; plan.json records every placement, channel,
split and task cost with the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from certify.core.findings import Finding, make_finding
from element_db.decision import Decisions
from merge import rules
from merge.channels import unknown_offset_moves
from merge.checks import NetworkResult
from merge.combine import Master, merge_networks
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

    @property
    def ok(self) -> bool:
        return self.master is not None and not any(f.severity == "error" for f in self.findings)


def _fmt(c: float) -> float | None:
    return None if c == INF else round(c, 3)


def partitioned_merge(
    system: System,
    results: list[NetworkResult],
    decisions: Decisions,
    policy: Policy,
    metadata: Mapping[str, Mapping[str, str]],
    target: str = "linuxmodule",
) -> Partitioned:
    budget = system.platform.task_budget
    declared = load_platform_costs()
    forced: dict[str, dict[str, str]] = {r.network.name: {} for r in results}
    # each round moves at least one network element into its container, so the loop ends
    rounds = sum(r.graph.number_of_nodes() for r in results if r.graph is not None) + 2
    for _ in range(max(rounds, MAX_ROUNDS)):
        out = Partitioned(None)
        for r in sorted(results, key=lambda r: r.network.name):
            pl, fs = place(r, decisions, policy, forced[r.network.name])
            out.placements[r.network.name] = pl
            out.findings.extend(fs)
        if any(f.severity == "error" for f in out.findings):
            return out
        unknown_offsets = False
        for r in results:
            nm = r.network.name
            out.splits[nm] = cut(r, out.placements[nm], metadata, target)
            for e, why in unknown_offset_moves(out.splits[nm].channels, out.placements[nm].side).items():
                forced[nm][e] = why
                unknown_offsets = True
        if unknown_offsets:
            continue  # a cut whose network header offset is unknown moved: start again
        master = merge_networks(system, results, policy, target, {n: s.kernel for n, s in out.splits.items()})
        records = _records(decisions, master.graph)
        platform_nodes = frozenset(n for n, e in master.plan["elements"].items() if e.get("origin") == "platform")
        model = CostModel(master.graph, records, metadata, system.platform.max_packet_length, policy.task_classes,
                          declared, platform_nodes, policy.task_bursts)
        moved = _force_out(model, master, budget, forced, out)
        if any(f.severity == "error" for f in out.findings):
            return out
        if moved:
            continue
        if _fit(model, master, budget, records, system, out, forced):
            continue  # no split could fit a task: its most expensive network element moved out; start again
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
    raise RuntimeError("partition did not settle")  # each round moves at least one element: cannot happen


def _records(decisions: Decisions, g: nx.MultiDiGraph) -> dict[str, Mapping[str, Any]]:
    """The fresh records of the master's classes (network and platform elements): their costs."""
    out: dict[str, Mapping[str, Any]] = {}
    for klass in sorted({d["klass"] for _, d in g.nodes(data=True)}):
        dec = decisions.get(klass)
        if dec.state == "fresh" and dec.record is not None:
            out[klass] = dec.record
    return out


def _force_out(model: CostModel, master: Master, budget: int, forced: dict[str, dict[str, str]],
               out: Partitioned) -> bool:
    """Force out every network element that alone breaks a task's budget; refuse for platform ones."""
    moved = False
    elements = master.plan["elements"]
    for t in model.tasks():
        tc = model.task_cost(t)
        if tc.cost <= budget:
            continue
        # every element the task can run, on any path: the most expensive path alone would show one
        # culprit per round (the platform's dispatch task reaches every network)
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
                out.findings.append(make_finding(rules.OVER_BUDGET_PLATFORM, d["file"], d["line"], d["column"],
                                                 element=n, cost="unbounded" if c == INF else f"{c:g}", budget=budget,
                                                 network=info["network"] or ""))
    return moved


def _fit(model: CostModel, master: Master, budget: int, records: Mapping[str, Mapping[str, Any]],
         system: System, out: Partitioned, forced: dict[str, dict[str, str]]) -> bool:
    """Split over-budget tasks with Queue + Unqueue until every task fits.  When no split helps a task, its
    most expensive network element moves to its container (True: the caller starts again); with none, the
    merge is refused (MN303)."""
    split = split_costs(records, system.platform.max_packet_length, model.declared)
    tried: set[tuple[str, float]] = set()
    # a split only shortens the paths of other tasks through the cut edge (they now stop at its queue), so
    # after one only the split task and its new Unqueue need another look
    pending = [t for t in model.tasks() if model.task_cost(t).cost > budget]
    for _ in range(10_000):
        if not pending:
            break
        tc = model.task_cost(pending.pop(0))
        if tc.cost <= budget:
            continue
        cut_at = best_cut(tc, split)
        if cut_at is None or (tc.task, tc.cost) in tried:  # no cut, or the last one did not lower this task
            return _give_up(tc, master, budget, forced, out)
        tried.add((tc.task, tc.cost))
        record = _insert_split(master, tc, cut_at.index, len(out.task_splits))
        model.platform_nodes = model.platform_nodes | {record["queue"], record["unqueue"]}
        record.update({"task": tc.task, "cost_before": _fmt(tc.cost), "task_cost_after": _fmt(cut_at.halves.task),
                       "new_task_cost": _fmt(cut_at.halves.new_task), "budget": budget})
        out.task_splits.append(record)
        model.invalidate()
        pending[:0] = [tc.task, record["unqueue"]]
    for t in model.tasks():
        tc = model.task_cost(t)
        entry: dict[str, Any] = {"task": t, "cost": _fmt(tc.cost), "budget": budget, "fits": tc.cost <= budget,
                                 "packets_per_run": _fmt(tc.burst), "path": tc.path}
        declared = [n for n in tc.path if n in model.used_declared]
        if declared:  # these platform elements' costs are declarations (merge/data/platform_costs.yaml)
            entry["declared"] = declared
        out.task_costs.append(entry)
    return False


def _give_up(tc: Any, master: Master, budget: int, forced: dict[str, dict[str, str]], out: Partitioned) -> bool:
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
    out.findings.append(make_finding(rules.OVER_BUDGET_PLATFORM, d["file"], d["line"], d["column"],
                                     element=tc.task, cost=f"{tc.cost:g}", budget=budget, network=""))
    return False


def _insert_split(master: Master, tc: Any, i: int, k: int) -> dict[str, Any]:
    g = master.graph
    u, v = tc.path[i], tc.path[i + 1]
    edges = sorted((d["from_port"], d["to_port"]) for _, w, d in g.out_edges(u, data=True) if w == v)
    fp, tp = edges[0]
    els = master.plan["elements"]
    net = els[u]["network"] or els[v]["network"]
    base = f"{net}/_platform/split{k}" if net else f"platform/split{k}"
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
    if net:
        thread = master.plan["networks"][net]["thread"]
        if "platform/threads" in g:
            g.nodes["platform/threads"]["config"] += f", {uq} {thread}"
        else:
            sched = next(s for s in master.sections if s.title == "platform: scheduling")
            g.add_node("platform/threads", klass="StaticThreadSched", config=f"{uq} {thread}",
                       file=master.plan["system"], line=1, column=1)
            sched.nodes.insert(0, "platform/threads")
            els["platform/threads"] = {"network": None, "origin": "platform", "file": master.plan["system"], "line": 1,
                                       "reason": "places each network's tasks on the network's own thread"}
    return {"between": [u, v], "queue": q, "unqueue": uq, "where": "downstream" if downstream else "upstream"}
