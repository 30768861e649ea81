"""Incremental merge: keep each network's checked result and partition, redo only what changed.

Decides when a network's earlier result may stand in for recomputing it.  A
merge of N networks checks each one (parse, flatten, the network checks) and
partitions each one alone (:func:`merge.pipeline.partition_network`); both
are functions of the network's own inputs.  :class:`MergeCache` keeps, per
network, the result of each step under a digest of everything that step
reads:

* the check: the bytes of the network's configuration file, its entry in the
  system file (name, uid, devices and tunnels, shares, where the file is),
  the network policy and the known classes, and (compared at look-up) the
  port metadata of every class its graph uses, as the database gives it now;
* the partition: the check's digest, the target, the platform settings, the
  physical devices its tunnels use, where its entries are in the system file
  (the merger's elements point there), the declared platform costs, and the
  decision (state and whole record) of every class the partition asked the
  database about.

A network whose digest matches reuses its result as it is; any other is
recomputed.  The combine, the dispatch and the platform's task budget are
always redone (they are linear in the number of networks), so an incremental
merge writes the same files, byte for byte, as a full merge of the same
inputs (tests/test_incremental.py compares them after random sequences of
installs and uninstalls).  The cache lives in one process (the coordinator's)
and holds at most two entries per network name (the accepted configuration
and the latest candidate), and none for a network no longer merged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from element_db.decision import Decisions
from merge.checks import NetworkResult, check_network
from merge.pipeline import NetworkPartition
from merge.policy import Policy
from merge.system import Network, System

__all__ = ["MergeCache"]


def _default(o: Any) -> Any:
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    raise TypeError(f"cannot digest {type(o).__name__}")


def digest(*parts: Any) -> str:
    """A digest of plain data (dicts, lists, strings, numbers, dataclasses, sets)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 16), b""):
                h.update(chunk)
    except OSError as exc:  # the check reports it; never reuse a result for a file that cannot be read
        return f"unreadable:{exc.errno}:{path}"
    return h.hexdigest()


@dataclass
class _Partitioned:
    key: str
    classes: dict[str, str]  # class -> digest of its decision when the partition was made
    result: NetworkPartition


@dataclass
class MergeCache:
    """Per network: the checked result and the partition of its last merge, each under its inputs' digest."""

    # network -> digest -> (result, the port metadata of each class its graph uses)
    checked: dict[str, dict[str, tuple[NetworkResult, dict[str, Any]]]] = field(default_factory=dict)
    partitioned: dict[str, dict[str, _Partitioned]] = field(default_factory=dict)
    per_network: int = 2
    pending: set[str] = field(default_factory=set)  # networks being prechecked for an install: kept across merges
    stats: dict[str, int] = field(default_factory=lambda: {"check_hits": 0, "checks": 0, "partition_hits": 0,
                                                           "partitions": 0})
    _keys: dict[str, str] = field(default_factory=dict)  # network -> check digest, of the current merge
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def environment(self, policy: Policy, known: Iterable[str]) -> str:
        """The digest of what every network's check reads besides its own entry, its file and the port
        metadata of its classes (once per merge): the policy and the known classes."""
        return digest(policy, sorted(known))

    def check(self, network: Network, system: System, policy: Policy, metadata: Mapping[str, Any],
              known: frozenset[str], environment: str) -> NetworkResult:
        """The network's checked result for this merge: the kept one when nothing it reads changed, else a
        fresh one (kept)."""
        key, result = self.precheck(network, system, policy, metadata, known, environment)
        self._keys[network.name] = key
        return result

    def precheck(self, network: Network, system: System, policy: Policy, metadata: Mapping[str, Any],
                 known: frozenset[str], environment: str) -> tuple[str, NetworkResult]:
        """The network's checked result and its digest, kept for a later merge; safe to call from several
        threads at once, and while a merge runs (the checking itself runs outside the cache's lock)."""
        locations = [system.location("networks", network.name)] + [
            system.location("networks", network.name, "devices", v) for v in sorted(network.devices)]
        key = digest(_file_digest(network.config), network, system.path, [dataclasses.astuple(loc) for loc in
                                                                          locations], environment)
        with self._lock:
            entry = self.checked.setdefault(network.name, {}).get(key)
        if entry is not None and all(_metadata(metadata, k) == m for k, m in entry[1].items()):
            with self._lock:
                self.stats["check_hits"] += 1
            return key, entry[0]
        with self._lock:
            self.stats["checks"] += 1
        result = check_network(network, policy, metadata, known)
        classes = sorted({d["klass"] for _, d in result.graph.nodes(data=True)}) if result.graph is not None else []
        used = {k: _metadata(metadata, k) for k in classes}
        with self._lock:
            _put(self.checked.setdefault(network.name, {}), key, (result, used), self.per_network)
        return key, result

    def _partition_key(self, system: System, network: Network, target: str) -> str:
        physical = [system.physical[p] for p in sorted({v.physical for v in network.devices.values()})]
        return digest(self._keys.get(network.name, ""), target, system.platform, physical)

    def known(self, system: System, results: list[NetworkResult], decisions: Decisions,
              target: str) -> dict[str, NetworkPartition]:
        """The kept partitions that still hold for this merge (for a reused one, ``decisions`` is asked about exactly
        the classes a fresh partition would ask about; the others are only peeked at)."""
        out: dict[str, NetworkPartition] = {}
        seen: dict[str, str] = {}
        for r in results:
            name = r.network.name
            if name not in self._keys:
                continue
            entry = self.partitioned.get(name, {}).get(self._partition_key(system, r.network, target))
            if entry is not None and all(_decision_digest(decisions, k, seen) == d for k, d in entry.classes.items()):
                out[name] = entry.result
                self.stats["partition_hits"] += 1
                for k in entry.classes:  # what a fresh partition would have asked: plan.json lists these decisions
                    decisions.get(k)
        return out

    def keep(self, system: System, results: list[NetworkResult], decisions: Decisions,
             partitions: Mapping[str, NetworkPartition], target: str) -> None:
        """Keep this merge's partitions (only of networks whose check is known); forget networks not merged."""
        seen: dict[str, str] = {}
        names = set()
        for r in results:
            name = r.network.name
            names.add(name)
            p = partitions.get(name)
            if p is None or name not in self._keys:
                continue
            key = self._partition_key(system, r.network, target)
            kept = self.partitioned.setdefault(name, {})
            if key in kept and kept[key].result is p:
                continue  # reused as it was
            self.stats["partitions"] += 1
            _put(kept, key, _Partitioned(key, {k: _decision_digest(decisions, k, seen) for k in sorted(p.classes)}, p),
                 self.per_network)
        with self._lock:
            for stale in set(self.partitioned) - names:
                del self.partitioned[stale]
            for stale in set(self.checked) - names - set(self.pending):
                del self.checked[stale]


def _metadata(metadata: Mapping[str, Any], klass: str) -> Any:
    value = metadata.get(klass)
    return None if value is None else dict(value)


def _put(kept: dict[str, Any], key: str, value: Any, most: int) -> None:
    kept.pop(key, None)
    kept[key] = value
    while len(kept) > most:
        del kept[next(iter(kept))]  # the oldest


def _decision_digest(decisions: Decisions, klass: str, seen: dict[str, str]) -> str:
    if klass not in seen:
        d = decisions.peek(klass)  # a kept result that no longer holds must not add its classes to this run
        seen[klass] = digest(d.to_json(), d.record)
    return seen[klass]
