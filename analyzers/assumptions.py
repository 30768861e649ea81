"""What a verdict assumes rather than proves: the trusted routines on an element's packet path.

Some of what certify says about an element rests on declarations, not on
analysis: the Click and C library routines the analyzer policy trusts
(``allowed_api``: the Classifier's program walk, Packet accessors, Vector and
HashMap methods, ``memcpy``) are neither followed nor checked, and the costs
``api_costs.yaml`` declares stand in for the bodies the cost model does not see.
The walk records every such callee (:mod:`analyzers.checks.trusted`) as a
:class:`TrustedCall`; :func:`describe` turns the calls an element's packet path
reaches into one assumption per routine:

* ``routine``: the qualified name;
* ``kind``: ``trusted-api`` (the policy trusts it: its body is not analysed at
  all) or ``declared-cost`` (its body is analysed for safety, but its cost is a
  declaration, e.g. a caller-specific entry of ``api_costs.yaml``);
* ``assumed``: what is assumed, in words, with the declared worst-case cost when
  one applies (or, for a trusted routine without one, that its cost stays an
  unfilled symbol: unbounded at merge time, fail-closed);
* ``declared_in``: where, with the line: the ``allowed_api`` entry that matched
  (``analyzers/policy_default.yaml:84: allowed_api 'memcpy'``, or the user's
  ``--policy`` file) and the cost entry (``analyzers/api_costs.yaml:34``),
  joined by ``; ``.  Files inside certify are named relative to its repository.

Assumptions never change a verdict: a ``kernel`` element with assumptions is
still ``kernel``; the outputs say so instead of staying silent.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import yaml

from analyzers import apicost
from analyzers.policy import DEFAULT_POLICY, Policy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRUSTED_API = "trusted-api"
DECLARED_COST = "declared-cost"
KINDS = (TRUSTED_API, DECLARED_COST)

TRUST_TEXT = ("trusted library routine, not analysed: touches only its object and arguments, "
              "no global or router state")
DECLARED_TEXT = "its body is analysed for safety, its cost is declared, not derived"


class TrustedCall(NamedTuple):
    """One call (or address taken) of a routine whose body or cost is taken on trust."""

    routine: str  # qualified name, template arguments dropped
    kind: str  # TRUSTED_API or DECLARED_COST
    signature: str  # qualified name with parameter types, for the cost entries that match signatures
    nargs: int  # arguments at the call
    caller: str  # the calling function, for the cost entries declared for one caller


def shown_path(path: str) -> str:
    """A file of certify's own relative to its repository; any other file as given."""
    ap = os.path.abspath(path)
    if ap.startswith(REPO + os.sep):
        return os.path.relpath(ap, REPO)
    return path


@functools.lru_cache(maxsize=8)
def _list_lines(path: str, key: str) -> dict[str, int]:
    """The 1-based line of each string item of the top-level list ``key`` in a YAML (or JSON) file."""
    try:
        with open(path, encoding="utf-8") as f:
            node = yaml.compose(f.read())
    except (OSError, yaml.YAMLError):
        return {}
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.SequenceNode):
                for item in v.value:
                    if isinstance(item, yaml.ScalarNode):
                        out.setdefault(item.value, item.start_mark.line + 1)
    return out


def trust_entry(routine: str, policy: Policy) -> str:
    """Where the ``allowed_api`` pattern that trusts ``routine`` is declared: ``file:line: allowed_api 'pattern'``."""
    pattern = next((p for p in policy.lists.get("allowed_api", []) if fnmatch.fnmatchcase(routine, p)), None)
    if pattern is None:
        return "allowed_api (no entry matches any more)"
    for path in (DEFAULT_POLICY, policy.path):
        if path:
            line = _list_lines(path, "allowed_api").get(pattern)
            if line is not None:
                return f"{shown_path(path)}:{line}: allowed_api '{pattern}'"
    return f"{shown_path(policy.path or DEFAULT_POLICY)}: allowed_api '{pattern}'"


def describe(calls: Iterable[TrustedCall], policy: Policy) -> list[dict[str, Any]]:
    """One assumption per routine (sorted by routine) for the trusted calls an element's packet path reaches."""
    costs = apicost.load()
    by_routine: dict[str, list[TrustedCall]] = {}
    for c in calls:
        by_routine.setdefault(c.routine, []).append(c)
    out: list[dict[str, Any]] = []
    for routine in sorted(by_routine):
        group = sorted(set(by_routine[routine]))
        kind = TRUSTED_API if any(c.kind == TRUSTED_API for c in group) else DECLARED_COST
        entries: list[apicost.Entry] = []
        undeclared = False
        for c in group:
            e = costs.entry_for(c.routine, c.signature, c.nargs, c.caller)
            if e is None:
                undeclared = True
            elif e not in entries:
                entries.append(e)
        entries.sort(key=lambda e: e.line)
        if kind == DECLARED_COST and not entries:
            continue  # nothing declared for these calls after all: their cost is derived or left unbounded
        said: list[str] = [TRUST_TEXT if kind == TRUSTED_API else DECLARED_TEXT]
        where: list[str] = [trust_entry(routine, policy)] if kind == TRUSTED_API else []
        item: dict[str, Any] = {"routine": routine, "kind": kind}
        if entries:
            item["cost"] = " or ".join(e.text for e in entries)
            formulas = " or ".join(f"{e.text} unit{'' if e.text == '1' else 's'}" for e in entries)
            args = "; a0, a1, ...: the call's arguments" if any(e.uses for e in entries) else ""
            said.append(f"worst-case cost {formulas} (declared{args})")
            where.extend(f"{shown_path(e.file)}:{e.line}" for e in entries)
        if undeclared and kind == TRUSTED_API:
            symbol = apicost.unresolved_symbol(routine)
            said.append(f"{'some calls have ' if entries else ''}no declared cost: the symbol {symbol}, which nothing "
                        "fills (unbounded at merge time)")
        item.update(assumed="; ".join(said), declared_in="; ".join(where))
        out.append(item)
    return out


def merge(*lists: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The union of assumption lists (several variants of one class): one per (routine, what, where), sorted."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for items in lists:
        for a in items:
            seen.setdefault((a["routine"], a["assumed"], a["declared_in"]), dict(a))
    return [seen[k] for k in sorted(seen)]
