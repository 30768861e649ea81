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
from collections.abc import Callable, Iterable, Mapping
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


def decide(found: Found, ctx: Context, writers: Callable[[], Mapping[str, str]] | None = None) -> Decision:
    """The decision for one class from what the layers hold for it: the core's :func:`certify.core.decision.decide`
    over this record, the current versions and a check of its sources.  ``writers`` (global -> who writes it,
    over every layer) is asked only for a record that relied on globals no file of its library writes
    (``relies_on``, :mod:`analyzers.globaluse`): a layer whose sources write one makes the record stale."""
    st = found.status
    layer = found.layer
    rec = st.record
    current = ctx.stock_policy_version if layer and layer.is_stock and ctx.stock_policy_version else ctx.policy_version

    def sources() -> tuple[str, str, str | None]:
        assert rec is not None and layer is not None
        return check_sources(rec, layer, ctx)

    def conflict() -> str:
        relied = [r["global"] for r in (rec or {}).get("relies_on", [])]
        if not relied or writers is None:
            return ""
        by = writers()
        hit = next((g for g in relied if g in by), None)
        return "" if hit is None else f"relied on {hit} being written by no source, but {by[hit]} writes it"

    return core_decide(st.klass, "missing" if layer is None else st.state, st.reason, rec,
                       analyzer_version=ctx.analyzer_version, policy_version=current, check_sources=sources,
                       layer=layer.name if layer else None, layer_path=layer.path if layer else None,
                       stock=bool(layer and layer.is_stock), overrides=tuple(db.name for db in found.shadowed),
                       conflict=conflict)


class Decisions:
    """The decisions of one run over one layered database, each class decided once."""

    def __init__(self, db: LayeredDatabase, ctx: Context) -> None:
        self.db = db
        self.ctx = ctx
        self._done: dict[str, Decision] = {}
        self._peeked: dict[str, Decision] = {}
        self._writers: dict[str, str] | None = None

    def get(self, klass: str) -> Decision:
        d = self._done.get(klass)
        if d is None:
            d = self._peeked.pop(klass, None) or decide(self.db.read(klass), self.ctx, self.writers)
            self._done[klass] = d
        return d

    def peek(self, klass: str) -> Decision:
        """The decision for ``klass`` without counting it among the ones this run used (:meth:`decided`, which
        plan.json and the notes list); a later :meth:`get` reuses it."""
        d = self._done.get(klass) or self._peeked.get(klass)
        if d is None:
            d = self._peeked[klass] = decide(self.db.read(klass), self.ctx, self.writers)
        return d

    def writers(self) -> Mapping[str, str]:
        """Every global some record of some layer says its sources write -> who (read once, when first needed)."""
        if self._writers is None:
            self._writers = {}
            for layer in self.db.layers:
                for klass in layer.classes():
                    rec = layer.read(klass).record
                    for g in (rec or {}).get("global_writes", []):
                        self._writers.setdefault(g, f"class {klass} (layer {layer.name})")
        return self._writers

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


# --------------------------------------------------------------------------- configuration-conditional verdicts


def condition_keywords(record: Mapping[str, Any] | None) -> dict[str, int | None]:
    """The keywords a record's verdict is conditional on (``conditions``, :mod:`analyzers.guards`), each with the
    position of the positional argument that also gives it (None: by keyword only).  The merge reads an instance's
    configuration for them (element_db never parses configurations) and hands the ones given to
    :func:`decide_instance`."""
    out: dict[str, int | None] = {}
    for c in (record or {}).get("conditions", []):
        for kw in c.get("keywords", []):
            pos = c.get("positions", {}).get(kw)
            if kw not in out or (pos is not None and (out[kw] is None or pos < (out[kw] or 0))):
                out[kw] = pos
    return out


def dropped_costs(record: Mapping[str, Any] | None, given: frozenset[str] | None) -> frozenset[str]:
    """The cost symbols an instance whose configuration gives the keywords ``given`` never spends: those only
    guarded calls introduce (a condition's ``cost_symbols``), when no condition listing the symbol has a keyword
    in ``given``.  None (the configuration could not be read), a record without conditions: none dropped (the
    class's worst-case cost holds)."""
    if given is None or not record:
        return frozenset()
    listed: dict[str, bool] = {}  # symbol -> some condition listing it is met
    for c in record.get("conditions", []):
        met = any(k in given for k in c.get("keywords", []))
        for sym in c.get("cost_symbols", []):
            listed[sym] = listed.get(sym, False) or met
    return frozenset(sym for sym, met in listed.items() if not met)


@dataclass(frozen=True)
class InstanceDecision:
    """Where one element instance may run, from its class's decision and the keywords its configuration gives."""

    placement: str  # kernel | user | refused
    verdict: str | None  # the verdict for this instance
    conditional: bool  # the class's conditions decided it (the instance's configuration counts)
    reason: str = ""  # why, in the instance's terms, when conditional
    given: tuple[str, ...] = ()  # the conditions' keywords the configuration gives
    unless: tuple[str, ...] = ()  # the keywords that would make it worse (none given)


_WORSE = {"kernel": 0, "userspace": 1, "reject": 2, "error": 3}


def decide_instance(dec: Decision, given: frozenset[str] | None) -> InstanceDecision:
    """The decision for one instance of ``dec``'s class whose configuration gives the keywords ``given`` (None:
    the configuration could not be read).  Only a fresh record with ``conditions`` and a
    ``verdict_unless_configured`` is decided per instance: the instance gets the verdict of the unconditional
    findings made worse by every condition one of whose keywords it gives.  Anything else, and a configuration
    that could not be read, gets the class's decision (the worst case: fail closed)."""
    rec = dec.record
    unless = rec.get("verdict_unless_configured") if rec else None
    conditions = rec.get("conditions", []) if rec else []
    if dec.state != "fresh" or not conditions or unless not in _WORSE or dec.verdict == "error":
        return InstanceDecision(dec.placement, dec.verdict, False)
    keywords = tuple(condition_keywords(rec))
    if given is None:
        return InstanceDecision(dec.placement, dec.verdict, True, "its configuration could not be read for "
                                + " or ".join(keywords) + f": the class's verdict, {dec.verdict}, holds")
    verdict = str(unless)
    hit: list[str] = []
    for c in conditions:
        kws = [k for k in c.get("keywords", []) if k in given]
        if kws:
            hit.extend(k for k in kws if k not in hit)
            v = c.get("verdict_if_given", "error")
            if _WORSE.get(v, 3) > _WORSE[verdict]:
                verdict = v if v in _WORSE else "error"
    placement = {"kernel": "kernel", "userspace": "user"}.get(verdict, "refused")
    if hit:
        why = (f"its configuration gives {' and '.join(hit)}, which makes it {verdict} ("
               + "; ".join(c["guard"] for c in conditions if set(c.get("keywords", [])) & set(hit)) + ")")
    else:
        why = f"{verdict} unless {' or '.join(keywords)} is given, and its configuration gives none of them"
    return InstanceDecision(placement, verdict, True, why, tuple(hit), keywords)
