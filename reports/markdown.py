"""The Markdown summary: short enough for a pull-request comment or $GITHUB_STEP_SUMMARY.

Decides what a reviewer sees first: the counts per verdict, each network's
placement in one table row, and the element classes that are not certified
for the kernel (at most 25, the rest counted).  Paths are shown by base name,
so the summary is the same wherever the inputs are.
"""

from __future__ import annotations

import os
from collections import Counter

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
    return "\n".join(out) + "\n"
