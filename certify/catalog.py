"""The rule catalog of `certify rules`, `explain` and SARIF: the one registry, :mod:`certify.core.rules`."""

from __future__ import annotations

from certify.core.findings import Rule
from certify.core.rules import RULES
from certify.core.rules import find_rule as find_rule

# what each effect does, as `certify explain` says it
_EFFECTS = {
    "reject": "a finding on the packet path rejects the element: it needs the kernel",
    "userspace": "a finding on the packet path keeps the element out of the kernel: it runs only in a network's "
                 "user-level container",
    "error": "a finding makes the element's verdict an error: it is never certified",
    "none": "reported only",
    "refuse": "the merge is refused, or the gate fails",
    "move": "the element runs in its network's user-level container instead of the kernel",
}


def all_rules() -> list[Rule]:
    return sorted(RULES, key=lambda r: r.id)


def effect_text(r: Rule) -> str:
    """The rule's default effect and what it does; for an element check, that a policy may change it."""
    text = f"{r.effect}: {_EFFECTS[r.effect]}"
    if r.id.startswith("KS"):
        text += " (an analyzer policy's verdicts may change it)"
    return text
