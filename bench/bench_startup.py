"""Benchmark: start-up, the whole-process wall time of short commands.

Prints the median (and fastest) wall time, start to exit, of ``certify
--version`` and ``certify parse`` of a small configuration, beside a baseline
measured in the same run: ``python -c pass``, the interpreter's own start (and
its site, which includes the venv's path hooks), below which no command can
go.  The commands run in turns (one run of each, N times), so that all of them
see the same load of the machine.  The target for both commands is 150 ms.

The commands run as ``python -m certify`` from this tree, the way the other
benchmarks run them.  Byte code is compiled once, in an untimed first run,
into a temporary cache (PYTHONPYCACHEPREFIX): what every run after the first
of an installed certify costs, whatever PYTHONDONTWRITEBYTECODE says here.

    python bench/bench_startup.py [--repeat 21] [--config tests/fixtures/merge/clean.click]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MS = 150.0


def run_ms(argv: list[str], env: dict[str, str]) -> float:
    """Wall milliseconds of one run of ``argv`` from the tree's root; it must exit 0."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    ms = 1000 * (time.perf_counter() - t0)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=21, help="runs of each command (default 21)")
    ap.add_argument("--config", default="tests/fixtures/merge/clean.click",
                    help="the configuration certify parse reads, relative to the tree's root")
    args = ap.parse_args()
    commands = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("certify --version", [sys.executable, "-m", "certify", "--version"]),
        (f"certify parse {args.config}", [sys.executable, "-m", "certify", "parse", args.config]),
    ]
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python={platform.python_version()} {platform.system()} {platform.release()}")
    print(f"whole-process wall time, median of {args.repeat} runs each, byte code cached; target {TARGET_MS:.0f} ms\n")
    with tempfile.TemporaryDirectory(prefix="bench_startup.") as cache:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for _, argv in commands:  # compiles and caches the byte code
            run_ms(argv, env)
        samples: list[list[float]] = [[] for _ in commands]
        for _ in range(args.repeat):
            for i, (_, argv) in enumerate(commands):
                samples[i].append(run_ms(argv, env))
    base = statistics.median(samples[0])
    width = max(len(name) for name, _ in commands)
    print(f"{'command':<{width}} {'median ms':>10} {'fastest ms':>11} {'over python ms':>15}")
    for (name, _), times in zip(commands, samples):
        median = statistics.median(times)
        print(f"{name:<{width}} {median:>10.0f} {min(times):>11.0f} {median - base:>15.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
