"""Benchmark: element analysis against the bare libclang parse of the same files, in the same run.

For every ``.cc`` file under the given directories it measures, sequentially in
this process, (1) the bare libclang parse with the arguments the analyzer uses,
and (2) the whole analysis of the file (parse included); then (3) the whole
analysis through the worker-process engine with ``-j`` workers.  It prints
files/s for each and the ratio analysis/parse, with machine information.

    CLICK_SRC=/path/to/click python bench/bench_analyzers.py [DIR ...] [--click-root DIR] [-j N]

Without DIR it uses $CLICK_SRC/elements/standard.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import clang.cindex as ci  # noqa: E402

from analyzers.analysis import analyze_file  # noqa: E402
from analyzers.engine import analyze_paths  # noqa: E402
from analyzers.frontend import ParseOptions, build_args  # noqa: E402
from analyzers.policy import load_policy  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--click-root", default=os.environ.get("CLICK_SRC"))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    if not args.click_root:
        ap.error("set CLICK_SRC or pass --click-root")
    dirs = args.dirs or [os.path.join(args.click_root, "elements", "standard")]
    files = sorted(f for d in dirs for f in glob.glob(os.path.join(d, "**", "*.cc"), recursive=True))
    if not files:
        ap.error("no .cc files found")
    opts = ParseOptions(click_root=args.click_root)
    policy = load_policy()

    index = ci.Index.create()
    t0 = time.perf_counter()
    for f in files:
        index.parse(f, args=build_args(f, opts), options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)
    bare = time.perf_counter() - t0

    t0 = time.perf_counter()
    parse_part = 0.0
    elements = 0
    for f in files:
        r = analyze_file(f, opts, policy, index=index)
        parse_part += r.parse_seconds
        elements += len(r.elements)
    full = time.perf_counter() - t0

    t0 = time.perf_counter()
    analyze_paths(files, opts, jobs=args.jobs)
    parallel = time.perf_counter() - t0

    n = len(files)
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python={platform.python_version()} {platform.system()} {platform.release()}")
    print(f"files: {n} in {', '.join(dirs)}; exported elements: {elements}")
    print(f"{'measure':<44} {'seconds':>9} {'files/s':>9}")
    print(f"{'bare libclang parse (sequential)':<44} {bare:9.2f} {n / bare:9.1f}")
    print(f"{'analysis, parse included (sequential)':<44} {full:9.2f} {n / full:9.1f}")
    print(f"{'  of which parse':<44} {parse_part:9.2f}")
    print(f"{'  of which checks, graph, verdicts':<44} {full - parse_part:9.2f}")
    print(f"{f'analysis, {args.jobs} worker processes':<44} {parallel:9.2f} {n / parallel:9.1f}")
    print(f"ratio analysis/bare parse (sequential): {full / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
