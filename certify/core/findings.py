"""The one Finding type, and rules as data, shared by analyzers, merge and reports.

A :class:`Rule` is declared once, in the registry (:mod:`certify.core.rules`),
with a stable id (``KS101``), a symbol (``global-write``), a message template, a
severity, its default effect, why it exists, and a bad and a good example that
reports can show.  A
:class:`Finding` is one occurrence: which rule, where (file, line, column), in
what (element class or network), the symbol involved, and the call path from a
packet-path entry point to the offending line.  Analyzers and checks return
findings; they never print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from certify.core.errors import position

SEVERITIES = ("error", "warning", "note")


EFFECTS = ("reject", "userspace", "error", "none", "refuse", "move")


@dataclass(frozen=True)
class Rule:
    """A rule, declared once in :mod:`certify.core.rules`.

    ``variants`` are other message templates of the same rule, by name, for findings of one rule that read
    differently (KS502 on a loop and on a whole packet-path method): every message text is declared here too."""

    id: str
    symbol: str  # its name, e.g. global-write
    message: str  # a str.format template over the finding's fields
    severity: str
    effect: str  # what a finding does by default (see certify/core/rules.py)
    rationale: str  # why it exists: the help text of `certify explain`, SARIF and the reports
    bad: str = ""
    good: str = ""
    variants: tuple[tuple[str, str], ...] = ()  # (name, message template)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: unknown severity {self.severity!r}")
        if self.effect not in EFFECTS:
            raise ValueError(f"rule {self.id}: unknown effect {self.effect!r}")

    def template(self, variant: str | None = None) -> str:
        """The message template, or the named variant's (KeyError for a variant the rule does not declare)."""
        return self.message if variant is None else dict(self.variants)[variant]

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    column: int
    rule: str
    message: str
    severity: str = "error"
    symbol: str = ""
    element: str = ""  # the element class (analyzers) or element name (merge)
    network: str = ""
    path: tuple[str, ...] = field(default=())
    confidence: str = "high"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "symbol": self.symbol,
            "path": list(self.path),
        }
        if self.element:
            d["element"] = self.element
        if self.network:
            d["network"] = self.network
        if self.confidence != "high":
            d["confidence"] = self.confidence
        return d

    def __str__(self) -> str:
        sym = f" [{self.symbol}]" if self.symbol else ""
        return f"{position(self.file, self.line, self.column)}: {self.rule}: {self.message}{sym}"


_OWN = ("symbol", "element", "network", "path", "confidence")  # fields of the finding, not only of its message


def make_finding(rule: Rule, file: str, line: int, column: int, *, severity: str | None = None,
                 variant: str | None = None, **fields: Any) -> Finding:
    """The one way a :class:`Finding` is built: a finding of ``rule`` at ``file:line:column``, its message the
    rule's template filled from ``fields`` (``symbol``, ``element``, ``network``, ``path`` and ``confidence`` are
    also the finding's own fields), or the rule's named ``variant`` template.  ``severity`` is the rule's unless
    given (an analyzer policy may change it)."""
    values = {k: v for k, v in fields.items() if k not in _OWN}
    message = rule.template(variant).format(**values, **{k: fields.get(k, "") for k in ("symbol", "element", "network")})
    kept = {k: fields[k] for k in _OWN if k in fields}
    if "path" in kept:
        kept["path"] = tuple(kept["path"])
    return Finding(file, line, column, rule.id, message, severity or rule.severity, **kept)
