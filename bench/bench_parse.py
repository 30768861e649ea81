"""Benchmark: parse + flatten of generated Click configurations.

Prints, for configurations of 1,000, 10,000 and 100,000 elements, the median
time of parse+flatten and elements per second, beside a baseline measured in
the same run: the bare lexer over the same text (tokens only).  The ratio
(parse+flatten / lex) is what to compare across machines.

    python bench/bench_parse.py [--sizes 1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
