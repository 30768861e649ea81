"""One merge, from a loaded system to the files to install: shared by `certify merge` and the coordinator.

Decides the order of the steps (check every network; refuse when one fails;
merge, with the partition over the layered certified-element database --
the default -- or, only when certification is explicitly off
(``--no-certify``), without it, saying so on every run; re-check the ports of
everything written) and produces plain data: the messages to show, and the
output files as relative path -> text.  Writing the files is the caller's:
`certify merge` writes them into --out, the coordinator installs them
atomically.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from certify.core.findings import Finding
from certify.core.jsontext import dumps_sorted
from element_db.decision import Context, Decisions
from element_db.store import LayeredDatabase
from merge.checks import NetworkResult, check_network
from merge.combine import master_text, merge_networks
from merge.incremental import MergeCache
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.policy import Policy
from merge.ports import check_ports
from merge.system import System


class MergeLimitExceeded(Exception):
    """A merge ran past its wall-clock or memory limit (:class:`MergeWatch`)."""

    def __init__(self, message: str, network: str | None) -> None:
        super().__init__(message)
        self.network = network


@dataclass
class MergeWatch:
    """The limits of one merge as a whole: ``seconds`` of wall-clock time from its start and ``memory_mib`` of
    growth of the process's resident memory.  Checked after each network's check and partition and after the
    combine, so one step (bounded by the network policy's limits) may overrun a little, never a whole merge."""

    seconds: float
    memory_mib: float
    start: float = field(default_factory=time.monotonic)
    rss_at_start: float = field(default_factory=lambda: _rss_mib())

    def check(self, network: str | None = None) -> None:
        after = f" (at network {network})" if network else ""
        took = time.monotonic() - self.start
        if took > self.seconds:
            raise MergeLimitExceeded(f"the merge took longer than its limit of {self.seconds:g} s{after}", network)
        grown = _rss_mib() - self.rss_at_start
        if grown > self.memory_mib:
            raise MergeLimitExceeded(f"the merge grew the coordinator's memory by {grown:.0f} MiB, above its limit of "
                                     f"{self.memory_mib:g} MiB{after}", network)


def _rss_mib() -> float:
    """This process's resident memory now (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


@dataclass
class MergeOutcome:
    ok: bool
    messages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    executable: set[str] = field(default_factory=set)
    summary: dict[str, Any] = field(default_factory=dict)


def run_merge(
    system: System,
    policy: Policy,
    db: LayeredDatabase | None,
    target: str,
    context: Context | None = None,
    out_dir: str = ".",
    verbose: bool = False,
    run_dir: str = "/run/certify",
    cache: MergeCache | None = None,
    watch: MergeWatch | None = None,
) -> MergeOutcome:
    """Merge ``system``; ``db`` is the layered database to certify against (None: certification is off),
    ``context`` the current analyzer, policy and source locations (default: :meth:`Context.current`).  With
    ``cache`` (the coordinator's), networks whose inputs did not change since an earlier merge reuse their
    checked result and partition (:mod:`merge.incremental`); the files written are the same.  With ``watch``,
    a merge that runs past its wall-clock or memory limit stops at the next network and is refused."""
    try:
        with _young_collections_only():
            return _run_merge(system, policy, db, target, context, out_dir, verbose, run_dir, cache, watch)
    except MergeLimitExceeded as exc:
        return MergeOutcome(False, messages=[f"certify: merge refused: {exc}"],
                            refused=[exc.network] if exc.network else [])


@contextlib.contextmanager
def _young_collections_only() -> Iterator[None]:
    """A merge builds a large heap that lives until its end (graphs, records, the plan) and makes little cyclic
    garbage, so Python's full collections, each a walk of the whole heap, only cost time (about a fifth of a merge
    of 1,000 networks, for no memory back).  During the merge the collector runs less often and, in effect, on
    young objects only; the caller's thresholds come back after it."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def merge_inputs(db: LayeredDatabase | None) -> tuple[frozenset[str], Any]:
    """The classes a network may use and their port metadata: the stock classes, and the database's."""
    known = stock_classes()
    metadata: Any = stock_elements()
    if db is not None:
        known = known | frozenset(db.classes())
        metadata = db.port_metadata(stock_elements())
    return known, metadata


def check_outcome(results: list[NetworkResult], verbose: bool = False) -> MergeOutcome:
    """The messages of the networks' checks, refused when one failed (not ok: the merge stops here)."""
    out = MergeOutcome(False)
    out.messages.extend(str(w) for r in results for w in r.warnings)
    out.findings = [f for r in results for f in r.findings if verbose or f.severity != "note"]
    out.messages.extend(str(f) for f in out.findings)
    out.refused = sorted(r.network.name for r in results if not r.ok)
    if out.refused:
        s = "s" if len(out.refused) > 1 else ""
        out.messages.append(f"certify: merge refused: network{s} {', '.join(out.refused)} failed the checks")
    return out


def _run_merge(system: System, policy: Policy, db: LayeredDatabase | None, target: str, context: Context | None,
               out_dir: str, verbose: bool, run_dir: str, cache: MergeCache | None,
               watch: MergeWatch | None) -> MergeOutcome:
    known, metadata = merge_inputs(db)
    decisions = Decisions(db, context or Context.current()) if db is not None else None
    env = cache.environment(policy, known) if cache is not None else ""
    results = []
    for net in system.networks.values():
        results.append(cache.check(net, system, policy, metadata, known, env) if cache is not None
                       else check_network(net, policy, metadata, known))
        if watch is not None:
            watch.check(net.name)
    out = check_outcome(results, verbose)
    if out.refused:
        return out
    user_parts: dict[str, Any] = {}
    if decisions is not None:
        from merge.pipeline import partitioned_merge

        reuse = cache.known(system, results, decisions, target) if cache is not None else None
        part = partitioned_merge(system, results, decisions, policy, metadata, target, known=reuse,
                                 progress=watch.check if watch is not None else None)
        if cache is not None:
            cache.keep(system, results, decisions, part.partitions, target)
        out.findings.extend(part.findings)
        out.messages.extend(str(f) for f in part.findings)
        out.messages.extend(decisions.notes())
        if not part.ok or part.master is None:
            out.refused = sorted({f.network for f in part.findings if f.severity == "error"})
            out.messages.append("certify: merge refused: the partition failed (see the errors above)")
            return out
        master = part.master
        user_parts = {n: s for n, s in part.splits.items() if s.user.number_of_nodes()}
        master.plan["database_layers"] = decisions.db.names()
        master.plan["decisions"] = {d.klass: d.to_json() for d in decisions.decided()}
    else:
        master = merge_networks(system, results, policy, target)
        # Certification explicitly off: the isolation checks ran, certification did not.  Say so, every time.
        master.plan["certification"] = "none"
        out.messages.append("certify: warning: certification is off (--no-certify): the networks' elements are "
                            "placed in the master without any certification record")
    problems = [f for f in check_ports(master.graph, metadata) if f.severity == "error"]
    for n, sp in user_parts.items():
        problems += [f for f in check_ports(sp.user, metadata, network=n) if f.severity == "error"]
    if problems:  # a merger bug: never write a configuration Click would refuse
        raise RuntimeError("merged configuration fails its port checks: " + "; ".join(map(str, problems[:3])))
    header = (
        f"Master configuration written by certify merge (target {target}) from {os.path.basename(system.path)}.\n"
        f"Networks: {', '.join(sorted(system.networks))}.  Threads: {master.plan['threads']}.  Do not edit."
    )
    out.files["master.click"] = master_text(master, header)
    from merge.lang.unparse import unparse
    from merge.launch import channels_script, shell_script, systemd_unit

    master.plan["run_dir"] = run_dir
    if user_parts and target == "userlevel":
        out.files["channels.sh"] = channels_script(user_parts, run_dir)
        out.executable.add("channels.sh")
    for n, sp in sorted(user_parts.items()):
        user_file = os.path.abspath(os.path.join(out_dir, n, "user.click"))
        out.files[f"{n}/user.click"] = (
            f"// User-level Click container of network {n}, written by certify merge. Do not edit.\n"
            f"// Channels to the kernel master: {', '.join(c.peer for c in sp.channels)}.\n\n" + unparse(sp.user)
        )
        net = system.networks[n]
        out.files[f"{n}/launch.sh"] = shell_script(net, sp, user_file, run_dir=run_dir)
        out.executable.add(f"{n}/launch.sh")
        out.files[f"{n}/certify-{n}.service"] = systemd_unit(net, sp, user_file, run_dir=run_dir)
        master.plan["networks"][n]["user"] = {"config": user_file, "elements": sorted(sp.user.nodes),
                                              "control": f"{run_dir}/{n}/control.sock"}
    out.files["plan.json"] = dumps_sorted(master.plan, 1) + "\n"
    out.summary = {
        "networks": len(system.networks),
        "elements": master.graph.number_of_nodes(),
        "connections": master.graph.number_of_edges(),
        "threads": master.plan["threads"],
    }
    out.ok = True
    return out


def write_files(out_dir: str, outcome: MergeOutcome) -> None:
    """Write each file atomically (temporary file + rename) under ``out_dir``."""
    for rel, text in sorted(outcome.files.items()):
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if rel in outcome.executable:
            os.chmod(tmp, 0o755)
        os.replace(tmp, path)
