"""The Markdown summary: short enough for a pull-request comment or $GITHUB_STEP_SUMMARY.

Decides what a reviewer sees first: the counts per verdict, each network's
placement in one table row, the element classes that are not certified
for the kernel (at most 25, the rest counted), and the kernel classes whose
verdict rests on trusted assumptions (the routines of their packet path
taken on trust: at most 25, the rest counted; records made before
assumptions were recorded are counted as not saying, never as "none").  Paths are shown by base name,
so the summary is the same wherever the inputs are.
"""

from __future__ import annotations

import os
from collections import Counter

from element_db.record import assumptions_of
from reports.model import ReportData

LIMIT = 25


def _cell(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(data: ReportData) -> str:
    counts = Counter(st.record["verdict"] if st.record else "invalid" for st in data.statuses)
    stale = sum(1 for st in data.statuses if st.state != "fresh")
    out = ["# certify safety report", ""]
    layers = " over ".join(f"`{os.path.basename(os.path.normpath(n))}`" for n in (data.layers or [data.db_path]))
    out.append(f"**Database** {layers}: {len(data.statuses)} element classes: "
               f"kernel {counts.get('kernel', 0)}, userspace {counts.get('userspace', 0)}, reject {counts.get('reject', 0)}, "
               f"error {counts.get('error', 0)}; not fresh {stale}.")
    if data.networks:
        out += ["", "## Networks", "", "| network | thread | kernel | container | channels | task splits | tasks over budget |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for nv in data.networks:
            sides = Counter(p["side"] for p in nv.placements.values())
            kernel = sides.get("kernel", len([n for n in nv.kernel.nodes if n.startswith(nv.name + "/")
                                              and "/_platform/" not in n]))
            over = sum(1 for t in nv.tasks if not t["fits"])
            out.append(f"| {_cell(nv.name)} | {nv.info.get('thread')} | {kernel} | {sides.get('user', 0)} | "
                       f"{len(nv.channels)} | {len(nv.splits)} | {over} |")
    rows = [st for st in data.statuses if not st.record or st.record["verdict"] != "kernel" or st.state != "fresh"]
    out += ["", f"## Not certified for the kernel ({len(rows)})", ""]
    if rows:
        out += ["| class | verdict | state | first reason |", "|---|---|---|---|"]
        for st in rows[:LIMIT]:
            rec = st.record or {}
            out.append(f"| {_cell(st.klass)} | {rec.get('verdict', '-')} | {_cell(st.state)} | "
                       f"{_cell((rec.get('reasons') or [st.reason])[0])} |")
        if len(rows) > LIMIT:
            out.append(f"| ... | {len(rows) - LIMIT} more | | |")
    else:
        out.append("Every element class is certified for the kernel.")
    out += _assumptions(data)
    return "\n".join(out) + "\n"


def _assumptions(data: ReportData) -> list[str]:
    """The kernel classes whose verdict rests on trusted routines, and how many records do not say."""
    kernel = [st for st in data.statuses if st.record and st.record["verdict"] == "kernel"]
    resting = [(st, assumptions_of(st.record or {}) or []) for st in kernel]
    resting = [(st, found) for st, found in resting if found]
    unknown = sum(1 for st in kernel if assumptions_of(st.record or {}) is None)
    out = ["", f"## Kernel verdicts resting on trusted assumptions ({len(resting)} of {len(kernel)})", ""]
    if resting:
        out += ["| class | assumptions | trusted routines |", "|---|---:|---|"]
        for st, found in resting[:LIMIT]:
            out.append(f"| {_cell(st.klass)} | {len(found)} | {_cell(', '.join(a['routine'] for a in found))} |")
        if len(resting) > LIMIT:
            out.append(f"| ... | {len(resting) - LIMIT} more | |")
    if unknown:
        out += [""] if resting else []
        out += [f"Assumptions not recorded for {unknown} kernel class{'es' if unknown != 1 else ''} "
                "(certified by an older analyzer): what their verdicts assume is not known from the database."]
    elif not resting:
        out.append("No kernel verdict rests on a trusted routine.")
    return out
