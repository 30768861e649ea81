"""Audited inline suppressions: ``// certify: allow KS101 the reason``.

A suppression names one rule id (or several, comma-separated) and a reason.  It
applies to findings of that rule on its own line, or, when the comment stands
alone on its line, on the next line.  Every suppression is listed in the
report; one that silences nothing is itself a finding (KS003), and one without a
known rule id or a reason, or naming a rule the policy says may not be
suppressed, is KS004 (it then silences nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzers.rules import BY_ID

_COMMENT = re.compile(r"//\s*certify:\s*allow\b(.*)$")
_IDS = re.compile(r"\s*((?:KS\d{3})(?:\s*,\s*KS\d{3})*)\s*(.*)$")


@dataclass(frozen=True)
class Suppression:
    file: str
    line: int  # where the comment is
    column: int
    target: int  # the line it applies to
    rules: tuple[str, ...]
    reason: str
    problem: str = ""  # why it is malformed, or ""

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "target_line": self.target, "rules": list(self.rules),
                "reason": self.reason}


def scan_suppressions(file: str, text: str, unsuppressible: frozenset[str]) -> list[Suppression]:
    out: list[Suppression] = []
    for n, raw in enumerate(text.splitlines(), 1):
        m = _COMMENT.search(raw)
        if not m:
            continue
        col = m.start() + 1
        target = n + 1 if not raw[: m.start()].strip() else n
        ids = _IDS.match(m.group(1))
        if not ids:
            out.append(Suppression(file, n, col, target, (), "", "no rule id"))
            continue
        rules = tuple(r.strip() for r in ids.group(1).split(","))
        reason = ids.group(2).split("//", 1)[0].strip()  # a later comment on the line is not the reason
        problem = ""
        unknown = [r for r in rules if r not in BY_ID]
        banned = [r for r in rules if r in unsuppressible]
        if unknown:
            problem = f"unknown rule {unknown[0]}"
        elif banned:
            problem = f"{banned[0]} may not be suppressed"
        elif not reason:
            problem = "no reason given"
        out.append(Suppression(file, n, col, target, rules, reason, problem))
    return out
