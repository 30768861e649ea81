"""How much of Click's own configurations a certified-element database lets run in the shared kernel.

Reads every ``$CLICK_SRC/conf/*.click`` (flattened by certify's own front end; a file that does not parse is
listed and skipped), leaves out the element instances whose place is outside the shared kernel by design --
devices, host and file access, sockets (the merger replaces devices with GRE tunnels; the others touch the
host) and printers (console output) -- and counts, over the rest, the instances whose class the database
calls ``kernel``.  A record with configuration conditions (``kernel unless COUNT_CALL is given``) is decided
per instance from that instance's configuration, as ``certify merge`` decides it.  Prints the machine, the
share of ``kernel`` classes in the database, the share of ``kernel`` instances, the share of instances that are
``kernel`` AND whose every packet-path cost the merge can compute from the instance's configuration (a cost
formula with a symbol nothing fills -- a table size, an undeclared library call -- makes the merge move the
instance to its container: ``kernel`` by verdict, user space by placement), and the classes that keep the most
instances out, with their reasons.

    CLICK_SRC=/path/to/click python bench/bench_conf_share.py [--db DIR] [--top N] [--json]

Exit 2 when CLICK_SRC is unset or has no conf/ directory.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import sys
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from element_db.decision import Context, Decision, Decisions, condition_keywords, decide_instance  # noqa: E402
from element_db.store import Database, LayeredDatabase  # noqa: E402
from merge.lang import ClickError, load_file  # noqa: E402
from merge.lang.confparse import given_keywords  # noqa: E402
from merge.policy import load_policy as load_network_policy  # noqa: E402
from merge.system import DEFAULT_MAX_PACKET  # noqa: E402
from merge.tasks import record_cost  # noqa: E402

STOCK = os.path.join(os.path.dirname(HERE), "element_db", "data", "stock")

# outside the shared kernel by design: devices (replaced by GRE tunnels), host and file access, sockets
DESIGNED_OUT = frozenset((
    "FromDevice", "ToDevice", "PollDevice", "FromHost", "ToHost", "ToHostSniffers", "FromUserDevice",
    "ToUserDevice", "KernelTun", "KernelTap", "FromDump", "ToDump", "FromIPSummaryDump", "ToIPSummaryDump",
    "Socket", "RawSocket", "ControlSocket", "ChatterSocket", "FastUDPSource", "FastUDPSourceIP6",
    "FastTCPFlows", "FastUDPFlows",
))
PRINTER = re.compile(r"Print$")  # Print, IPPrint, IP6Print, ARPPrint...: console output


def designed_out(klass: str) -> bool:
    return klass in DESIGNED_OUT or bool(PRINTER.search(klass))


def instance_verdict(dec: Decision, config: str) -> str:
    """The verdict of one instance, as ``certify merge`` decides it: the class's, or for a record with
    configuration conditions, the one this instance's configuration gives."""
    wanted = condition_keywords(dec.record) if dec.state == "fresh" else {}
    return decide_instance(dec, given_keywords(config, wanted) if wanted else frozenset()).verdict or "missing"


def costed(record: dict[str, Any], config: str, nports: tuple[int, int], task: bool) -> bool:
    """The packet-path costs the merge uses for this instance (its path methods, and ``run_task`` when its class
    runs a task) are finite for an instance configured with ``config`` and using ``nports`` (inputs, outputs),
    instantiated as the merge does with the platform's default maximum packet length.  An instance with no
    connection (an information element: AddressInfo, ScheduleInfo) is on no path and costs nothing."""
    return nports == (0, 0) or record_cost(record, config, nports, task, DEFAULT_MAX_PACKET) != float("inf")


