"""Benchmark: merging 10, 100 and 1,000 generated networks of 50 elements each.

For each size, writes a system configuration and the networks' configurations
into a temporary directory, then times (median of runs) the whole merge
pipeline in process: load and validate the system, check every network
(parse, flatten, devices, classes, ports), merge, render master.click and
plan.json.  The baseline, measured in the same run, is parsing and flattening
the same network configurations alone; the ratio shows what checking and
merging add, and the per-network time shows growth.

    python bench/bench_merge.py [--sizes 10,100,1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems  # noqa: E402
from systems import Net  # noqa: E402

from merge.checks import check_network  # noqa: E402
from merge.combine import master_text, merge_networks  # noqa: E402
from merge.lang import load_file  # noqa: E402
from merge.lang.stock_classes import stock_classes, stock_elements  # noqa: E402
from merge.policy import load_policy  # noqa: E402
from merge.system import load_system  # noqa: E402

CHAIN = ["Counter", "Paint(1)", "Null", "Strip(0)", "Unstrip(0)", "CheckLength(1514)"]


def network_config(i: int) -> str:
    """About 50 elements: a receive path of 46 simple elements, a queue and the device pair."""
    body = " -> ".join(CHAIN[k % len(CHAIN)] for k in range(46))
    return f"// generated network {i}\nFromDevice(eth1) -> {body} -> Queue(100) -> ToDevice(eth1);\nIdle -> Discard;\n"


def write_system(d: str, n: int) -> str:
    return systems.write_system(d, [Net(f"n{i:04d}", 1000 + i, network_config(i), key=i) for i in range(n)])


def merge_all(path: str, out: str) -> int:
    system = load_system(path)
    policy = load_policy()
    results = [check_network(n, policy, stock_elements(), stock_classes()) for n in system.networks.values()]
    assert all(r.ok for r in results), [f for r in results for f in r.findings if f.severity == "error"][:3]
    m = merge_networks(system, results, policy)
    with open(os.path.join(out, "master.click"), "w") as f:
        f.write(master_text(m))
    with open(os.path.join(out, "plan.json"), "w") as f:
        json.dump(m.plan, f, sort_keys=True)
    return int(m.graph.number_of_nodes())


def parse_all(d: str, n: int) -> None:
    for i in range(n):
        load_file(os.path.join(d, f"n{i:04d}.click"), expand_vars=True)


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"{platform.system()} {platform.release()}")
    print(f"median of {args.repeat} runs each\n")
    print(f"{'networks':>8} {'master elements':>15} {'parse only (s)':>14} {'merge (s)':>10} {'ms/network':>10} {'ratio':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as d:
            path = write_system(d, n)
            out = os.path.join(d, "out")
            os.makedirs(out)
            elements = merge_all(path, out)
            t_parse = median_time(lambda: parse_all(d, n), args.repeat)
            t_merge = median_time(lambda: merge_all(path, out), args.repeat)
            per = 1000 * t_merge / n
            print(f"{n:>8} {elements:>15} {t_parse:>14.3f} {t_merge:>10.3f} {per:>10.1f} {t_merge / t_parse:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
