"""Certify a library of element sources into the database, incrementally.

Decides which files need analysis and what each record says:

* the element files are the ``.cc`` files under the given directories whose
  text exports an element (``EXPORT_ELEMENT``); a file's sources are the
  ``.cc`` and the ``.hh`` beside it, named by path relative to ``root`` (the
  Click tree for a Click library), each with its sha256;
* a file is skipped when the database already holds fresh records for it (as
  :mod:`element_db.decision` decides, under this run's analyzer policy): the
  same sources with the same hashes, made by this analyzer version under this
  policy -- a re-run over an unchanged tree analyzes nothing;
* each record also says where ``root`` is relative to the database directory
  (``source_base``), so every later reader finds its sources and notices an
  edit without being told where the tree is;
* the rest is analyzed in worker processes (:mod:`analyzers.engine`); every
  element class becomes one record: its verdict, reasons, findings (paths
  relative to ``root``; no source text), port metadata and suppressions;
* when two files define the same Click class name (a user-level and a kernel
  FromDevice), the record holds both sources and the worse verdict, with each
  variant's reasons: the database never claims more than the weakest variant.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from element_db.decision import ANALYZER_VERSION, Context, Decisions, policy_version
from element_db.record import make_record, now, sha256_file
from element_db.store import STOCK_DB, Database, LayeredDatabase

__all__ = ["ANALYZER_VERSION", "LibraryResult", "certify_library", "element_files", "policy_version", "sources_of"]

_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*")
_RANK = {"kernel": 0, "userspace": 1, "reject": 2, "error": 3}


def element_files(dirs: Sequence[str]) -> list[str]:
    out = []
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            subdirs.sort()
            for f in sorted(files):
                if not f.endswith(".cc"):
                    continue
                path = os.path.join(base, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    if "EXPORT_ELEMENT" in fh.read():
                        out.append(path)
    return out


def sources_of(path: str, root: str) -> list[tuple[str, str]]:
    files = [path]
    hh = path[: -len(".cc")] + ".hh"
    if os.path.isfile(hh):
        files.append(hh)
    return sorted((os.path.relpath(f, root), sha256_file(f)) for f in files)


@dataclass
class LibraryResult:
    analyzed: int = 0
    skipped: int = 0
    records: int = 0
    per_dir: dict[str, collections.Counter[str]] = field(default_factory=dict)
    skipped_names: list[str] = field(default_factory=list)


def _rel_finding(f: dict[str, Any], root: str) -> dict[str, Any]:
    out = dict(f)
    if out.get("file") and os.path.isabs(out["file"]):
        rel = os.path.relpath(out["file"], root)
        out["file"] = rel if not rel.startswith("..") else os.path.basename(out["file"])
    return out


def certify_library(
    dirs: Sequence[str],
    db: Database,
    root: str,
    click_root: str | None = None,
    policy_path: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> LibraryResult:
    ctx = Context.current(analyzer_policy=policy_path)
    pv = ctx.policy_version
    # where the sources are, for every later reader; not for the shipped stock database, whose tree is never
    # looked up through it (only --source-root or CLICK_SRC) and whose records must not carry a machine's path
    shipped = os.path.realpath(db.path) == os.path.realpath(STOCK_DB)
    base: str | None = None if shipped else os.path.relpath(root, os.path.abspath(db.path))
    res = LibraryResult()
    files = element_files(dirs)
    # fresh records by each of their sources: a file is unchanged when some fresh record was made from it and
    # from every header it includes, as they are now (a class with variants in several files, FromDevice's,
    # has one record whose sources are all of theirs)
    fresh: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for d in Decisions(LayeredDatabase([db]), ctx).all():
        if d.state == "fresh" and d.record is not None and d.record.get("source_base") == base:
            for src in d.record["sources"]:
                fresh.setdefault((src["path"], src["sha256"]), []).append(d.record)
    pending: list[str] = []
    kept: dict[str, list[dict[str, Any]]] = {}  # skipped file -> its fresh records
    # files that export no element: unchanged when their sources and the versions are what they were
    elementless = _read_elementless(db)
    versions = {"analyzer_version": ANALYZER_VERSION, "policy_version": pv}
    quiet: dict[str, list[str]] = {}  # skipped element-less file -> the globals it writes
    for f in files:
        mine = sources_of(f, root)
        rel = os.path.relpath(f, root)
        own = next(src for src in mine if src[0] == rel)
        whole = [r for r in fresh.get(own, [])
                 if set(mine) <= {(x["path"], x["sha256"]) for x in r["sources"]}]
        before = elementless.get(rel)
        if not force and whole:
            kept[f] = whole
        elif not force and before is not None and before.get("sources") == [list(x) for x in mine] and \
                all(before.get(k) == v for k, v in versions.items()):
            quiet[f] = list(before.get("global_writes", []))
        else:
            pending.append(f)
    if not pending and not force:
        res.skipped += len(quiet)
        return _tally(kept, res, root)
    from analyzers.engine import analyze_paths
    from analyzers.frontend import ParseOptions

    opts = ParseOptions(click_root=click_root)
    results = analyze_paths(pending, opts, policy_path, True, jobs, progress) if pending else []
    # a kept record that relied on a global no file wrote is re-analysed when a new file writes it
    new_writes = {g for fr in results for g in fr.global_writes}
    relying = [f for f, recs in kept.items()
               if any(r.get("global") in new_writes for rec in recs for r in rec.get("relies_on", []))]
    if relying:
        results += analyze_paths(relying, opts, policy_path, True, jobs, None)
        pending += relying
        for f in relying:
            del kept[f]
    if results:
        from analyzers.globaluse import relax
        from analyzers.policy import load_policy

        relax(results, load_policy(policy_path),
              {g for recs in kept.values() for rec in recs for g in rec.get("global_writes", [])}
              | {g for writes in quiet.values() for g in writes})
    res.skipped += len(quiet)
    _tally(kept, res, root)
    if pending:
        by_class: dict[str, list[tuple[str, Any]]] = {}
        for path, fr in zip(pending, results):
            res.analyzed += 1
            for rep in fr.elements:
                name = rep.info.get("class_name") or rep.cls
                if "-" in name:  # EXPORT_ELEMENT(Cxx-ClickName): the second name is the Click class name
                    name = name.split("-")[-1]
                if not _NAME.fullmatch(name):
                    res.skipped_names.append(f"{path}: element name {name!r} is not a Click class name")
                    continue
                by_class.setdefault(name, []).append((path, rep))
        writes = {path: fr.global_writes for path, fr in zip(pending, results)}
        exporting = {path for cls in by_class.values() for path, _ in cls}
        changed = False
        for path, fr in zip(pending, results):
            rel = os.path.relpath(path, root)
            if path in exporting:
                changed |= elementless.pop(rel, None) is not None
            elif not fr.elements:  # nothing exported (a name refused is analysed again: it is reported each run)
                elementless[rel] = {"sources": [list(x) for x in sources_of(path, root)],
                                    "global_writes": sorted(fr.global_writes), **versions}
                changed = True
        if changed:
            _write_elementless(db, elementless)
        stamp = now()
        for name, variants in sorted(by_class.items()):
            rec = _record(name, variants, root, pv, stamp, base, writes)
            db.write(rec)
            res.records += 1
            for path, _ in variants:
                res.per_dir.setdefault(os.path.relpath(os.path.dirname(path), root), collections.Counter())[rec["verdict"]] += 1
    return res


ELEMENTLESS = ".library-elementless.json"


def _read_elementless(db: Database) -> dict[str, dict[str, Any]]:
    """The database's list of analysed files that export no element (a file that is not a record: its name is no
    class name); unreadable or malformed: empty (every such file is analysed again)."""
    import json

    try:
        with open(os.path.join(db.path, ELEMENTLESS), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}


def _write_elementless(db: Database, files: dict[str, dict[str, Any]]) -> None:
    """Write the list atomically, under the database's lock."""
    import json

    path = os.path.join(db.path, ELEMENTLESS)
    with db.lock():
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "files": files}, f, sort_keys=True, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _tally(kept: dict[str, list[dict[str, Any]]], res: LibraryResult, root: str) -> LibraryResult:
    """Count the unchanged files and their records' verdicts, by directory."""
    for f, recs in kept.items():
        res.skipped += 1
        for rec in recs:
            res.per_dir.setdefault(os.path.relpath(os.path.dirname(f), root), collections.Counter())[rec["verdict"]] += 1
    return res