def count(click_src: str, db_dir: str) -> dict[str, Any]:
    decisions = Decisions(LayeredDatabase([Database(db_dir)]), Context.current())
    records: dict[str, dict[str, Any]] = {d.klass: d.record for d in decisions.all() if d.record is not None}
    instances: Counter[tuple[str, str]] = Counter()
    skipped, out = [], Counter()
    uncosted: Counter[str] = Counter()  # kernel instances whose cost the merge cannot compute, by class
    tasks = load_network_policy().task_classes
    files = sorted(glob.glob(os.path.join(click_src, "conf", "*.click")))
    for path in files:
        try:
            g = load_file(path).graph
        except ClickError as e:
            skipped.append(str(e).splitlines()[0])
            continue
        for n, d in g.nodes(data=True):
            klass = d["klass"]
            if designed_out(klass):
                out[klass] += 1
                continue
            verdict = instance_verdict(decisions.get(klass), d.get("config", ""))
            instances[(klass, verdict)] += 1
            nports = (max((e[2]["to_port"] for e in g.in_edges(n, data=True)), default=-1) + 1,
                      max((e[2]["from_port"] for e in g.out_edges(n, data=True)), default=-1) + 1)
            if verdict == "kernel" and not costed(records[klass], d.get("config", ""), nports, klass in tasks):
                uncosted[klass] += 1
    total = sum(instances.values())
    kernel = sum(n for (_k, v), n in instances.items() if v == "kernel")
    by_class: Counter[str] = Counter()
    for (k, v), n in instances.items():
        if v != "kernel":
            by_class[k] += n
    classes_kernel = sum(1 for r in records.values() if r.get("verdict") == "kernel")
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "files": len(files), "skipped": skipped, "designed_out": sum(out.values()),
        "classes": len(records), "classes_kernel": classes_kernel,
        "instances": total, "instances_kernel": kernel, "instances_costed": kernel - sum(uncosted.values()),
        "uncosted": [{"class": k, "instances": n, "cost": records[k].get("cost", {})} for k, n in uncosted.most_common()],
        "kept_out": [{"class": k, "instances": n, "verdict": records[k]["verdict"] if k in records else "missing",
                      "reasons": records[k].get("reasons", []) if k in records else ["no record"]}
                     for k, n in by_class.most_common()],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=STOCK, help="the database (default: the shipped stock database)")
    ap.add_argument("--top", type=int, default=25, help="classes listed (default 25)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    src = os.environ.get("CLICK_SRC")
    if not src or not os.path.isdir(os.path.join(src, "conf")):
        print("bench_conf_share: error: set CLICK_SRC to a Click source tree (with conf/)", file=sys.stderr)
        return 2
    r = count(src, args.db)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"machine: {r['machine']}")
    print(f"configurations: {r['files']} files of {src}/conf ({len(r['skipped'])} skipped: do not parse)")
    for s in r["skipped"]:
        print(f"  skipped: {s}")
    print(f"left out by design (devices, host access, printers): {r['designed_out']} instances\n")
    print("| measure | kernel | total | share |")
    print("|---|---|---|---|")
    print(f"| classes in the database | {r['classes_kernel']} | {r['classes']} | "
          f"{100 * r['classes_kernel'] / max(1, r['classes']):.1f}% |")
    print(f"| element instances in conf/ | {r['instances_kernel']} | {r['instances']} | "
          f"{100 * r['instances_kernel'] / max(1, r['instances']):.1f}% |")
    print(f"| ... and with a cost the merge can compute | {r['instances_costed']} | {r['instances']} | "
          f"{100 * r['instances_costed'] / max(1, r['instances']):.1f}% |")
    print("\nkernel instances whose cost the merge cannot compute (placed in their container):\n")
    print("| class | instances | cost |")
    print("|---|---|---|")
    for row in r["uncosted"][: args.top]:
        print(f"| {row['class']} | {row['instances']} | "
              f"{'; '.join(f'{m}: `{c}`' for m, c in sorted(row['cost'].items())) or 'none recorded'} |")
    print("\nclasses keeping the most instances out:\n")
    print("| class | instances | verdict | reasons |")
    print("|---|---|---|---|")
    for row in r["kept_out"][: args.top]:
        print(f"| {row['class']} | {row['instances']} | {row['verdict']} | {'; '.join(row['reasons'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
