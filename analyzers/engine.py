"""Running the analysis over many files in worker processes.

libclang is not thread-safe, a crash inside it kills the process, and cursors
cannot be pickled; so every file is analyzed in a worker process (one
``clang.cindex.Index`` per worker) that returns plain data
(:class:`analyzers.report.FileResult`).  Files are distributed over ``jobs``
processes.  When a worker dies, the pool is broken and the files still pending
are re-run one per fresh process, so the file that kills its worker is
identified: it gets an analysis-error result (KS002 for each element its text
exports), and the run goes on.  The parent never creates an Index; it links the
files' results (:mod:`analyzers.crossfile`) once all are back.  A run of several
files with a Click tree first precompiles Click's common headers in a process of
its own (:func:`analyzers.frontend.build_preamble`), for every worker to parse on.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from analyzers.analysis import analyze_file
from analyzers.conditionals import scan
from analyzers.crossfile import link
from analyzers.frontend import ParseOptions, build_preamble
from analyzers.policy import Policy, load_policy
from analyzers.report import ElementReport, FileResult
from certify.core.findings import make_finding
from certify.core.rules import rule

_STATE: dict[str, Any] = {}
PREAMBLE_FROM = 4  # files in a run from which Click's common headers are precompiled once (0.3 s; 0.1 s a file)


def _init(policy_path: str | None) -> None:
    import clang.cindex as ci

    _STATE["index"] = ci.Index.create()
    _STATE["policy"] = load_policy(policy_path)


def _work(path: str, opts: ParseOptions, kernel_mode: bool) -> FileResult:
    try:
        result = analyze_file(path, opts, _STATE["policy"], kernel_mode, _STATE["index"])
    except OSError:
        raise
    except Exception as e:  # an analyzer bug: an error result for this file, never a pass
        return failed_result(path, _STATE["policy"], f"{type(e).__name__}: {e}")
    return result





def failed_result(path: str, policy: Policy, detail: str) -> FileResult:
    """The result of a file whose analysis failed: every element its text exports is an error."""
    result = FileResult(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            exports = scan(result.file, f.read()).exports
    except OSError:
        exports = []
    crash = rule("KS002")
    for cls, line in exports:
        rep = ElementReport(cls, result.file, line, source=result.file)
        rep.findings.append(make_finding(crash, result.file, line, 1, severity=policy.severity("KS002"), detail=detail,
                                         symbol=cls, element=cls))
        rep.decide(policy)
        result.elements.append(rep)
    if not exports:
        result.findings.append(make_finding(crash, result.file, 1, 1, severity=policy.severity("KS002"), detail=detail))
    return result


def analyze_paths(paths: Sequence[str], opts: ParseOptions, policy_path: str | None = None, kernel_mode: bool = True,
                  jobs: int | None = None, progress: Callable[[int, int], None] | None = None) -> list[FileResult]:
    """Analyze every file; results in the order of ``paths``.  Raises OSError for an unreadable file.

    ``progress(done, total)`` is called as files finish.
    """
    policy = load_policy(policy_path)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths) or 1))
    ctx = multiprocessing.get_context("fork")
    scratch = None
    if len(paths) >= PREAMBLE_FROM and opts.preamble is None and opts.click_root and not opts.build_dir:
        scratch = tempfile.mkdtemp(prefix="certify-preamble-")
        opts = dataclasses.replace(opts, preamble=_preamble(ctx, opts, scratch))
    try:
        ordered = _analyze(paths, opts, policy_path, policy, kernel_mode, jobs, ctx, progress)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    link(ordered, policy)
    return ordered


def _preamble(ctx: Any, opts: ParseOptions, directory: str) -> str | None:
    """Click's common headers precompiled once for the run (:func:`analyzers.frontend.build_preamble`), in a
    process of its own like every libclang call; None when they cannot be (each file is then parsed plainly)."""
    with ProcessPoolExecutor(1, mp_context=ctx) as one:
        try:
            return one.submit(build_preamble, opts, directory).result()
        except (BrokenProcessPool, OSError):
            return None


def _analyze(paths: Sequence[str], opts: ParseOptions, policy_path: str | None, policy: Policy, kernel_mode: bool,
             jobs: int, ctx: Any, progress: Callable[[int, int], None] | None) -> list[FileResult]:
    results: dict[int, FileResult] = {}
    pending = list(range(len(paths)))
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init, initargs=(policy_path,)) as pool:
        futures: dict[int, Future[FileResult]] = {i: pool.submit(_work, paths[i], opts, kernel_mode) for i in pending}
        broken = False
        for done, (i, fut) in enumerate(futures.items(), start=1):
            try:
                results[i] = fut.result()
            except BrokenProcessPool:
                broken = True
            if progress is not None:
                progress(done, len(paths))
    if broken:
        for i in [i for i in range(len(paths)) if i not in results]:
            with ProcessPoolExecutor(1, mp_context=ctx, initializer=_init, initargs=(policy_path,)) as solo:
                try:
                    results[i] = solo.submit(_work, paths[i], opts, kernel_mode).result()
                except BrokenProcessPool:
                    results[i] = failed_result(paths[i], policy, "the analysis process died (libclang crash)")
    return [results[i] for i in range(len(paths))]
