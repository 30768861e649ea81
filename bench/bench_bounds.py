"""Loop-bound throughput: loops per second on a large generated C file, against bare libclang parse time.

Generates FUNCTIONS functions, each with a mix of the loop forms the analysis handles (counting
loops with every step, a triangular nest, a while loop with the update in its body, a do loop,
a data-dependent loop), writes them to one C file, then reports the parse time alone (the front
end, best of 3) and the whole ``certify bounds`` analysis (parse, loops, annotations, costs).

    .venv/bin/python bench/bench_bounds.py [FUNCTIONS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from analyzers.bounds import analyze, options_for  # noqa: E402
from analyzers.frontend import ParseOptions, parse  # noqa: E402

TEMPLATE = """
int f{k}(int n, unsigned m, const int *a) {{
  int s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  for (unsigned i = m; i > 0; i -= 3) s++;
  for (int i = 1; i < 4096; i *= 2) s++;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) s += a[j];
  int k = 0;
  while (k < {k} + 8) {{ s++; k++; }}
  do {{ s--; }} while (--k);
  while (a[s] > 0) s++;
  return s;
}}
"""


def main() -> int:
    functions = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    src = "".join(TEMPLATE.format(k=k) for k in range(functions))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "loops.c")
        with open(path, "w") as f:
            f.write(src)
        parse_s = min(_time(lambda: parse(path, options_for(path, ParseOptions()))) for _ in range(3))
        t0 = time.perf_counter()
        report = analyze([path], ParseOptions())
        total_s = time.perf_counter() - t0
    loops = len(report.loops)
    bounded = sum(1 for lp in report.loops if lp.status != "unbounded")
    print(f"file: {functions} functions, {src.count(chr(10))} lines, {loops} loops ({bounded} bounded)")
    print(f"libclang parse alone: {parse_s:.3f} s")
    print(f"certify bounds (parse + loops + costs): {total_s:.3f} s = {loops / total_s:.0f} loops/s, "
          f"{(total_s - parse_s) / loops * 1000:.2f} ms per loop beyond the parse")
    return 0


def _time(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    raise SystemExit(main())
