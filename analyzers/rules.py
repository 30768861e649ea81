"""The element-check rules (family KS) of the one registry, :mod:`certify.core.rules`.

A view for the analyzers: the rules are declared there, with their default
verdict class (``effect``); a user's analyzer policy may change it.
"""

from __future__ import annotations

from certify.core.findings import Rule
from certify.core.rules import KS_RULES

RULES: tuple[Rule, ...] = KS_RULES
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
BY_SYMBOL: dict[str, Rule] = {r.symbol: r for r in RULES}


def rule(rule_id: str) -> Rule:
    return BY_ID[rule_id]
