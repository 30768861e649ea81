"""Where to split a task that is over the budget: the cut search.

Decides, for a task over ``task_budget`` (:class:`merge.tasks.TaskCost`), the
cut on its most expensive path that best balances the two halves: a cut
between two elements of the path gets a ``Queue`` + ``Unqueue``, the Unqueue
being a new task (BURST 1) that runs one half while the task keeps the other
and its burst.  Downstream of the task, the task pushes into the Queue and
the new Unqueue pulls from it and runs the rest; upstream, the new Unqueue
runs the left part and pushes into the Queue the task now pulls from.  What
the Queue and Unqueue cost is their platform cost (:func:`split_costs`: their
records, else their declared costs, instantiated with an empty configuration).
The best cut is the one whose larger half is smallest, and only a cut whose
larger half is below the task's current cost helps; an element of unknown
cost on the path, or an unknown queue cost, leaves no cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from merge.tasks import INF, TaskCost, instantiate

__all__ = ["Cut", "Halves", "SplitCosts", "best_cut", "halves", "platform_cost", "split_costs"]


@dataclass(frozen=True)
class SplitCosts:
    """What the elements a split inserts cost, per packet: the Queue's push and pull, the Unqueue's run."""

    queue_push: float
    queue_pull: float
    unqueue: float


@dataclass(frozen=True)
class Halves:
    """The costs per run after a cut: the task's and the new Unqueue task's."""

    task: float
    new_task: float

    @property
    def worst(self) -> float:
        return max(self.task, self.new_task)


@dataclass(frozen=True)
class Cut:
    """The cut between ``path[index]`` and ``path[index + 1]`` of a task's path, and the halves it makes."""

    index: int
    halves: Halves

    @property
    def worst(self) -> float:
        return self.halves.worst


def platform_cost(records: Mapping[str, Mapping[str, Any]], klass: str, method: str, max_packet: int,
                  declared: Mapping[str, Mapping[str, Any]] | None = None) -> float:
    """The cost of a platform-inserted element's ``method`` (the largest known cost if that one is missing): its
    record's, else its class's declared cost."""
    value = INF
    for rec in (records.get(klass), (declared or {}).get(klass)):
        if rec is None or value != INF:
            continue
        costs = rec.get("cost") or {}
        names = [method] if method in costs else sorted(costs)
        symbols = rec.get("cost_symbols") or {}
        if names:
            value = max(instantiate(costs[m], symbols, "", max_packet) for m in names)
    return value


def split_costs(records: Mapping[str, Mapping[str, Any]], max_packet: int,
                declared: Mapping[str, Mapping[str, Any]] | None = None) -> SplitCosts:
    """The costs of the Queue and Unqueue a split inserts."""
    return SplitCosts(platform_cost(records, "Queue", "push", max_packet, declared),
                      platform_cost(records, "Queue", "pull", max_packet, declared),
                      platform_cost(records, "Unqueue", "run_task", max_packet, declared))


def halves(tc: TaskCost, i: int, split: SplitCosts) -> Halves:
    """The task's and the new Unqueue task's costs after cutting between path[i] and path[i+1]."""
    left, right = sum(tc.costs[: i + 1]), sum(tc.costs[i + 1:])
    b = tc.burst  # the task keeps its burst; the new Unqueue (BURST 1) handles one packet per run
    if i >= tc.task_index:  # downstream of the task: path[i] -> Queue -> Unqueue -> path[i+1]
        return Halves(b * (left + split.queue_push), split.unqueue + split.queue_pull + right)
    # upstream: path[i] -> Unqueue -> Queue -> path[i+1]; the new task does the left part
    return Halves(b * (split.queue_pull + right), split.unqueue + left + split.queue_push)


def best_cut(tc: TaskCost, split: SplitCosts) -> Cut | None:
    """The cut minimizing the larger half; None when none lowers the task's cost."""
    if len(tc.path) < 2 or any(c == INF for c in tc.costs) or \
            INF in (split.queue_push, split.queue_pull, split.unqueue, tc.burst):
        return None
    best: Cut | None = None
    for i in range(len(tc.path) - 1):
        h = halves(tc, i, split)
        if h.worst < tc.cost and (best is None or h.worst < best.worst):
            best = Cut(i, h)
    return best
