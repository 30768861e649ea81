"""Benchmark: `certify library` over a directory of element files, -j 1 and -j 2, cold and warm.

Needs a configured Click tree (CLICK_SRC or --click-root): its elements/ holds
about 500 element files.  Cold: an empty database; warm: the same tree again
(incremental: nothing changed, nothing is analyzed).  Times are whole-process
wall times of the `certify library` command, medians over --repeat runs; the
baseline is the bare libclang parse of the same files, measured in the same run
(bench_analyzers.py measures it per file; here the cold -j 1 run against it).

    python bench/bench_library.py --click-root /path/to/click [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "certify", "library", *args, "--no-progress"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bare_parse(files: list[str], click_root: str) -> float:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from analyzers.frontend import ParseOptions, parse

    t0 = time.perf_counter()
    for f in files:
        parse(f, ParseOptions(click_root=click_root))
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--click-root", default=os.environ.get("CLICK_SRC"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if not args.click_root:
        print("give --click-root or set CLICK_SRC", file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from certify.library import element_files

    elements = os.path.join(args.click_root, "elements")
    files = element_files([elements])
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()}; "
          f"{len(files)} element files; median of {args.repeat}")
    base = bare_parse(files, args.click_root)
    print(f"{'run':<18} {'seconds':>8} {'files/s':>8} {'vs bare parse':>13}")
    print(f"{'bare parse (-j 1)':<18} {base:>8.1f} {len(files) / base:>8.1f} {1.0:>13.2f}")
    for jobs in (1, 2):
        cold, warm = [], []
        for _ in range(args.repeat):
            d = tempfile.mkdtemp()
            try:
                common = [elements, "--click-root", args.click_root, "--db", d, "-j", str(jobs)]
                cold.append(run(common))
                warm.append(run(common))
            finally:
                shutil.rmtree(d)
        c, w = statistics.median(cold), statistics.median(warm)
        print(f"{f'cold -j {jobs}':<18} {c:>8.1f} {len(files) / c:>8.1f} {c / base:>13.2f}")
        print(f"{f'warm -j {jobs}':<18} {w:>8.1f} {len(files) / w:>8.1f} {w / base:>13.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
