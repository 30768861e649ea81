"""Benchmark: install latency through the real coordinator (`certify serve` + `certify install`).

For each size N, writes a system configuration of N networks (one virtual
device each, on two physical devices, keyed GRE tunnels) into a temporary
directory, starts `certify serve` on it as a subprocess (certification on: the
shipped stock database, no user layer; $CERTIFY_DB is cleared), waits for its
{"event": "ready"} log line, installs every network once (8 installers at a
time), then measures:

* one installer: R sequential `certify install` runs, each re-installing one
  network with a slightly changed configuration (its comment and a Paint
  colour);
* 8 installers: R rounds of 8 `certify install` processes started together,
  each for a different network (the coordinator merges under one lock, so a
  round's installs are served one after another).

Latency is the client's wall time (process start to exit, as a user sees
it); "server ms" is the coordinator's own time for the same requests, from
its JSON log lines on stderr, which counts from the accepted connection to
the reply: with 8 installers it includes the wait for the merge lock.  Every
accepted install merges all N networks (the accepted configurations of the
others and the new one).

Networks are given the current uid in the system configuration, so the
installers (run as the current user) name theirs with --network: no
--allow-root is needed, as root or not.

Baselines, measured in the same run: "--version ms" is `certify --version`
as a process (starting Python and certify's command line); printed above the
table, `certify install` with no coordinator listening (what a client pays
before it talks to the coordinator: start, imports, reading its file);
"merge ms" is the in-process merge of the same N networks
(certify.mergejob.run_merge, stock database, nothing written; R runs after
the sequential installs, while the coordinator is idle), the work the
coordinator does per request before it persists and installs.

    python bench/bench_install.py [--sizes 8,100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import systems  # noqa: E402
from systems import Net  # noqa: E402

CERTIFY = [sys.executable, "-m", "certify"]
CONCURRENT = 8


def network_config(i: int, rev: int) -> str:
    return (f"// generated network {i}, revision {rev}\n"
            f"FromDevice(eth1) -> c :: Counter -> Paint({rev % 256}) -> Strip(14) -> CheckIPHeader -> Unstrip(14)"
            f" -> Queue(100) -> ToDevice(eth1);\n")


def write_system(d: str, n: int, uid: int) -> str:
    return systems.write_system(d, [Net(name(i), uid, network_config(i, 0), key=i) for i in range(n)],
                                "task_budget: 20000, max_packet_length: 1514")


def name(i: int) -> str:
    return f"n{i:04d}"


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("CERTIFY_DB", None)  # the stock database alone
    return e


class Server:
    """`certify serve` in a subprocess, its stderr (the JSON log) in a file."""

    def __init__(self, d: str, system: str) -> None:
        self.sock = os.path.join(d, "coord.sock")
        self.log_path = os.path.join(d, "serve.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(CERTIFY + ["serve", "--system", system, "--socket", self.sock,
                                                "--state", os.path.join(d, "state")],
                                     stdout=subprocess.DEVNULL, stderr=self.log, cwd=d, env=env())
        deadline = time.monotonic() + 300
        while not any(e.get("event") == "ready" for e in self.entries()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"certify serve exited {self.proc.returncode}: {self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError("certify serve was not ready in 300 s: " + self.tail())
            time.sleep(0.05)

    def entries(self) -> list[dict[str, Any]]:
        out = []
        with open(self.log_path) as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:  # a line being written
                        pass
        return out

    def tail(self) -> str:
        with open(self.log_path) as f:
            return f.read()[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_install(d: str, sock: str, i: int, rev: int) -> tuple[subprocess.Popen[bytes], float]:
    path = os.path.join(d, f"n{i}.click")
    with open(path, "w") as f:
        f.write(network_config(i, rev))
    t0 = time.perf_counter()
    p = subprocess.Popen(CERTIFY + ["install", path, "--socket", sock, "--network", name(i)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=d, env=env())
    return p, t0


def finish(p: subprocess.Popen[bytes], t0: float) -> float:
    out, err = p.communicate(timeout=900)
    ms = 1000 * (time.perf_counter() - t0)
    if p.returncode != 0 or not out.startswith(b"accepted"):
        raise RuntimeError(f"certify install exited {p.returncode}: {(out + err).decode(errors='replace')[-1500:]}")
    return ms


def server_ms(server: Server, since: int, count: int) -> list[float]:
    """The "ms" of the accepted installs logged after the first ``since`` log entries."""
    deadline = time.monotonic() + 10
    while True:  # the log line is written after the reply: give the last one a moment
        got = [float(e["ms"]) for e in server.entries()[since:] if e.get("op") == "install" and e.get("verdict") == "accepted"]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10, method="inclusive")[8] if len(xs) > 1 else xs[0]


def startup_ms(repeat: int, args: list[str], code: int) -> float:
    """Median wall ms of ``certify ARGS`` as a process (which must exit ``code``)."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run(CERTIFY + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), cwd=ROOT)
        samples.append(1000 * (time.perf_counter() - t0))
        if r.returncode != code:
            raise RuntimeError(f"certify {' '.join(args)} exited {r.returncode}, not {code}")
    return statistics.median(samples)


