"""Benchmark: the partitioned merge (certify merge --db) of 10 and 100 generated networks.

Each network receives on its virtual device, runs a chain of stock elements with
one element of a userspace class in the middle (two cut edges: two channels), and
sends through a queue.  The database is one layer holding one userspace
record, over the shipped stock database.  The chain is long enough that every receive task is over the
budget and is split.  For each size it times the whole job in process, as
`certify merge` runs it: checks, placement, cut, merge, task costs, splits,
and writing master.click, plan.json and every container's files.  The median of
the runs is reported.

The baseline, measured in the same run, is the same networks with the
userspace element replaced by Null, merged with --no-certify (no partition,
no task costs).  The ratio is what the partition adds.

    python bench/bench_partition.py [--sizes 10,100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_merge import median_time  # noqa: E402

from certify.mergejob import run_merge, write_files  # noqa: E402
from element_db.decision import ANALYZER_VERSION, policy_version  # noqa: E402
from element_db.record import make_record  # noqa: E402
from element_db.store import Database, LayeredDatabase  # noqa: E402
from merge.policy import load_policy  # noqa: E402
from merge.system import load_system  # noqa: E402

CHAIN = ["Paint(1)", "Strip(14)", "Unstrip(14)", "EtherMirror", "Paint(2)"]


def network_config(i: int, middle: str) -> str:
    left = " -> ".join(CHAIN[k % len(CHAIN)] for k in range(10))
    right = " -> ".join(CHAIN[(k + 2) % len(CHAIN)] for k in range(10))
    return (f"// generated network {i}\nFromDevice(eth1) -> {left} -> {middle} -> {right} -> Queue(100) -> "
            f"ToDevice(eth1);\n")


def write_system(d: str, n: int, budget: int, middle: str) -> str:
    d = os.path.join(d, middle)
    os.makedirs(d)
    lines = ["version: 1", f"platform: {{task_budget: {budget}, max_packet_length: 1514}}", "physical:",
             '  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}',
             "networks:"]
    for i in range(n):
        with open(os.path.join(d, f"n{i}.click"), "w") as f:
            f.write(network_config(i, middle))
        lines += [f"  n{i:04d}:", f"    uid: {1000 + i}", f"    config: n{i}.click", "    devices:",
                  f"      eth1: {{physical: eth0, tunnel: {{local: 192.0.2.1, remote: 203.0.113.7, key: {i}}}, "
                  "inner: ethernet}"]
    path = os.path.join(d, "system.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def make_db(d: str) -> str:
    path = os.path.join(d, "db")
    Database(path, create=True).write(make_record("Tap", [("tap.cc", "0" * 64)], ANALYZER_VERSION,
                                                  policy_version(None), "userspace", ["writes a global counter"], [],
                                                  port_count="1/1", processing="a/a"))
    return path


def job(system_path: str, db: str | None, out: str) -> tuple[int, int, int]:
    layered = LayeredDatabase.open([db]) if db else None  # None: --no-certify
    outcome = run_merge(load_system(system_path), load_policy(), layered, "linuxmodule", out_dir=out)
    assert outcome.ok, outcome.messages[-3:]
    write_files(out, outcome)
    plan = json.loads(outcome.files["plan.json"])
    return len(plan["elements"]), len(plan.get("splits", [])), sum(len(c) for c in plan.get("channels", {}).values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=int, default=12000)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"{platform.system()} {platform.release()}")
    print(f"median of {args.repeat} runs each; task budget {args.budget} units\n")
    print(f"{'networks':>8} {'elements':>8} {'channels':>8} {'splits':>6} {'merge (s)':>10} "
          f"{'partitioned (s)':>15} {'ms/network':>10} {'ratio':>6}")
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as d:
            path = write_system(d, n, args.budget, "Tap")
            plain = write_system(d, n, args.budget, "Null")
            db = make_db(d)
            plain_out, part_out = os.path.join(d, "plain"), os.path.join(d, "part")
            elements, splits, channels = job(path, db, part_out)
            t_plain = median_time(lambda: job(plain, None, plain_out), args.repeat)
            t_part = median_time(lambda: job(path, db, part_out), args.repeat)
            print(f"{n:>8} {elements:>8} {channels:>8} {splits:>6} {t_plain:>10.3f} {t_part:>15.3f} "
                  f"{1000 * t_part / n:>10.1f} {t_part / t_plain:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
