"""The bundled demo: read each example network's Click configuration, flatten it,
and print a summary and the flattened master text of each.

Grows with the product: later steps certify the elements, merge the networks
into one master configuration and render the safety report.
"""

from __future__ import annotations

import collections
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from merge.lang import ClickError, load_file, unparse  # noqa: E402


def main() -> int:
    paths = sorted(glob.glob(os.path.join(HERE, "networks", "*.click")))
    out_dir = os.path.join(os.path.dirname(HERE), "out", "demo")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            parsed = load_file(os.path.relpath(path), flatten=True, expand_vars=True)
        except ClickError as exc:
            print(exc, file=sys.stderr)
            return 2
        g = parsed.graph
        classes = collections.Counter(d["klass"] for _, d in g.nodes(data=True))
        text = unparse(g)
        with open(os.path.join(out_dir, name + ".flat.click"), "w") as f:
            f.write(text)
        rows.append((name, g.number_of_nodes(), g.number_of_edges(), len(classes), ", ".join(sorted(classes))))
        print(f"== {name}: {os.path.relpath(path)} flattened ==")
        print(text)
    print(f"{'network':<8} {'elements':>8} {'connections':>11} {'classes':>7}  classes used")
    for name, ne, nc, ncl, used in rows:
        print(f"{name:<8} {ne:>8} {nc:>11} {ncl:>7}  {used}")
    print(f"\nflattened configurations written to {os.path.relpath(out_dir)}/")

    # merge all three networks into one master configuration
    from certify.cli import main as certify

    merged = os.path.join(os.path.dirname(HERE), "out", "merged")
    print(f"\n== certify merge --system {os.path.relpath(os.path.join(HERE, 'system.yaml'))} --out {os.path.relpath(merged)} ==")
    status = certify(["merge", "--system", os.path.join(HERE, "system.yaml"), "--out", merged])
    if status != 0:
        return status
    with open(os.path.join(merged, "master.click")) as f:
        master = f.read()
    print()
    print(master)
    return gate_demo()


def gate_demo() -> int:
    """Certify the bundled elements into a database (beside the stock Click library) and gate two networks."""
    import shutil

    from certify.cli import main as certify
    from certify.gate import run_gate
    from element_db.store import LayeredDatabase
    from merge.policy import load_policy
    from merge.system import load_system

    db = os.path.join(os.path.dirname(HERE), "out", "demo-db")
    shutil.rmtree(db, ignore_errors=True)  # the bundled elements' own layer, over the shipped stock database
    print(f"== certify library examples/elements --click-root examples --db {os.path.relpath(db)} ==")
    status = certify(["library", os.path.join(HERE, "elements"), "--click-root", HERE, "--root", HERE,
                      "--db", db, "--no-progress"])
    if status != 0:
        return status
    system = os.path.join(HERE, "gate", "system.yaml")
    print(f"\n== certify gate --system {os.path.relpath(system)} --db {os.path.relpath(db)} ==")
    status = certify(["gate", "--system", system, "--db", db])
    res = run_gate(load_system(system), LayeredDatabase.open([db]), load_policy())
    for net, found in sorted(res.networks.items()):
        errors = [f for f in found if f.severity == "error"]
        print(f"network {net}: {'FAILS: ' + errors[0].message if errors else 'passes'}")
    if not (status == 1 and not res.passed):  # the example is meant to fail the gate on eve
        return 1
    out = os.path.join(os.path.dirname(HERE), "out")
    report = os.path.join(out, "report")
    status = partition_demo(db)
    if status != 0:
        return status
    status = real_click_demo()
    if status != 0:
        return status
    plan = os.path.join(out, "partitioned")
    shutil.rmtree(report, ignore_errors=True)  # no page of an earlier run's networks stays behind
    print(f"\n== certify report --db {os.path.relpath(db)} --plan {os.path.relpath(plan)} ==")
    return certify(["report", "--db", db, "--plan", plan, "--source-root", HERE, "--out", report])


