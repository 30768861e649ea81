"""The plain data an analysis returns: one report per element class, and the verdict rule.

The verdict of an element is decided from its packet-path findings only (config-time
findings are reported beside them): the worst verdict class among them, in the
order error > reject > userspace, each class taken from the policy; no finding
of any class, and the element is ``kernel``.  Fail-closed rules (parse errors,
unresolved symbols, kernel-only code, crashes) are findings like any other, so
they can never leave an element ``kernel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analyzers.assumptions import TrustedCall
from analyzers.guards import Guard, Key, split_conditions
from analyzers.policy import Policy
from analyzers.rules import BY_ID
from certify.core.findings import Finding

VERDICTS = ("kernel", "userspace", "reject", "error")
_RANK = {"none": 0, "userspace": 1, "reject": 2, "error": 3}


@dataclass
class ElementReport:
    cls: str
    file: str
    line: int
    verdict: str = "kernel"
    reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    config_findings: list[Finding] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the analyzed file (file and line are where the class is defined)
    # for linking with other files of the same run (analyzers.crossfile): KS303 findings whose callee
    # has a USR, and the definitions a virtual call on this element runs, by method name
    unresolved: list[tuple[Finding, str]] = field(default_factory=list)
    overrides: dict[str, list[str]] = field(default_factory=dict)
    # from the loop-bound analysis (analyzers.element_bounds)
    loops: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, str | None] = field(default_factory=dict)
    cost_symbols: dict[str, str] = field(default_factory=dict)
    # the packet-path methods the class runs: (method, qualified name, file, line), bases included
    packet_defs: list[tuple[str, str, str, int]] = field(default_factory=list)
    # the packet-path methods whose bodies are in another file (KS303 until analyzers.crossfile links them):
    # (method, qualified name, USR)
    packet_elsewhere: list[tuple[str, str, str]] = field(default_factory=list)
    # mutable globals read on the packet path that no file of the library writes (analyzers.globaluse):
    # (qualified name, the file defining it); their KS102 findings were dropped on that proof
    relies_on: list[tuple[str, str]] = field(default_factory=list)
    # what the packet path does to the data's start and the network header (analyzers.checks.layout);
    # None when some call on it was not resolved
    packet_layout: dict[str, bool] | None = None
    # packet-path findings that run only when a configuration keyword is given (analyzers.guards), by (rule, file,
    # line, column); from them decide() sets the conditions of the verdict and the verdict of the other findings
    guards: dict[Key, Guard] = field(default_factory=dict)
    # the unresolved-call cost symbols (cost_<name>) every call of which such a guard's member holds, by member
    # (analyzers.element_bounds): an instance not giving the member's keywords never runs them
    guard_costs: dict[str, list[str]] = field(default_factory=dict)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    verdict_unless_configured: str | None = None
    # the routines the packet path takes on trust (analyzers.checks.trusted), and what that assumes, one per
    # routine (analyzers.assumptions.describe): never a change of verdict, always said
    trusted: set[TrustedCall] = field(default_factory=set)
    assumptions: list[dict[str, Any]] = field(default_factory=list)

    def decide(self, policy: Policy) -> None:
        """Set verdict and reasons from the packet-path findings."""
        worst = "none"
        reasons: dict[str, str] = {}
        counts: dict[str, int] = {}
        for f in self.findings:
            cls = policy.verdict_class(f.rule)
            counts[f.rule] = counts.get(f.rule, 0) + 1
            if cls != "none":
                reasons[f.rule] = cls
                if _RANK[cls] > _RANK[worst]:
                    worst = cls
        self.verdict = "kernel" if worst == "none" else worst
        self.reasons = [
            f"{cls}: {rid} {BY_ID[rid].symbol if rid in BY_ID else ''} ({counts[rid]} finding{'s' if counts[rid] != 1 else ''})"
            for rid, cls in sorted(reasons.items(), key=lambda kv: (-_RANK[kv[1]], kv[0]))
        ]
        self.conditions, self.verdict_unless_configured = split_conditions(self.findings, self.guards,
                                                                           policy.verdict_class, self.guard_costs)

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.cls,
            "file": self.source or self.file,
            "class_file": self.file,
            "class_line": self.line,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "findings": [f.to_json() for f in self.findings],
            "config_findings": [f.to_json() for f in self.config_findings],
            "suppressed": list(self.suppressed),
            "loops": list(self.loops),
            "cost": dict(self.cost),
            "cost_symbols": dict(self.cost_symbols),
            "ports": self.info.get("port_count", ""),
            "processing": self.info.get("processing", ""),
            "class_name": self.info.get("class_name", self.cls),
            "flow_code": self.info.get("flow_code", ""),
            "notes": list(self.notes),
            "relies_on": [{"global": g, "file": f} for g, f in self.relies_on],
            "packet_layout": dict(self.packet_layout) if self.packet_layout is not None else None,
            "assumptions": [dict(a) for a in self.assumptions],
            "conditions": [dict(c) for c in self.conditions],
            "verdict_unless_configured": self.verdict_unless_configured,
        }


@dataclass
class FileResult:
    """Everything one worker returns for one file: plain, picklable data."""

    file: str
    elements: list[ElementReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # file-level, when the file has no element
    parse_seconds: float = 0.0
    analysis_seconds: float = 0.0
    errors: int = 0  # Error/Fatal diagnostics
    # the first of them (analysis.MAX_PARSE_ERRORS), to print as a compiler does: (file, line, column, severity, message)
    diagnostics: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    functions: int = 0  # function bodies walked
    # the walked functions as plain data, for linking across files: hits and names by function id,
    # and call edges (caller, callee, (file, line, column))
    hits: dict[str, list[Any]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, tuple[str, int, int]]] = field(default_factory=list)
    trusted: dict[str, list[TrustedCall]] = field(default_factory=dict)  # callees taken on trust, by function id
    # the loop-bound analysis of every function of the file, for linking across files: cost by qualified name
    # (None when unbounded; absent when not bound-analyzed), cost symbol fills by C++ class
    function_costs: dict[str, str | None] = field(default_factory=dict)
    class_symbols: dict[str, dict[str, str]] = field(default_factory=dict)
    # mutable globals any function of the file writes (or lets escape), and those its own files define
    # (analyzers.globaluse)
    global_writes: list[str] = field(default_factory=list)
    global_defined: list[str] = field(default_factory=list)
