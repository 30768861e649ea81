"""The rule catalog of `certify rules`, `explain` and SARIF: the one registry, :mod:`certify.core.rules`."""

from __future__ import annotations

from certify.core.findings import Rule
from certify.core.rules import RULES
from certify.core.rules import find_rule as find_rule


def all_rules() -> list[Rule]:
    return sorted(RULES, key=lambda r: r.id)
