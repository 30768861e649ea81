"""Benchmark: a full certified merge of 10, 100 and 1,000 generated networks, against Click's own reader.

Each network has one virtual device on one of two physical devices, over a
GRE tunnel: keyed tunnels (a distinct key) and keyless ones (a distinct remote
address), carrying Ethernet or IP.  Its configuration is one of several
pipeline shapes of stock classes the stock database certifies `kernel` for the
instance (Counter without keywords, Paint, Strip, Unstrip, CheckIPHeader,
DecIPTTL, SetIPDSCP, MarkIPHeader, EtherMirror, Tee, Discard, Queue), with a
chain of 0 to 11 cheap ones (Paint, Null, Strip(0), Unstrip(0), CheckLength)
whose length varies with the network.

For each size the merge runs as `certify merge --system S --out O` does, in
process (certify.mergejob.run_merge with the layered database opened as
LayeredDatabase.open(None, True): the shipped stock database and no layer of
the user's; $CERTIFY_DB is cleared first so none is picked up), and writes
master.click, plan.json and every container's files.  It runs in a child
process of its own (the time excludes the child's imports, not the first
reads of the stock records), so that child's peak resident memory (wait4's
rusage; the interpreter and imports are about 75 MiB of it) is that merge's
alone.

The baseline, measured in the same run, is Click's own reader on the written
master: `click-flatten master.click > /dev/null` (when click-flatten is on
PATH; /opt/click/bin is put in front of PATH).  The ratio is merge time over
click-flatten time.  A refused merge prints its first error messages in its row.

After the table: per size, plan.json's "dispatch" entry (per physical device,
the cost of each level of the GRE dispatch) when the plan has one, and the
largest task cost from plan["tasks"] with the budget.

    python bench/bench_scale.py [--sizes 10,100,1000] [--repeat 1] [--budget 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems  # noqa: E402
from systems import Net  # noqa: E402

CLICK_BIN = "/opt/click/bin"
CHEAP = ["Paint({p})", "Null", "Strip(0)", "Unstrip(0)", "CheckLength(1514)", "Paint({q})"]


def _chain(i: int) -> str:
    """0 to 11 cheap elements: the network's size varies with its number."""
    n = (i * 7) % 12
    parts = [CHEAP[(i + k) % len(CHEAP)].format(p=i % 256, q=(i + k) % 256) for k in range(n)]
    return "".join(f" -> {x}" for x in parts)


def network_config(i: int) -> tuple[str, str]:
    """(configuration text, inner type of the tunnel) of network ``i``: one of five shapes."""
    shape = i % 5
    c = _chain(i)
    q = 50 + (i % 4) * 50
    head = f"// generated network {i}, shape {shape}\n"
    if shape == 0:  # Ethernet: IP header check and TTL on the inner IP packet
        return head + (f"FromDevice(eth1) -> Counter -> Strip(14) -> CheckIPHeader -> DecIPTTL -> Unstrip(14){c}"
                       f" -> Queue({q}) -> ToDevice(eth1);\n"), "ethernet"
    if shape == 1:  # Ethernet: a mirror
        return head + (f"FromDevice(eth1) -> Paint({i % 256}) -> EtherMirror{c} -> Queue({q}) -> ToDevice(eth1);\n"), "ethernet"
    if shape == 2:  # Ethernet: a Tee, one branch remarked, one counted and discarded
        return head + (f"FromDevice(eth1) -> c :: Counter -> t :: Tee(2);\n"
                       f"t[0] -> Strip(14) -> CheckIPHeader -> SetIPDSCP({i % 64}) -> Unstrip(14){c}"
                       f" -> Queue({q}) -> ToDevice(eth1);\n"
                       f"t[1] -> Counter -> Discard;\n"), "ethernet"
    if shape == 3:  # IP tunnel: header check, TTL, count
        return head + (f"FromDevice(eth1) -> CheckIPHeader -> DecIPTTL -> cnt :: Counter{c}"
                       f" -> Queue({q}) -> ToDevice(eth1);\n"), "ip"
    # IP tunnel: mark, remark, paint
    return head + (f"FromDevice(eth1) -> MarkIPHeader -> SetIPDSCP({(i * 3) % 64}) -> Paint({i % 256}){c}"
                   f" -> Queue({q}) -> ToDevice(eth1);\n"), "ip"


