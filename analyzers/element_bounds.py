"""Loop bounds and costs of an element's packet-path methods, for verdicts and records.

Decides what `certify element` and `certify library` add from the loop-bound
analysis (:mod:`analyzers.bounds`): per element class (by C++ name), the loops
of its own methods, the worst-case cost of each packet-path method (push,
pull, simple_action, smaction, run_task, run_timer; ``None`` when unbounded),
and what fills each cost symbol where that is known (``*_length`` of a packet:
``packet_length``; ``ninputs``/``noutputs``: the instance's port counts; the
rest stays unfilled, so the partition counts it as unbounded).  A packet-path method whose cost is unbounded -- an unbounded loop
or recursion on it -- is a KS502 finding at the method: such an element is
never ``kernel``.
"""

from __future__ import annotations

import re
from typing import Any

from analyzers.bounds import BoundsInputError, analyze
from analyzers.frontend import ParseOptions
from analyzers.policy import Policy
from analyzers.report import FileResult
from certify.findings import Finding

PACKET_METHODS = ("push", "pull", "simple_action", "smaction", "run_task", "run_timer")
_UNBOUNDED = {"oo", "zoo", "-oo", "nan"}


def element_bounds(path: str, opts: ParseOptions) -> dict[str, dict[str, Any]]:
    try:
        doc: dict[str, Any] = dict(analyze([path], opts).to_json())
    except BoundsInputError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for fn in doc["functions"]:
        cls, _, method = str(fn["name"]).rpartition("::")
        if not cls:
            continue
        entry = out.setdefault(cls, {"loops": [], "cost": {}, "cost_symbols": {}, "unbounded": []})
        if method in PACKET_METHODS:
            cost = str(fn["cost"])
            if cost in _UNBOUNDED or "oo" in re.findall(r"[A-Za-z_]\w*", cost):
                entry["cost"][method] = None
                entry["unbounded"].append((method, fn["file"], fn["line"]))
            else:
                entry["cost"][method] = cost
                for sym in re.findall(r"[A-Za-z_]\w*", cost):
                    if sym.endswith("_length"):
                        entry["cost_symbols"][sym] = "packet_length"
                    elif sym in ("ninputs", "noutputs"):  # Element::ninputs()/noutputs(): the instance's ports
                        entry["cost_symbols"][sym] = sym
    for lp in doc["loops"]:
        cls = str(lp.get("function", "")).rpartition("::")[0]
        if cls in out:
            out[cls]["loops"].append({k: lp.get(k) for k in ("file", "line", "column", "function", "kind", "bound",
                                                              "bound_symbolic", "status")})
    return out


def add_bounds(result: FileResult, path: str, opts: ParseOptions, policy: Policy) -> None:
    """Attach loops and packet-path costs; an unbounded packet-path method is KS502."""
    bounds = element_bounds(path, opts)
    for rep in result.elements:
        b = bounds.get(rep.cls.split("-")[0])
        if not b:
            continue
        rep.loops, rep.cost, rep.cost_symbols = b["loops"], b["cost"], b["cost_symbols"]
        for method, file, line in b["unbounded"]:
            rep.findings.append(Finding(str(file), int(line), 1, "KS502",
                                        f"packet-path method {method} has no proven bound on its work "
                                        "(an unbounded loop or recursion)", policy.severity("KS502"), rep.cls,
                                        f"{rep.cls}::{method}"))
        if b["unbounded"]:
            rep.decide(policy)