def in_process_merge(system_path: str) -> Callable[[], float]:
    """A function timing (ms) one in-process merge of the system as written, after one untimed warm-up."""
    os.environ.pop("CERTIFY_DB", None)
    from certify.mergejob import run_merge
    from element_db.store import LayeredDatabase
    from merge.policy import load_policy
    from merge.system import load_system

    def once() -> float:
        t0 = time.perf_counter()
        outcome = run_merge(load_system(system_path), load_policy(), LayeredDatabase.open(None, True), "linuxmodule")
        if not outcome.ok:
            raise RuntimeError("the in-process merge was refused: " + " | ".join(outcome.messages[-3:]))
        return 1000 * (time.perf_counter() - t0)

    once()
    return once


def measure(n: int, rounds: int) -> tuple[list[tuple[int, list[float], list[float]]], list[float]]:
    """[(installers, client ms, server ms)] for one installer and for 8 at once, and the in-process merges (ms)."""
    rows = []
    merges = []
    with tempfile.TemporaryDirectory(prefix="bench_install.") as d:
        system = write_system(d, n, os.getuid())
        merge_once = in_process_merge(system)
        server = Server(d, system)
        try:
            rev = 1
            for lo in range(0, n, CONCURRENT):  # install every network once, 8 at a time
                batch = [start_install(d, server.sock, i, rev) for i in range(lo, min(n, lo + CONCURRENT))]
                for p, t0 in batch:
                    finish(p, t0)
            rev += 1
            since = len(server.entries())
            client = []
            for r in range(rounds):
                client.append(finish(*start_install(d, server.sock, r % n, rev)))
                rev += 1
            rows.append((1, client, server_ms(server, since, rounds)))
            for _ in range(rounds):  # the baseline, while the coordinator is idle, close in time to what it measures
                merges.append(merge_once())
            since = len(server.entries())
            client = []
            k = min(CONCURRENT, n)
            for r in range(rounds):
                batch = [start_install(d, server.sock, (r * k + j) % n, rev) for j in range(k)]
                client += [finish(p, t0) for p, t0 in batch]
                rev += 1
            rows.append((k, client, server_ms(server, since, rounds * k)))
        finally:
            server.stop()
    return rows, merges


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="8,100", help="numbers of networks, comma-separated")
    ap.add_argument("--rounds", type=int, default=5, help="sequential installs, and rounds of 8 concurrent ones")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"{platform.system()} {platform.release()}")
    print(f"certify serve with certification on (stock database), uid {os.getuid()} owns every network; "
          f"{args.rounds} installs (1 installer) or rounds of 8 (8 installers) per size")
    print("latency: client wall time of `certify install`; server: the coordinator's logged ms; "
          "baselines: `certify --version` as a process, and the in-process merge of the same N networks")
    start = startup_ms(max(3, args.rounds), ["--version"], 0)
    with tempfile.TemporaryDirectory(prefix="bench_install.") as d:  # the client's own start: no coordinator there
        conf = os.path.join(d, "n0.click")
        with open(conf, "w") as f:
            f.write(network_config(0, 0))
        client_start = startup_ms(max(3, args.rounds), ["install", conf, "--socket", os.path.join(d, "none.sock"),
                                                        "--network", name(0)], 2)
    print(f"client start: `certify --version` {start:.0f} ms; `certify install` with no coordinator to talk to "
          f"(exit 2 after reading its file) {client_start:.0f} ms\n")
    print(f"{'networks':>8} {'installers':>10} {'median ms':>10} {'p90 ms':>8} {'server median ms':>16} "
          f"{'server p90 ms':>13} {'--version ms':>12} {'merge ms':>9}")
    for n in (int(s) for s in args.sizes.split(",")):
        rows, merges = measure(n, args.rounds)
        merged = statistics.median(merges)
        for k, client, server in rows:
            srv_med = f"{statistics.median(server):.0f}" if server else "-"
            srv_p90 = f"{p90(server):.0f}" if server else "-"
            print(f"{n:>8} {k:>10} {statistics.median(client):>10.0f} {p90(client):>8.0f} {srv_med:>16} "
                  f"{srv_p90:>13} {start:>12.0f} {merged:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
