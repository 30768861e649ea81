"""The rule catalog of every check, in one place: for `certify rules`, `explain` and SARIF.

Each area keeps its own rules as data (merge/rules.py, certify/gate.py,
analyzers/rules.py); this module lists them all and refuses duplicate ids.
"""

from __future__ import annotations

import importlib

from certify.core.findings import Rule

_SOURCES = ["merge.rules", "certify.gate", "analyzers.rules"]


def all_rules() -> list[Rule]:
    rules: list[Rule] = []
    for name in _SOURCES:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        rules.extend(r for r in getattr(mod, "RULES", []) if isinstance(r, Rule))
    ids = [r.id for r in rules]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise RuntimeError(f"duplicate rule ids: {sorted(dup)}")
    return sorted(rules, key=lambda r: r.id)


def find_rule(rule: str) -> Rule | None:
    key = rule.strip()
    for r in all_rules():
        if key in (r.id, r.symbol):
            return r
    return None
