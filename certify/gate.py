"""The pre-merge CI gate: may these networks' configurations be merged, given the database?

Decides, for every network of a system configuration:

* everything the merge checks decide (isolation, devices, classes, ports:
  the MN rules of :mod:`merge.checks`), except that "unknown class" is decided
  here by the database instead of the stock class list;
* for every element class the network uses, the decision on its record
  (:mod:`element_db.decision`, over the layered database): no record (GA101),
  a stale record (GA102: another analyzer or policy, or a source edited since
  certification), an invalid record (GA103), a ``reject`` verdict (GA104) and
  an analysis error (GA105) fail the gate; ``userspace`` (GA106) is a warning:
  the element will run in the network's container; a record of a layer the
  user named whose sources cannot be found (GA107) is a warning, since an
  edit could not be noticed.  Stock records whose sources are unavailable, and
  every record that overrides a lower layer's, are notes of the run
  (:meth:`element_db.decision.Decisions.notes`).

Nothing that could not be analyzed ever passes.  A baseline (a file of
finding fingerprints, written with ``--write-baseline``) turns known problems
into notes, so that only new ones fail.  Fingerprints do not depend on line
numbers: moving code does not make an old problem new.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from certify.core.decision import Decision
from certify.core.errors import InputError, Location
from certify.core.findings import Finding, Rule, make_finding
from certify.core.rules import GA_RULES, rule
from element_db.decision import Context, Decisions
from element_db.store import Database, LayeredDatabase
from merge.checks import NetworkResult, check_network
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.policy import Policy
from merge.system import System

UNCERTIFIED = rule("GA101")
STALE = rule("GA102")
INVALID = rule("GA103")
REJECTED = rule("GA104")
ANALYSIS_ERROR = rule("GA105")
USERSPACE = rule("GA106")
SOURCES_UNAVAILABLE = rule("GA107")
RULES = [rule(r.id) for r in GA_RULES]


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    networks: dict[str, list[Finding]] = field(default_factory=dict)
    classes: dict[str, list[Finding]] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    baselined: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # once per run: overrides, stock sources unavailable

    @property
    def passed(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def fingerprint(f: Finding) -> str:
    """Identifies a problem across edits: rule, network, element and symbol, not the line."""
    key = "\x1f".join([f.rule, f.network, f.element, f.symbol, os.path.basename(f.file)])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def load_baseline(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(Location(path, 0, 0), f"cannot read baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(Location(path, exc.lineno, exc.colno), f"baseline is not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("fingerprints"), list):
        raise InputError(Location(path, 1, 1), 'baseline must be {"version": 1, "fingerprints": [...]}')
    return {str(x) for x in data["fingerprints"]}


def write_baseline(path: str, findings: list[Finding]) -> None:
    data = {"version": 1, "fingerprints": sorted({fingerprint(f) for f in findings if f.severity == "error"})}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")


def run_gate(
    system: System,
    db: LayeredDatabase | Database,
    policy: Policy,
    context: Context | None = None,
    baseline: set[str] | None = None,
) -> GateResult:
    """Gate every network; ``db`` is the layered database (a bare :class:`Database` is one layer on its own),
    ``context`` the current analyzer, policy and source locations (default: :meth:`Context.current`)."""
    layered = db if isinstance(db, LayeredDatabase) else LayeredDatabase([db])
    decisions = Decisions(layered, context or Context.current())
    known = stock_classes() | frozenset(layered.classes())
    metadata = layered.port_metadata(stock_elements())
    res = GateResult()
    for name in sorted(system.networks):
        net = system.networks[name]
        r: NetworkResult = check_network(net, policy, metadata, known)
        found = [f for f in r.findings if f.rule not in ("MN103", "MN205")]
        if r.graph is not None:
            for n, d in r.graph.nodes(data=True):
                klass = d["klass"]
                if klass in policy.forbidden_classes:
                    continue  # already refused by MN102
                if klass in policy.device_classes:
                    continue  # replaced by the platform's GRE decapsulation/encapsulation
                dec = res.decisions[klass] = decisions.get(klass)
                fs = _class_findings(dec, klass, name, n, d)
                found.extend(fs)
                res.classes.setdefault(klass, []).extend(fs)
        kept = []
        seen: set[tuple[str, int, int, str, str]] = set()
        for f in found:
            key = (f.file, f.line, f.column, f.rule, f.message)
            if key in seen:  # one compound instantiated twice: one problem, written once
                continue
            seen.add(key)
            if baseline and f.severity == "error" and fingerprint(f) in baseline:
                res.baselined.append(f)
            else:
                kept.append(f)
        res.networks[name] = kept
        res.findings.extend(kept)
    res.findings.sort(key=lambda f: (f.network, f.file, f.line, f.column, f.rule))
    res.notes = decisions.notes(res.decisions[k] for k in sorted(res.decisions))
    return res


# The gate's rule for each outcome of the one decision (certify.core.decision); kernel passes.
_RULE_OF_OUTCOME: dict[str, Rule] = {"missing": UNCERTIFIED, "stale": STALE, "invalid": INVALID, "reject": REJECTED,
                                     "error": ANALYSIS_ERROR, "userspace": USERSPACE}


def _class_findings(dec: Decision, klass: str, network: str, element: str, d: Mapping[str, Any]) -> list[Finding]:
    where = (d["file"], d["line"], d["column"])
    common: dict[str, Any] = {"klass": klass, "network": network, "element": element, "symbol": klass}
    out = []
    r = _RULE_OF_OUTCOME.get(dec.outcome)
    if r is not None:
        out.append(make_finding(r, *where, reason=dec.why, **common))
    if dec.state == "fresh" and dec.unverified_sources:
        out.append(make_finding(SOURCES_UNAVAILABLE, *where, layer=dec.layer, reason=dec.sources_reason, **common))
    return out