def write_system(d: str, n: int, budget: int) -> str:
    nets = []
    for i in range(n):
        text, inner = network_config(i)
        # a remote distinct for every network, keyed or not; a third of the tunnels keyless
        nets.append(Net(f"n{i:04d}", 1000 + i, text, f"198.18.{i // 256}.{i % 256}", 1000 + i if i % 3 else None,
                        inner))
    return systems.write_system(d, nets, f"task_budget: {budget}, max_packet_length: 1514")


# -- the child: one merge, timed without its imports --------------------------------------------------


def child(system_path: str, out: str) -> int:
    os.environ.pop("CERTIFY_DB", None)  # the stock database alone
    from certify.mergejob import run_merge, write_files
    from element_db.store import LayeredDatabase
    from merge.policy import load_policy
    from merge.system import load_system

    t0 = time.perf_counter()
    outcome = run_merge(load_system(system_path), load_policy(), LayeredDatabase.open(None, True), "linuxmodule",
                        out_dir=out)
    if outcome.ok:
        write_files(out, outcome)
    seconds = time.perf_counter() - t0
    errors = list(dict.fromkeys(str(f) for f in outcome.findings if f.severity == "error"))  # once each, in order
    warnings = sum(1 for f in outcome.findings if f.severity == "warning")
    json.dump({"ok": outcome.ok, "seconds": seconds, "errors": errors[:3] or outcome.messages[-3:],
               "elements": outcome.summary.get("elements"), "warnings": warnings}, sys.stdout)
    return 0


