"""What a report shows, as plain data: the database's records and, optionally, a merge plan.

Decides what is read: every class's record in the layered database (the
topmost layer's, with the decision on it: :mod:`element_db.decision`, the
one gate and merge make), and from a merge output directory its ``plan.json``, its ``master.click``
and each network's ``user.click``, parsed with our own front end.  Sources
are read only when a page is rendered (``source_root``), never stored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from certify.core.decision import Decision
from certify.core.errors import InputError, Location
from element_db.decision import Context, Decisions
from element_db.store import LayeredDatabase
from merge.lang import load_file
from merge.lang.limits import Limits


@dataclass
class NetworkView:
    name: str
    info: dict[str, Any]
    kernel: nx.MultiDiGraph  # the network's part of the master (its own and its platform elements)
    user: nx.MultiDiGraph | None
    placements: dict[str, dict[str, str]] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    splits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReportData:
    db_path: str  # the top layer
    statuses: list[Decision]
    plan: dict[str, Any] | None = None
    plan_dir: str | None = None
    networks: list[NetworkView] = field(default_factory=list)
    source_root: str | None = None
    layers: list[str] = field(default_factory=list)  # top first


def load_report_data(db: LayeredDatabase, plan_dir: str | None, source_root: str | None,
                     context: Context | None = None) -> ReportData:
    decisions = Decisions(db, context or Context.current(source_root))
    data = ReportData(db.layers[0].name, decisions.all(), source_root=source_root, layers=db.names())
    if plan_dir is None:
        return data
    plan_file = os.path.join(plan_dir, "plan.json")
    try:
        with open(plan_file, encoding="utf-8") as f:
            plan = json.load(f)
    except OSError as exc:
        raise InputError(_loc(plan_file), f"cannot read plan: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(_loc(plan_file, exc.lineno, exc.colno), f"plan is not JSON: {exc.msg}") from None
    data.plan, data.plan_dir = plan, plan_dir
    master = load_file(os.path.join(plan_dir, "master.click"), limits=Limits.none()).graph  # the platform's own
    elements = plan.get("elements", {})
    for name in sorted(plan.get("networks", {})):
        info = plan["networks"][name]
        mine = [n for n in master.nodes if elements.get(n, {}).get("network") == name]
        near = set(mine)
        for n in mine:  # the platform elements each network connects to, for context
            near.update(master.predecessors(n))
            near.update(master.successors(n))
        kernel = master.subgraph(sorted(near)).copy()
        user_file = os.path.join(plan_dir, name, "user.click")
        user = load_file(user_file, limits=Limits.none()).graph if os.path.isfile(user_file) else None
        tasks = [t for t in plan.get("tasks", []) if any(elements.get(p, {}).get("network") == name for p in t["path"])]
        splits = [s for s in plan.get("splits", []) if s["queue"].startswith(name + "/")]
        data.networks.append(NetworkView(name, info, kernel, user, plan.get("placements", {}).get(name, {}),
                                         plan.get("channels", {}).get(name, []), tasks, splits))
    return data


def _loc(path: str, line: int = 0, col: int = 0) -> Any:

    return Location(path, line, col)
