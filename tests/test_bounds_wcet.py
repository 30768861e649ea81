"""TACLeBench evaluation (runs when WCET_BENCH names a checkout of github.com/tacle/tacle-bench).

Each benchmark directory under bench/{kernel,sequential,app,test} is analysed as a whole program
with its ``_Pragma("loopbound ...")`` annotations blanked out (same lines and columns), and every
annotated loop's whole-program bound is compared with the annotated maximum: 655 of the 932
annotated loops (70.3%) get exactly the annotated maximum.  docs/bounds.md records the numbers.  Three loops get a bound below their annotation; each was checked by hand
against the code and the annotation is the loose one (listed in BELOW_ANNOTATION with the reason).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest

from analyzers.annotations import _PRAGMA
from analyzers.bounds import BoundsInputError, analyze
from analyzers.frontend import ParseOptions

ROOT = os.environ.get("WCET_BENCH", "")
pytestmark = pytest.mark.skipif(not ROOT or not os.path.isdir(os.path.join(ROOT, "bench")),
                                reason="WCET_BENCH (a tacle-bench checkout) not set")
BLANK = re.compile(r'_Pragma\s*\(\s*"loopbound[^"]*"\s*\)')
EXACT_AT_LEAST = 0.70  # measured 655/932 = 70.3% (was 584/932 = 62.7% before struct members, finite locals, deferred steps)
BELOW_ANNOTATION = {
    # for (j = 0; j < 20 - 1; j++) runs 19 times; the annotation says max 20
    ("quicksort", "quicksort.c", 79),
    # for (lift_level = 1; lift_level < 14; ++lift_level) runs 13 times; the annotation says 14
    ("lift", "liftlibcontrol.c", 124),
    # i < sizeof(duff_source) with char duff_source[100] runs 100 times; the annotation says 400
    ("duff", "duff.c", 59),
}


def evaluate(root: str) -> tuple[int, int, list[tuple[str, str, int, int, int]]]:
    """(annotated loops, exact, loops below their annotation)."""
    annotated = exact = 0
    below: list[tuple[str, str, int, int, int]] = []
    for group in ("kernel", "sequential", "app", "test"):
        gdir = os.path.join(root, "bench", group)
        for bench in sorted(os.listdir(gdir)) if os.path.isdir(gdir) else []:
            tmp = tempfile.mkdtemp()
            try:
                wanted, files = _blank_copy(os.path.join(gdir, bench), tmp)
                annotated += len(wanted)
                try:
                    report = analyze(files, ParseOptions(), whole_program=True, use_pragmas=False)
                except BoundsInputError:
                    continue
                lines = {(os.path.abspath(lp.file), lp.line): lp for lp in report.loops}
                for (path, pragma_line), maximum in wanted.items():
                    lp = lines.get((path, pragma_line + 1)) or lines.get((path, pragma_line))
                    if lp is None or lp.bound is None or not lp.bound.is_number:
                        continue
                    if int(lp.bound) == maximum:
                        exact += 1
                    elif int(lp.bound) < maximum:
                        below.append((bench, os.path.basename(path), lp.line, int(lp.bound), maximum))
            finally:
                shutil.rmtree(tmp)
    return annotated, exact, below


def _blank_copy(src: str, dst: str) -> tuple[dict[tuple[str, int], int], list[str]]:
    wanted: dict[tuple[str, int], int] = {}
    files: list[str] = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            if not name.endswith((".c", ".h")):
                continue
            out = os.path.join(dst, os.path.relpath(os.path.join(dirpath, name), src))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            for no, line in enumerate(text.split("\n"), 1):
                m = _PRAGMA.search(line)
                if m:
                    wanted[(os.path.abspath(out), no)] = int(m.group(2))
            with open(out, "w", encoding="utf-8") as f:
                f.write(BLANK.sub(lambda m: " " * len(m.group(0)), text))
            if name.endswith(".c"):
                files.append(out)
    return wanted, sorted(files)


def test_tacle_bench() -> None:
    annotated, exact, below = evaluate(ROOT)
    assert annotated > 900
    assert {b[:3] for b in below} <= BELOW_ANNOTATION, below
    assert exact / annotated >= EXACT_AT_LEAST, f"{exact}/{annotated}"
