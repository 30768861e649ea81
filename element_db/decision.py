"""What the one decision (:func:`certify.core.decision.decide`) needs, gathered from the layered database.

Every command that uses certification asks :func:`decide` (through a per-run
:class:`Decisions`), which reads the class's record from the layers, the
current versions and the record's sources and hands them to the core's
decision: the gate, the merge (placement and task costs), the
coordinator (through the merge), the report, ``db list/show/verify/export``,
and ``certify library`` when it skips unchanged files.  None decides on its own.

From the record the layered database holds for the class and the context (the
current analyzer version, the current analyzer policy's version, where sources
may be), in this order:

1. no layer holds a record: ``missing``; the record fails its schema or digest
   check (:meth:`element_db.store.Database.read`): ``invalid``;
2. made by another analyzer version, or under another analyzer policy (its
   version as ``certify library`` computes it: :func:`policy_version`; the
   current one is the shipped policy extended by ``--analyzer-policy``, and
   for the stock layer, which ships with certify, the shipped policy): ``stale``;
3. sources: the record's tree is the first of these candidates that holds at
   least one of its sources: ``--source-root`` (a relocation); the record's
   ``source_base`` (where ``certify library`` found the tree, relative to the
   layer's directory); for a layer the user named, the current directory and
   its repository root; for the stock layer, ``$CLICK_SRC``.  In that tree a
   source that is gone, or whose sha256 differs, makes the record ``stale``.
   When no candidate holds any source, sources are ``unavailable``: the record
   stays usable, and every caller says so (never silently fresh).  The stock
   records come from a Click tree that is not shipped: theirs are unavailable
   unless one is given, and callers sum them up in one note per run;
4. otherwise ``fresh``.

The placement follows: a fresh ``kernel`` record: ``kernel``; a fresh
``userspace`` one: ``user``; anything else (missing, stale, invalid, a
``reject`` or ``error`` verdict): ``refused``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from certify.core.decision import Decision
from certify.core.decision import decide as core_decide
from certify.core.rules import default_effects
from certify.core.version import __version__
from element_db.record import sha256_file
from element_db.store import Database, Found, LayeredDatabase

ANALYZER_VERSION = f"certify-analyzers {__version__}"


def policy_version(policy_path: str | None) -> str:
    """The version of the analyzer policy: the hash of the shipped policy, the API cost table, the registry's
    default verdict class of every rule (:func:`certify.core.rules.default_effects`, as canonical JSON: changing
    a rule's effect makes every record stale) and ``policy_path``."""
    from analyzers.apicost import API_COSTS_FILE
    from analyzers.policy import DEFAULT_POLICY

    h = hashlib.sha256()
    for p in [DEFAULT_POLICY, API_COSTS_FILE]:
        with open(p, "rb") as f:
            h.update(f.read())
    h.update(json.dumps(default_effects(), sort_keys=True, separators=(",", ":")).encode())
    if policy_path:
        with open(policy_path, "rb") as f:
            h.update(f.read())
    return "sha256:" + h.hexdigest()


def _repository_root(start: str) -> str | None:
    d = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


@dataclass(frozen=True)
class Context:
    """What a record is compared with: the current analyzer and policy, and where its sources may be."""

    analyzer_version: str
    policy_version: str  # of the records of the layers the user named
    source_root: str | None = None  # --source-root: relocates every record's sources
    cwd: str = "."
    repository: str | None = None
    click_src: str | None = None  # $CLICK_SRC: the Click tree of the stock records
    stock_policy_version: str | None = None  # of the stock layer's records (None: the same as policy_version)

    @classmethod
    def current(cls, source_root: str | None = None, analyzer_policy: str | None = None) -> Context:
        cwd = os.getcwd()
        return cls(ANALYZER_VERSION, policy_version(analyzer_policy), source_root, cwd, _repository_root(cwd),
                   os.environ.get("CLICK_SRC") or None, policy_version(None))


def _candidates(record: Mapping[str, Any], layer: Database, ctx: Context) -> list[str]:
    out: list[str] = []
    if ctx.source_root:
        out.append(ctx.source_root)
    if layer.is_stock:
        if ctx.click_src:
            out.append(ctx.click_src)
    else:
        if isinstance(record.get("source_base"), str):
            out.append(os.path.normpath(os.path.join(layer.path, record["source_base"])))
        out.append(ctx.cwd)
        if ctx.repository:
            out.append(ctx.repository)
    seen: list[str] = []
    for c in out:
        if all(os.path.realpath(c) != os.path.realpath(s) for s in seen):
            seen.append(c)
    return seen


def check_sources(record: Mapping[str, Any], layer: Database, ctx: Context) -> tuple[str, str, str | None]:
    """(``checked``/``unavailable``, why the record is stale or why its sources are unavailable, the tree)."""
    candidates = _candidates(record, layer, ctx)
    for root in candidates:
        if not any(os.path.isfile(os.path.join(root, s["path"])) for s in record["sources"]):
            continue
        for s in record["sources"]:
            path = os.path.join(root, s["path"])
            if not os.path.isfile(path):
                return "checked", f"source {s['path']} is gone", root
            if sha256_file(path) != s["sha256"]:
                return "checked", f"source {s['path']} changed since it was certified", root
        return "checked", "", root
    if not candidates:
        return "unavailable", "the Click tree of the stock records is not shipped (give --source-root or CLICK_SRC)", None
    return "unavailable", f"no source of the record is under {', '.join(candidates)}", None


def decide(found: Found, ctx: Context) -> Decision:
    """The decision for one class from what the layers hold for it: the core's :func:`certify.core.decision.decide`
    over this record, the current versions and a check of its sources."""
    st = found.status
    layer = found.layer
    rec = st.record
    current = ctx.stock_policy_version if layer and layer.is_stock and ctx.stock_policy_version else ctx.policy_version

    def sources() -> tuple[str, str, str | None]:
        assert rec is not None and layer is not None
        return check_sources(rec, layer, ctx)

    return core_decide(st.klass, "missing" if layer is None else st.state, st.reason, rec,
                       analyzer_version=ctx.analyzer_version, policy_version=current, check_sources=sources,
                       layer=layer.name if layer else None, layer_path=layer.path if layer else None,
                       stock=bool(layer and layer.is_stock), overrides=tuple(db.name for db in found.shadowed))


class Decisions:
    """The decisions of one run over one layered database, each class decided once."""

    def __init__(self, db: LayeredDatabase, ctx: Context) -> None:
        self.db = db
        self.ctx = ctx
        self._done: dict[str, Decision] = {}

    def get(self, klass: str) -> Decision:
        d = self._done.get(klass)
        if d is None:
            d = self._done[klass] = decide(self.db.read(klass), self.ctx)
        return d

    def all(self) -> list[Decision]:
        """Every class any layer holds a record for, in class order."""
        return [self.get(k) for k in self.db.classes()]

    def decided(self) -> list[Decision]:
        return [self._done[k] for k in sorted(self._done)]

    def notes(self, decisions: Iterable[Decision] | None = None) -> list[str]:
        """The notes a run prints once: each override, and one line for all stock records whose sources are
        unavailable (the Click tree they were certified from is not shipped)."""
        ds = list(self.decided() if decisions is None else decisions)
        out = [override_note(d) for d in ds if d.overrides]
        stock = [d for d in ds if d.stock and d.sources == "unavailable"]
        if stock:
            n = len(stock)
            out.append(f"certify: note: the sources of {n} stock record{'s' if n != 1 else ''} are unavailable (the "
                       "stock database ships without the Click tree it was certified from), so edits to them are not "
                       "detected; give --source-root or set CLICK_SRC to a Click tree to check them")
        return out


def override_note(d: Decision) -> str:
    hidden = " and ".join("the stock record" if name == "stock" else f"the record from layer {name}"
                          for name in d.overrides)
    return f"certify: note: class {d.klass}: record from layer {d.layer} overrides {hidden}"