def _record(name: str, variants: list[tuple[str, Any]], root: str, pv: str, stamp: str, base: str | None,
            writes: dict[str, list[str]] | None = None) -> dict[str, Any]:
    sources: dict[str, str] = {}
    findings: list[dict[str, Any]] = []
    reasons: list[str] = []
    suppressions: list[dict[str, Any]] = []
    verdict = "kernel"
    info: dict[str, str] = {}
    for path, rep in sorted(variants, key=lambda v: v[0]):
        for p, h in sources_of(path, root):
            sources[p] = h
        j = rep.to_json()
        if _RANK[j["verdict"]] > _RANK[verdict]:
            verdict = j["verdict"]
        where = os.path.relpath(path, root)
        reasons.extend(f"{where}: {r}" if len(variants) > 1 else r for r in j["reasons"])
        findings.extend(_rel_finding(f, root) for f in j["findings"])
        suppressions.extend(j.get("suppressed", []))
        for k in ("ports", "processing", "flow_code"):
            if j.get(k) and k not in info:
                info[k] = j[k]
    extra: dict[str, Any] = {"cxx_class": variants[0][1].cls, "source_base": base}
    first = variants[0][1].to_json()
    if len(variants) == 1:  # costs of one source; several variants: unknown (never guessed)
        if first.get("packet_layout") is not None:
            extra["packet_layout"] = first["packet_layout"]
        extra["loops"] = [_rel_finding(lp, root) for lp in first.get("loops", [])]
        extra["cost"] = first.get("cost") or {}
        extra["cost_symbols"] = first.get("cost_symbols") or {}
        if first.get("conditions"):  # configuration-conditional findings (analyzers.guards); several variants: none
            extra["conditions"] = [dict(c, findings=[_rel_finding(f, root) for f in c["findings"]])
                                   for c in first["conditions"]]
            extra["verdict_unless_configured"] = first["verdict_unless_configured"]
    if info.get("ports"):
        extra["port_count"] = info["ports"]
    if info.get("processing"):
        extra["processing"] = info["processing"]
    if info.get("flow_code"):
        extra["flow_code"] = info["flow_code"]
    if suppressions:
        extra["suppressions"] = suppressions
    # what the verdict rests on without a proof, every variant's (an empty list: nothing taken on trust; a record
    # without the field predates it)
    from analyzers.assumptions import merge as merge_assumptions  # (sympy: only when a record is written)

    extra["assumptions"] = merge_assumptions(*(rep.assumptions for _p, rep in variants))
    # the library-wide proof that some globals are never written (analyzers.globaluse): what this record relied
    # on, and what its own sources write, so that a later file or layer that writes one makes it stale
    relied = sorted({(g, f) for _p, rep in variants for g, f in rep.relies_on})
    if relied:
        extra["relies_on"] = [{"global": g, "file": _rel_finding({"file": f}, root)["file"]} for g, f in relied]
    written = sorted({g for p, _rep in variants for g in (writes or {}).get(p, [])})
    if written:
        extra["global_writes"] = written
    return make_record(name, sorted(sources.items()), ANALYZER_VERSION, pv, verdict, reasons or ["no finding on the packet path"],
                       findings, certified_at=stamp, **extra)
