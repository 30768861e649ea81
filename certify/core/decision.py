"""The one decision: may a class's record be trusted, and where may the class run?

Every command that uses certification (gate, merge, serve, report, ``db``,
``certify library`` when it skips unchanged files) gets its :class:`Decision`
from :func:`decide`, through :class:`element_db.decision.Decisions`, which
gathers what the decision needs: the record the layered database holds, the
current analyzer and policy versions, and a check of the record's sources.
From those, in this order:

1. no record: ``missing``; a record failing its schema or digest check:
   ``invalid``;
2. made by another analyzer version, or under another analyzer policy: ``stale``;
3. a source gone or changed since certification: ``stale``; sources that cannot
   be found leave the record usable, with ``sources == "unavailable"`` (every
   caller says so, never silently fresh);
4. otherwise ``fresh``.

The placement follows: a fresh ``kernel`` record: ``kernel``; a fresh
``userspace`` one: ``user``; anything else: ``refused``.  :attr:`Decision.outcome`
is the one classification callers map to their own rules (the gate's GA1xx, the
merge's MN30x): ``missing``, ``stale``, ``invalid``, ``reject``, ``error``,
``userspace`` or ``kernel``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PLACEMENTS = ("kernel", "user", "refused")
OUTCOMES = ("missing", "stale", "invalid", "reject", "error", "userspace", "kernel")

# (checked | unavailable, why the record is stale or why its sources are unavailable, the tree they were found in)
SourceCheck = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class Decision:
    """Whether a class's record is trusted (``state``), where the class may run (``placement``), and why."""

    klass: str
    state: str  # fresh | stale | invalid | missing
    placement: str  # kernel | user | refused
    verdict: str | None = None  # the record's verdict, whatever its state (None without a readable record)
    reason: str = ""  # why it is not fresh
    layer: str | None = None  # the name of the layer the record comes from ("stock" for the stock database)
    layer_path: str | None = None  # that layer's directory
    stock: bool = False  # that layer is the shipped stock database
    sources: str = "unchecked"  # checked | unavailable | unchecked (the decision stopped before the sources)
    source_tree: str | None = None  # where the sources were checked
    sources_reason: str = ""  # why they are unavailable
    overrides: tuple[str, ...] = ()  # lower layers whose record for the class this one hides
    record: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def verdict_reasons(self) -> str:
        """The record's first reasons for its verdict (what a user is shown for a userspace or reject class)."""
        if self.record is None:
            return self.reason
        return "; ".join(self.record.get("reasons", [])[:2]) or str(self.verdict)

    @property
    def outcome(self) -> str:
        """``missing``/``stale``/``invalid`` (no trusted record), else the fresh record's verdict."""
        return self.state if self.state != "fresh" else str(self.verdict)

    @property
    def why(self) -> str:
        """Why the outcome: the reason a record is not trusted, or the trusted record's own reasons."""
        return self.reason if self.state != "fresh" else self.verdict_reasons

    @property
    def unverified_sources(self) -> bool:
        """A fresh record of a layer the user named whose sources cannot be found: an edit would go unnoticed
        (the stock layer's are summed up in one note per run instead)."""
        return self.sources == "unavailable" and not self.stock

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"class": self.klass, "state": self.state, "placement": self.placement,
                               "verdict": self.verdict, "layer": self.layer, "layer_path": self.layer_path,
                               "sources": self.sources}
        if self.reason:
            out["reason"] = self.reason
        elif self.record is not None and self.placement != "kernel":
            out["reason"] = self.verdict_reasons  # fresh, but not for the kernel: the record's own reasons
        if self.source_tree:
            out["source_tree"] = self.source_tree
        if self.sources_reason:
            out["sources_reason"] = self.sources_reason
        if self.overrides:
            out["overrides"] = list(self.overrides)
        return out


def decide(klass: str, state: str, reason: str, record: Mapping[str, Any] | None, *, analyzer_version: str,
           policy_version: str, check_sources: Callable[[], SourceCheck], layer: str | None = None,
           layer_path: str | None = None, stock: bool = False, overrides: tuple[str, ...] = (),
           conflict: Callable[[], str] | None = None) -> Decision:
    """The decision for one class (see the module docstring).  ``state`` is what reading the record gave:
    ``missing``, ``invalid`` or ``valid``; ``check_sources`` is called only when the versions match;
    ``conflict``, when given, says why something else in the database contradicts what the record relied on
    (a global it read as never written, written by another record's sources): stale for that reason."""
    common: dict[str, Any] = {"layer": layer, "layer_path": layer_path, "stock": stock, "overrides": overrides}
    if state == "missing":
        return Decision(klass, "missing", "refused", reason=reason or "no record", **common)
    if state != "valid" or record is None:
        return Decision(klass, "invalid", "refused", reason=reason, **common)
    rec = dict(record)
    common.update(verdict=rec["verdict"], record=rec)
    if rec["analyzer_version"] != analyzer_version:
        why = f"certified by analyzer {rec['analyzer_version']}, current is {analyzer_version}"
        return Decision(klass, "stale", "refused", reason=why, **common)
    if rec["policy_version"] != policy_version:
        why = f"certified under policy {rec['policy_version'][:19]}, current is {policy_version[:19]}"
        return Decision(klass, "stale", "refused", reason=why, **common)
    why = conflict() if conflict is not None else ""
    if why:
        return Decision(klass, "stale", "refused", reason=why, **common)
    sources, why, tree = check_sources()
    common.update(sources=sources, source_tree=tree)
    if sources == "checked" and why:
        return Decision(klass, "stale", "refused", reason=why, **common)
    if sources == "unavailable":
        common["sources_reason"] = why
    placement = {"kernel": "kernel", "userspace": "user"}.get(rec["verdict"], "refused")
    return Decision(klass, "fresh", placement, **common)
