"""Benchmark: parse + flatten of generated Click configurations.

Prints, for configurations of 1,000, 10,000 and 100,000 elements, the median
time of parse+flatten and elements per second, beside a baseline measured in
the same run: the bare lexer over the same text (tokens only).  The ratio
(parse+flatten / lex) is what to compare across machines.

Then, for the largest size, memory: the configuration is written to a file
and parsed and flattened (``load_file``) in a fresh child process per run, so
that each measurement starts clean; the child's peak resident memory is the
whole process's (interpreter and imports included, as for any command).  When
``click-flatten`` is on PATH it is run on the same file in the same run (each
run of ours followed by one of its), and its time and peak memory are printed
beside ours, with the ratios.  Times are wall-clock seconds of the whole
process, and for ours also of parse+flatten alone (``load_file``, without the
interpreter's start-up and imports); all figures are medians.

    python bench/bench_parse.py [--sizes 1000,10000,100000] [--repeat 3] [--no-memory]
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merge.lang import load_text  # noqa: E402
from merge.lang.lexer import EOF, Lexer  # noqa: E402
from merge.lang.limits import Limits  # noqa: E402

PRELUDE = """define($BURST 8);
elementclass Port { $dev | FromDevice($dev, BURST $BURST) -> c :: Counter -> output }
elementclass Fwd { input -> q :: Queue(100) -> u :: Unqueue -> output; input [1] -> [1] output }
"""


def generate(n_elements: int) -> str:
    """A configuration with about n_elements elements after flattening.

    Each block of 10 elements: a Port compound (2), a classifier with a group
    detour, anonymous elements in a chain, a Fwd compound (2) and comments.
    """
    out = [PRELUDE]
    blocks = max(1, n_elements // 10)
    for i in range(blocks):
        out.append(
            f"// block {i}\n"
            f"p{i} :: Port(eth{i % 8});\n"
            f"c{i} :: Classifier(12/0800, 12/0806, -);\n"
            f"f{i} :: Fwd;\n"
            f"p{i} -> c{i} => ( input [0] -> output; input [1] -> Paint({i % 256}) -> output; input [2] -> output ) "
            f"-> Strip(14) -> CheckIPHeader -> f{i} -> Discard;\n"
            f"Idle -> [1] f{i} [1] -> Discard;\n"
        )
    return "".join(out)


def time_it(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def lex_all(text: str) -> int:
    lx = Lexer(text, "bench.click")
    n = 0
    while True:
        t = lx.lex()
        if t.kind == EOF:
            return n
        if t.kind == "(":
            lx.lex_config(t.start)
        n += 1


# The child that measures one parse+flatten: it prints its own parse+flatten time and element count; its peak
# resident memory is read by the parent from the child's resource usage (os.wait4), as for click-flatten.
_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from merge.lang import load_file
from merge.lang.limits import Limits
t0 = time.perf_counter()
g = load_file(sys.argv[2], limits=Limits.none()).graph
print(json.dumps({"seconds": time.perf_counter() - t0, "elements": g.number_of_nodes()}))
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Runs one command and reports its wall time and peak resident memory (os.wait4).  The command is started by this
# small, fresh process, not by the benchmark itself: on Linux a child's ru_maxrss starts from the resident size of
# the process that forked it, and the benchmark holds large graphs by then.
_LAUNCHER = """
import json, os, subprocess, sys, time
argv, out_path = json.loads(sys.argv[1]), sys.argv[2]
with open(out_path, "wb") as out:
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=out)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "maxrss": usage.ru_maxrss, "status": os.waitstatus_to_exitcode(status)}))
"""


def run_child(argv: list[str]) -> tuple[float, float, bytes]:
    """Run a command in a fresh process; return (wall seconds, peak RSS in MiB, its standard output)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "stdout")
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, json.dumps(argv), out_path],
                              capture_output=True, check=True)
        got = json.loads(done.stdout)
        if got["status"] != 0:
            raise RuntimeError(f"{argv[0]} failed with status {got['status']}: {done.stderr.decode(errors='replace')[-2000:]}")
        with open(out_path, "rb") as f:
            out = f.read()
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak = got["maxrss"] / (2**20 if sys.platform == "darwin" else 2**10)
    return got["wall"], peak, out


def memory_table(n: int, repeat: int) -> None:
    """Peak memory and time of parse+flatten in a fresh process, beside click-flatten's on the same file."""
    click_flatten = shutil.which("click-flatten")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.click")
        with open(path, "w") as f:
            f.write(generate(n))
        ours = []
        theirs = []
        for _ in range(repeat):  # alternated, so that both see the same load of the machine
            wall, peak, out = run_child([sys.executable, "-c", _CHILD, ROOT, path])
            got = json.loads(out)
            ours.append((wall, peak, got["seconds"], got["elements"]))
            if click_flatten is not None:
                wall, peak, _ = run_child([click_flatten, path])
                theirs.append((wall, peak))
    count = ours[0][3]
    o_wall = statistics.median(x[0] for x in ours)
    o_peak = statistics.median(x[1] for x in ours)
    o_inner = statistics.median(x[2] for x in ours)
    print(f"\nparse+flatten of {count} elements in a fresh process, median of {repeat} runs:")
    print(f"{'':>14} {'peak RSS (MiB)':>15} {'time (s)':>9} {'parse+flatten (s)':>18}")
    print(f"{'certify':>14} {o_peak:>15.1f} {o_wall:>9.2f} {o_inner:>18.2f}")
    if not theirs:
        print("click-flatten is not on PATH: no comparison")
        return
    c_wall = statistics.median(x[0] for x in theirs)
    c_peak = statistics.median(x[1] for x in theirs)
    print(f"{'click-flatten':>14} {c_peak:>15.1f} {c_wall:>9.2f}")
    print(f"{'ratio':>14} {o_peak / c_peak:>15.2f} {o_wall / c_wall:>9.2f}   (certify / click-flatten)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-memory", action="store_true", help="skip the memory comparison (child processes)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python={platform.python_version()} {platform.system()} {platform.release()}")
    print(f"median of {args.repeat} runs each\n")
    print(f"{'elements':>9} {'bytes':>10} {'lex (s)':>9} {'parse+flatten (s)':>18} {'elements/s':>11} {'ratio to lex':>12}")
    for n in sizes:
        text = generate(n)
        g = load_text(text, "bench.click", limits=Limits.none()).graph  # warm-up, and the real element count
        count = g.number_of_nodes()
        t_lex = time_it(lambda: lex_all(text), args.repeat)
        t_full = time_it(lambda: load_text(text, "bench.click", limits=Limits.none()), args.repeat)
        print(f"{count:>9} {len(text):>10} {t_lex:>9.3f} {t_full:>18.3f} {count / t_full:>11.0f} {t_full / t_lex:>12.1f}")
    if not args.no_memory:
        memory_table(max(sizes), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
