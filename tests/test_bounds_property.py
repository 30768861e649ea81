"""Property: inferred loop bounds are never below what gcc-compiled code actually executes.

Hypothesis generates batches of counting loops (random initial value, condition, step, signedness,
an optional offset on the compared side (``i + 3 < n``), an optional second update in the outer
body before or after the inner loop, and an optional inner loop whose bounds may depend on the
outer variable), each in a function of a
parameter ``n``.  One C file per batch is analysed (parametric bounds in ``n``) and compiled with
gcc with counting hooks (``-DRUN``), then run for several ``n``.  For every loop and every ``n``:
exact means the bound equals the observed iterations, upper means it is at least that, and an
``unbounded`` loop is the only one allowed to run past the iteration cap.  The same checks apply
to the per-entry maximum and the total of inner loops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.bounds import analyze
from analyzers.frontend import ParseOptions

GCC = shutil.which("gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="gcc not installed")
CAP = 200000
NS = (0, 1, 2, 3, 7, 12)
PER_BATCH = 30

HEADER = f"""#include <stdio.h>
#ifdef RUN
static long cnt_o, cnt_i, max_i, tot_i, guard, per;
static int over;
#define ITER_O() do {{ cnt_o++; if (++guard > {CAP}) {{ over = 1; return 0; }} }} while (0)
#define ENTER_I() do {{ per = 0; }} while (0)
#define ITER_I() do {{ per++; tot_i++; if (++guard > {CAP}) {{ over = 2; return 0; }} }} while (0)
#define LEAVE_I() do {{ if (per > max_i) max_i = per; }} while (0)
#else
#define ITER_O()
#define ENTER_I()
#define ITER_I()
#define LEAVE_I()
#endif
"""


@dataclass(frozen=True)
class Spec:
    ctype: str
    init: str
    op: str
    bound: str
    step: str
    offset: str = ""  # the compared side is the variable plus this ("", " + 3", " - 2")
    extra: str = ""  # a second update in the body (outer loops only)
    extra_first: bool = False  # that update comes before the inner loop


@dataclass(frozen=True)
class Nest:
    outer: Spec
    inner: Spec | None


def _step(kind: str, c: int, up: bool) -> str:
    return {"inc": "v++" if up else "v--", "add": f"v += {c}" if up else f"v -= {c}", "mul": f"v *= {c + 1}",
            "shl": f"v <<= {min(c, 3)}", "shr": f"v >>= {min(c, 3)}", "div": f"v /= {c + 1}"}[kind]


@st.composite
def specs(draw: st.DrawFn, var: str, outer: str | None) -> Spec:
    ctype = draw(st.sampled_from(["int", "unsigned"]))
    lo = 0 if ctype == "unsigned" else -6
    atoms = [str(draw(st.integers(lo, 20))), "n", f"n + {draw(st.integers(0, 5))}"]
    if outer:
        atoms += [outer, f"{outer} + {draw(st.integers(0, 4))}"]
    init = draw(st.sampled_from(atoms))
    bound = draw(st.sampled_from(atoms + [str(draw(st.integers(-3, 40)))]))
    kind = draw(st.sampled_from(["inc", "inc", "add", "add", "mul", "shl", "shr", "div"]))
    up = draw(st.booleans()) if kind in ("inc", "add") else kind in ("mul", "shl")
    # mostly a condition that agrees with the step's direction; sometimes any condition
    agreeing = ["<", "<=", "!="] if up else [">", ">=", "!="]
    op = draw(st.sampled_from(agreeing if draw(st.integers(0, 5)) else ["<", "<=", ">", ">=", "!="]))
    step = _step(kind, draw(st.integers(1, 4)), up).replace("v", var)
    offset = draw(st.sampled_from(["", "", "", f" + {draw(st.integers(0, 5))}", f" - {draw(st.integers(0, 5))}"]))
    extra = "" if outer else draw(st.sampled_from(["", "", "", "v++", "v += 2", "v--"])).replace("v", var)
    return Spec(ctype, init, op, bound, step, offset, extra, draw(st.booleans()))


@st.composite
def nests(draw: st.DrawFn) -> Nest:
    outer = draw(specs("i", None))
    inner = draw(st.one_of(st.none(), specs("j", "i")))
    return Nest(outer, inner)


def render(batch: list[Nest]) -> tuple[str, list[tuple[int, int | None]]]:
    """The C file and, per function, the lines of its outer and inner loop."""
    lines = HEADER.splitlines()
    where: list[tuple[int, int | None]] = []
    for k, nest in enumerate(batch):
        o, i = nest.outer, nest.inner
        lines.append(f"long f{k}(int n) {{")
        lines.append("  long s = 0;")
        lines.append(f"  for ({o.ctype} i = {o.init}; i{o.offset} {o.op} {o.bound}; {o.step}) {{")
        outer_line = len(lines)
        lines.append("    ITER_O(); s++;")
        if o.extra and o.extra_first:
            lines.append(f"    {o.extra};")
        inner_line = None
        if i is not None:
            lines.append("    ENTER_I();")
            lines.append(f"    for ({i.ctype} j = {i.init}; j{i.offset} {i.op} {i.bound}; {i.step}) {{ ITER_I(); s++; }}")
            inner_line = len(lines)
            lines.append("    LEAVE_I();")
        if o.extra and not o.extra_first:
            lines.append(f"    {o.extra};")
        lines.append("  }")
        lines.append("  return s;")
        lines.append("}")
        where.append((outer_line, inner_line))
    lines.append("#ifdef RUN")
    lines.append("int main(void) {")
    lines.append(f"  static const int ns[] = {{{', '.join(map(str, NS))}}};")
    lines.append(f"  for (int t = 0; t < {len(NS)}; t++) {{")
    for k in range(len(batch)):
        lines.append("    cnt_o = cnt_i = max_i = tot_i = guard = 0; over = 0;")
        lines.append(f"    f{k}(ns[t]);")
        lines.append(f'    printf("{k} %d %d %ld %ld %ld\\n", ns[t], over, cnt_o, max_i, tot_i);')
    lines.append("  }")
    lines.append("  return 0;")
    lines.append("}")
    lines.append("#endif")
    return "\n".join(lines) + "\n", where


def _at(e: sympy.Expr, n: int) -> sympy.Expr:
    syms = {s for s in e.free_symbols if s.name == "n"}
    return sympy.sympify(e.xreplace({s: sympy.Integer(n) for s in syms}))


def _check(kind: str, status: str, bound: sympy.Expr | None, observed: int, over: bool, n: int, what: str) -> None:
    if status == "unbounded":
        return
    assert bound is not None
    value = _at(bound, n)
    assert value.is_number, f"{what}: bound {bound} not numeric at n={n}"
    if over:
        assert value >= CAP, f"{what}: ran past {CAP} iterations but bound {bound} = {value} at n={n}"
        return
    assert value >= observed, f"{what}: bound {bound} = {value} below observed {observed} at n={n}"
    if status == "exact" and kind == "outer":
        assert value == observed, f"{what}: exact bound {bound} = {value} but observed {observed} at n={n}"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(nests(), min_size=PER_BATCH, max_size=PER_BATCH))
def test_bounds_never_below_execution(tmp_path_factory: pytest.TempPathFactory, batch: list[Nest]) -> None:
    d = tmp_path_factory.mktemp("loops")
    src, where = render(batch)
    path = os.path.join(d, "loops.c")
    with open(path, "w") as f:
        f.write(src)
    exe = os.path.join(d, "loops")
    subprocess.run([GCC or "gcc", "-O0", "-w", "-DRUN", "-o", exe, path], check=True)
    out = subprocess.run([exe], capture_output=True, text=True, timeout=120, check=True).stdout
    report = analyze([path], ParseOptions())
    loops = {lp.line: lp for lp in report.loops}
    for row in out.split("\n"):
        if not row:
            continue
        k, n, over, cnt_o, max_i, tot_i = map(int, row.split())
        outer_line, inner_line = where[k]
        o = loops[outer_line]
        # over 1: the outer loop ran past the cap; over 2: an inner loop did (the outer count is partial)
        _check("outer" if over != 2 else "partial", o.status, o.bound, cnt_o, over == 1, n, f"f{k} outer {batch[k].outer}")
        if inner_line is None or o.status == "unbounded" or over == 1:
            continue
        i = loops[inner_line]
        _check("inner", i.status, i.bound, max_i, False, n, f"f{k} inner {batch[k].inner}")
        if i.total is not None and over != 2:
            total = _at(i.total, n)
            assert total >= tot_i, f"f{k}: total {i.total} = {total} below observed {tot_i} at n={n}"
            if i.status == "exact" and o.status == "exact":
                assert total == tot_i, f"f{k}: exact total {i.total} = {total}, observed {tot_i} at n={n}"
        elif over == 2:
            assert i.status == "unbounded" or _at(i.bound, n) * cnt_o >= CAP or _at(i.bound, n) >= max_i, \
                f"f{k}: inner ran past the cap with bound {i.bound} at n={n}"
        if i.status == "exact" and o.status == "exact" and cnt_o > 0 and over == 0:
            assert _at(i.bound, n) == max_i, f"f{k}: exact inner bound {i.bound} at n={n}, observed {max_i}"