def reap(cmd: list[str], env: dict[str, str] | None = None, devnull: bool = False) -> tuple[int, bytes, bytes, float, int]:
    """Run ``cmd`` and reap it with wait4 (so its own rusage is read): (code, stdout, stderr, wall s, maxrss KiB)."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if devnull else fo, stderr=fe, env=env, cwd=ROOT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting again
        fo.seek(0)
        fe.seek(0)
        return p.returncode, fo.read(), fe.read(), wall, usage.ru_maxrss


def flatten_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = CLICK_BIN + os.pathsep + env.get("PATH", "")
    return env


def _brief(v: Any) -> Any:
    """A list is shown as its length, a dict one level deep: what a table line can hold."""
    if isinstance(v, list):
        return f"[{len(v)}]"
    if isinstance(v, dict):
        return {k: _brief(x) for k, x in sorted(v.items())}
    return v


def describe_dispatch(plan: dict[str, Any]) -> list[str]:
    """plan["dispatch"], when present: one line per physical device, then one per level (lists shown as their lengths)."""
    d = plan.get("dispatch")
    if d is None:
        return []
    lines = []
    for dev, desc in (sorted(d.items()) if isinstance(d, dict) else enumerate(d)):
        if not isinstance(desc, dict):
            lines.append(f"    {dev}: {json.dumps(desc)[:300]}")
            continue
        levels = desc.get("levels")
        head = {k: _brief(v) for k, v in sorted(desc.items()) if k != "levels"}
        lines.append(f"    {dev}: " + ", ".join(f"{k} {v}" for k, v in head.items()))
        for lv in levels if isinstance(levels, list) else []:
            if isinstance(lv, dict):
                lines.append("      " + ", ".join(f"{k} {_brief(v)}" for k, v in sorted(lv.items())))
            else:
                lines.append(f"      {json.dumps(lv)[:300]}")
    return lines


def largest_task(plan: dict[str, Any]) -> str:
    tasks = plan.get("tasks") or []
    if not tasks:
        return "no tasks in plan.json"
    costs = [t for t in tasks if isinstance(t.get("cost"), (int, float))]
    unbounded = len(tasks) - len(costs)
    top = max(costs, key=lambda t: t["cost"]) if costs else None
    budget = plan.get("budget", {}).get("task_budget")
    over = sum(1 for t in tasks if t.get("fits") is False)
    s = f"{len(tasks)} tasks, budget {budget}"
    if top is not None:
        s += (f"; largest {top['cost']:.0f} ({100 * top['cost'] / budget:.0f}% of budget; {top.get('task')}, "
              f"{top.get('packets_per_run')} packets/run, {len(top.get('path', []))} elements on its path)"
              if budget else f"; largest {top['cost']:.0f} ({top.get('task')})")
    if unbounded:
        s += f"; {unbounded} without a finite cost"
    if over:
        s += f"; {over} over budget"
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000", help="numbers of networks, comma-separated")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement (the median is printed)")
    ap.add_argument("--budget", type=int, default=20000, help="the platform's task_budget")
    ap.add_argument("--keep", metavar="DIR", help="keep the generated systems and outputs under DIR")
    ap.add_argument("--child", nargs=2, metavar=("SYSTEM", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"{platform.system()} {platform.release()}")
    env = flatten_env()
    flatten = shutil.which("click-flatten", path=env["PATH"])
    print(f"certified merge (stock database, no user layer), target linuxmodule, task budget {args.budget}; "
          f"median of {args.repeat} run(s) each")
    print(f"baseline: {flatten or 'click-flatten not found: no baseline'} master.click > /dev/null\n")
    hdr = (f"{'networks':>8} {'master elements':>15} {'merge (s)':>10} {'click-flatten (s)':>17} {'ratio':>6} "
           f"{'merge peak MiB':>14} {'flatten peak MiB':>16}")
    print(hdr)
    notes: list[str] = []
    base = args.keep or tempfile.mkdtemp(prefix="bench_scale.")
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            d = os.path.join(base, f"n{n}")
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            path = write_system(d, n, args.budget)
            out = os.path.join(d, "out")
            child_env = dict(os.environ)
            child_env.pop("CERTIFY_DB", None)
            merges, rss = [], []
            result: dict[str, Any] = {}
            for _ in range(args.repeat):
                shutil.rmtree(out, ignore_errors=True)
                code, so, se, _, maxrss = reap([sys.executable, os.path.abspath(__file__), "--child", path, out],
                                              env=child_env)
                if code:  # a crash, not a refusal: its last line (the exception) in the row
                    last = (se.decode(errors="replace").strip().splitlines() or [""])[-1]
                    result = {"ok": False, "crashed": True, "errors": [f"merge child exited {code}: {last}"]}
                    break
                result = json.loads(so)
                if not result["ok"]:
                    break
                merges.append(result["seconds"])
                rss.append(maxrss)
            if not result.get("ok"):
                what = "failed" if result.get("crashed") else "refused"
                print(f"{n:>8} {what}: " + " | ".join(result.get("errors", []))[:600])
                continue
            t_merge = statistics.median(merges)
            master = os.path.join(out, "master.click")
            flat_s, flat_mib, ratio = "-", "-", "-"
            if flatten:
                flats, frss = [], []
                for _ in range(args.repeat):
                    code, _, fe, wall, maxrss = reap([flatten, master], env=env, devnull=True)
                    if code:
                        flat_s = f"exit {code}"
                        notes.append(f"{n} networks: click-flatten exited {code}: "
                                     + fe.decode(errors="replace").strip()[:300])
                        break
                    flats.append(wall)
                    frss.append(maxrss)
                if flats:
                    t_flat = statistics.median(flats)
                    flat_s, flat_mib, ratio = f"{t_flat:.3f}", f"{max(frss) / 1024:.1f}", f"{t_merge / t_flat:.1f}"
            print(f"{n:>8} {result['elements']:>15} {t_merge:>10.3f} {flat_s:>17} {ratio:>6} "
                  f"{max(rss) / 1024:>14.1f} {flat_mib:>16}")
            with open(os.path.join(out, "plan.json")) as f:
                plan = json.load(f)
            place = plan.get("placements") or {}
            where = f"{len(plan.get('splits', []))} splits, {result['warnings']} warnings"
            sides: dict[str, int] = {}
            for per in place.values() if isinstance(place, dict) else []:
                for v in per.values() if isinstance(per, dict) else []:
                    side = v.get("side", "?") if isinstance(v, dict) else str(v)
                    sides[side] = sides.get(side, 0) + 1
            if sides:
                where += "; network elements placed: " + ", ".join(f"{k} {v}" for k, v in sorted(sides.items()))
            notes.append(f"{n} networks: {largest_task(plan)}; {where}")
            disp = describe_dispatch(plan)
            notes.append(f"{n} networks: dispatch per level: " + ("\n" + "\n".join(disp) if disp
                                                                  else "plan.json has no \"dispatch\" key"))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print()
    for line in notes:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