def real_click_demo() -> int:
    """examples/e2e: master and containers together in real user-level Click, one container killed mid-run."""
    import tempfile

    import realclick

    print("\n== real Click: examples/e2e (3 networks, 2 devices), master + containers, one container killed ==")
    why = realclick.unavailable()
    if why:
        print(f"real-Click run skipped: {why} (build Click with --enable-userlevel and run make demo as root)")
        return 0
    with tempfile.TemporaryDirectory() as work:
        try:
            res = realclick.run(work, log=lambda line: print(f"  {line}"))
        except (RuntimeError, OSError) as exc:
            print(f"demo: the real-Click run failed: {exc}", file=sys.stderr)
            return 1
    phases = ("all up", f"{realclick.VICTIM} killed", f"{realclick.VICTIM} back")
    print(f"{'network':<8} " + " ".join(f"{p:>14}" for p in phases) + "   counters (master / container)")
    for net in realclick.NETWORKS:
        cells = [f"{got}/{want} out" for got, want in (res.arrived(net, i) for i in range(3))]
        print(f"{net:<8} " + " ".join(f"{c:>14}" for c in cells)
              + f"   {res.master_counters.get(net + '/seen.count')} / {res.container_counters.get(net)}")
    for line in res.problems:
        print(f"  problem: {line}")
    print("real Click: " + ("every packet left as its network makes it; the master outlived the killed container"
                            if not res.problems else f"{len(res.problems)} problems"))
    return 1 if res.problems else 0


def partition_demo(db: str) -> int:
    """Merge with the database: FlowTap runs in dave's container; tasks over the budget are split; Tally runs in
    the kernel for frank (no SHARED) and in grace's container (SHARED given): a configuration-conditional verdict."""
    import json

    from certify.cli import main as certify

    system = os.path.join(HERE, "partition", "system.yaml")
    out = os.path.join(os.path.dirname(HERE), "out", "partitioned")
    print(f"\n== certify merge --system {os.path.relpath(system)} --db {os.path.relpath(db)} --out {os.path.relpath(out)} ==")
    status = certify(["merge", "--system", system, "--db", db, "--out", out])
    if status != 0:
        return status
    with open(os.path.join(out, "plan.json")) as f:
        plan = json.load(f)
    for net, placed in sorted(plan["placements"].items()):
        user = sorted(e for e, p in placed.items() if p["side"] == "user")
        print(f"network {net}: {len(placed) - len(user)} elements in the kernel, "
              f"in its container: {', '.join(user) if user else 'none'}")
        for e, p in sorted(placed.items()):  # placed by the instance's own configuration
            if "condition" in p:
                print(f"  {e}: {'kernel' if p['side'] == 'kernel' else 'container'}: {p['reason']}")
        for ch in plan["channels"].get(net, []):
            sides = ("kernel", "container") if ch["direction"] == "to_user" else ("container", "kernel")
            print(f"  channel {ch['endpoint']}: {ch['from']} [{ch['from_port']}] ({sides[0]}) -> "
                  f"[{ch['to_port']}] {ch['to']} ({sides[1]})")
    for sp in plan["splits"]:
        print(f"task {sp['task']} split between {sp['between'][0]} and {sp['between'][1]}: "
              f"{sp['cost_before']:g} units -> {sp['task_cost_after']:g} + {sp['new_task_cost']:g} "
              f"(budget {sp['budget']})")
    for t in plan["tasks"]:
        print(f"task {t['task']}: {t['cost']:g} of {t['budget']} units per run "
              f"({t['packets_per_run']:g} packet{'s' if t['packets_per_run'] != 1 else ''})")
    if plan["placements"]["dave"]["FlowTap@3"]["side"] != "user" or not plan["splits"]:
        print("demo: expected FlowTap in dave's container and a task split", file=sys.stderr)
        return 1
    if (plan["placements"]["frank"]["Tally@2"]["side"], plan["placements"]["grace"]["t"]["side"]) != ("kernel", "user"):
        print("demo: expected frank's Tally in the kernel and grace's in her container", file=sys.stderr)
        return 1
    print(f"kernel: {os.path.relpath(out)}/master.click; containers: "
          + ", ".join(f"{os.path.relpath(out)}/{n}/user.click" for n in sorted(plan["channels"]) if plan["channels"][n]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
