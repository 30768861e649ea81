"""The HTML safety report: a static site that works from file:// with no network access.

Decides the pages and what is on them:

* ``index.html``: counts per verdict, every element class with its verdict
  and rules, a filter by verdict and by rule (also from the URL, e.g.
  ``index.html#verdict=reject&rule=KS301``), and links to the networks;
* ``elements/<Class>.html``: verdict and reasons; each finding with the source
  lines around it (read now from ``--source-root``, never stored) and its call
  path; the assumptions the verdict rests on (each trusted routine of the
  packet path: what is assumed and where it is declared; "not recorded" for a
  record made before they were); loop bounds; cost expressions as math
  (MathML); suppressions and trusted annotations;
* ``networks/<name>.html`` (with ``--plan``): the network's graph (kernel,
  container and platform elements in different colours, channels dashed,
  split queues marked), each task's cost against the budget, placements,
  channels and splits.

Pages are written in a fixed order with sorted content: the same inputs give
the same files.
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from typing import Any

from analyzers.cost.formula import CostFormula
from element_db.record import ASSUMPTIONS_NOT_RECORDED, assumptions_of
from reports.model import NetworkView, ReportData
from reports.svg import Edge, Node, bars_svg, graph_svg, legend_svg

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#23395d;color:#fff;padding:14px 24px}header a{color:#cfe0ff}
main{padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:0}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#eef2f7}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.v-kernel{background:#d4f0d9;color:#17672a}.v-userspace{background:#fde3c8;color:#8a4b07}
.v-reject{background:#f9d0d0;color:#8f1b1b}.v-error{background:#e2d0f9;color:#4f1b8f}
.counts span{margin-right:16px}
pre.src{background:#fff;border:1px solid #ddd;padding:6px;margin:4px 0;font-size:12px;overflow-x:auto}
pre.src .hit{background:#fff1a8;display:block}
.filters{margin:10px 0;padding:8px;background:#fff;border:1px solid #ddd;display:inline-block}
.filters label{margin-right:12px;font-size:13px}
.note{color:#666;font-size:12px}
.graphbox{overflow:auto;border:1px solid #ddd;background:#fff;padding:6px;max-height:80vh}
code{font-size:12px}
"""

FILTER_JS = """
function applyFilter(){
  var v=document.getElementById('f-verdict').value, r=document.getElementById('f-rule').value, shown=0;
  document.querySelectorAll('#elements tbody tr').forEach(function(tr){
    var ok=(!v||tr.dataset.verdict===v)&&(!r||(' '+tr.dataset.rules+' ').indexOf(' '+r+' ')>=0);
    tr.style.display=ok?'':'none'; if(ok) shown++;});
  document.getElementById('shown').textContent=shown;
}
function fromHash(){
  var h=new URLSearchParams(location.hash.replace(/^#/,''));
  if(h.get('verdict')!==null) document.getElementById('f-verdict').value=h.get('verdict');
  if(h.get('rule')!==null) document.getElementById('f-rule').value=h.get('rule');
  applyFilter();
}
window.addEventListener('hashchange',fromHash);
document.addEventListener('DOMContentLoaded',fromHash);
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _page(title: str, body: str, depth: int, script: str = "") -> str:
    up = "../" * depth
    js = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{CSS}</style>{js}</head><body><header><h1>{_e(title)}</h1>"
            f'<a href="{up}index.html">certify safety report</a></header><main>\n{body}\n</main></body></html>\n')


def _verdict(v: str) -> str:
    return f'<span class="verdict v-{_e(v)}">{_e(v)}</span>'


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_@.-]", "_", name)


def render_site(data: ReportData, out: str) -> list[str]:
    """Write every page under ``out``; return the written paths (sorted)."""
    pages: dict[str, str] = {"index.html": _index(data)}
    for st in data.statuses:
        if st.record is not None:
            pages[f"elements/{_slug(st.klass)}.html"] = _element(st, data)
    for nv in data.networks:
        pages[f"networks/{_slug(nv.name)}.html"] = _network(nv, data)
    written = []
    for rel in sorted(pages):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(pages[rel])
        written.append(path)
    return written


def _index(data: ReportData) -> str:
    counts = Counter(st.record["verdict"] if st.record else "invalid" for st in data.statuses)
    stale = sum(1 for st in data.statuses if st.state != "fresh")
    rules = sorted({f["rule"] for st in data.statuses if st.record for f in st.record["findings"]})
    layers = " over ".join(f"<code>{_e(n)}</code>" for n in (data.layers or [data.db_path]))
    parts = [f'<p class="counts">Database {layers}: {len(data.statuses)} element classes &mdash; '
             + " ".join(f"<span>{_verdict(v)} {counts.get(v, 0)}</span>" for v in ("kernel", "userspace", "reject", "error"))
             + f" <span>not fresh: {stale}</span></p>"]
    if data.networks:
        parts.append("<h2>Networks</h2><table><tr><th>network</th><th>thread</th><th>kernel elements</th>"
                     "<th>container elements</th><th>channels</th><th>task splits</th></tr>")
        for nv in data.networks:
            sides = Counter(p["side"] for p in nv.placements.values())
            parts.append(f'<tr><td><a href="networks/{_slug(nv.name)}.html">{_e(nv.name)}</a></td><td>{_e(nv.info.get("thread"))}</td>'
                         f'<td>{sides.get("kernel", len([n for n in nv.kernel.nodes if n.startswith(nv.name + "/")]))}</td>'
                         f'<td>{sides.get("user", 0)}</td><td>{len(nv.channels)}</td><td>{len(nv.splits)}</td></tr>')
        parts.append("</table>")
    parts.append("<h2>Element classes</h2>")
    parts.append('<div class="filters"><label>verdict <select id="f-verdict" onchange="applyFilter()">'
                 '<option value="">all</option>' + "".join(f'<option value="{v}">{v}</option>'
                                                          for v in ("kernel", "userspace", "reject", "error"))
                 + '</select></label><label>rule <select id="f-rule" onchange="applyFilter()"><option value="">all</option>'
                 + "".join(f'<option value="{_e(r)}">{_e(r)}</option>' for r in rules)
                 + '</select></label><span class="note">showing <span id="shown">'
                 + str(len(data.statuses)) + "</span></span></div>")
    parts.append('<table id="elements"><thead><tr><th>class</th><th>verdict</th><th>state</th><th>rules</th>'
                 "<th>findings</th><th>assumptions</th><th>reasons</th></tr></thead><tbody>")
    for st in data.statuses:
        rec = st.record or {}
        v = rec.get("verdict", "error")
        rs = sorted({f["rule"] for f in rec.get("findings", [])})
        link = f'<a href="elements/{_slug(st.klass)}.html">{_e(st.klass)}</a>' if st.record else _e(st.klass)
        parts.append(f'<tr data-verdict="{_e(v)}" data-rules="{_e(" ".join(rs))}"><td>{link}</td><td>{_verdict(v)}</td>'
                     f'<td>{_e(st.state)}{": " + _e(st.reason) if st.reason else ""}</td><td>{_e(" ".join(rs))}</td>'
                     f'<td>{len(rec.get("findings", []))}</td><td>{_assumption_count(rec)}</td>'
                     f'<td>{_e("; ".join(rec.get("reasons", [])[:2]))}</td></tr>')
    parts.append("</tbody></table>")
    return _page("certify safety report", "\n".join(parts), 0, FILTER_JS)


def _source_excerpt(data: ReportData, file: str, line: int) -> str:
    if not data.source_root or not file:
        return '<p class="note">source not shown (give --source-root)</p>'
    path = file if os.path.isabs(file) else os.path.join(data.source_root, file)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return f'<p class="note">source {_e(file)} not available</p>'
    lo, hi = max(1, line - 2), min(len(lines), line + 2)
    rows = []
    for n in range(lo, hi + 1):
        text = f"{n:5d}  {lines[n - 1]}"
        rows.append(f'<span class="hit">{_e(text)}</span>' if n == line else _e(text) + "\n")
    return '<pre class="src">' + "".join(rows) + "</pre>"


def _math(expr: str | None) -> str:
    """A cost or loop-bound formula as written, as MathML; as code when it is not a formula."""
    if expr is None:
        return "unbounded"
    try:
        written = CostFormula.parse(expr).written
        if written is None:
            raise ValueError(expr)
        from sympy import mathml

        return f'<math display="inline">{mathml(written, printer="presentation")}</math>'
    except Exception:
        return f"<code>{_e(expr)}</code>"


def _element(st: Any, data: ReportData) -> str:
    rec = st.record
    parts = [f"<p>{_verdict(rec['verdict'])} <span class=\"note\">record {_e(st.state)}"
             f"{': ' + _e(st.reason) if st.reason else ''}; certified {_e(rec['certified_at'])} by {_e(rec['analyzer_version'])}"
             f"{'; from layer ' + _e(st.layer) if st.layer else ''}</span></p>"]
    parts.append("<h2>Reasons</h2><ul>" + "".join(f"<li>{_e(r)}</li>" for r in rec["reasons"]) + "</ul>")
    parts.append("<h2>Sources</h2><ul>" + "".join(f"<li><code>{_e(s['path'])}</code> <span class=\"note\">sha256 "
                                                   f"{_e(s['sha256'][:16])}&hellip;</span></li>" for s in rec["sources"]) + "</ul>")
    meta = [(k, rec[k]) for k in ("port_count", "processing", "flow_code") if k in rec]
    if meta:
        parts.append("<p>" + " &middot; ".join(f"{k}: <code>{_e(v)}</code>" for k, v in meta) + "</p>")
    parts.append(f'<h2>Findings ({len(rec["findings"])})</h2>')
    if rec["findings"]:
        parts.append('<table class="findings"><tr><th>rule</th><th>where</th><th>message</th><th>call path</th></tr>')
        for f in rec["findings"]:
            path = " &rarr; ".join(_e(p) for p in f.get("path", []))
            parts.append(f'<tr><td>{_e(f["rule"])}</td><td><code>{_e(f["file"])}:{f["line"]}:{f["column"]}</code></td>'
                         f'<td>{_e(f["message"])}{_source_excerpt(data, f["file"], f["line"])}</td><td>{path}</td></tr>')
        parts.append("</table>")
    else:
        parts.append("<p>No finding on the packet path.</p>")
    parts.append(_assumptions(rec))
    loops = rec.get("loops") or []
    parts.append("<h2>Loop bounds</h2>")
    if loops:
        parts.append("<table><tr><th>where</th><th>function</th><th>kind</th><th>bound</th><th>status</th></tr>")
        for lp in loops:
            parts.append(f'<tr><td><code>{_e(lp.get("file"))}:{_e(lp.get("line"))}</code></td><td>{_e(lp.get("function"))}</td>'
                         f'<td>{_e(lp.get("kind"))}</td><td>{_math(lp.get("bound"))}</td><td>{_e(lp.get("status"))}</td></tr>')
        parts.append("</table>")
    else:
        parts.append('<p class="note">no loop bound recorded</p>')
    cost = rec.get("cost") or {}
    parts.append("<h2>Cost</h2>")
    if cost:
        parts.append("<table><tr><th>method</th><th>worst-case cost</th></tr>" + "".join(
            f"<tr><td>{_e(m)}</td><td>{_math(c)}</td></tr>" for m, c in sorted(cost.items())) + "</table>")
        syms = rec.get("cost_symbols") or {}
        if syms:
            parts.append("<p>" + ", ".join(f"<code>{_e(k)}</code>: {_e(v)}" for k, v in sorted(syms.items())) + "</p>")
    else:
        parts.append('<p class="note">no cost recorded: the partition treats this class\'s cost as unbounded</p>')
    for key, title in (("suppressions", "Suppressions"), ("annotations", "Trusted annotations")):
        items = rec.get(key) or []
        parts.append(f"<h2>{title}</h2>")
        parts.append("<ul>" + "".join(f"<li><code>{_e(_flat(x))}</code></li>" for x in items) + "</ul>" if items
                     else '<p class="note">none</p>')
    return _page(f"{st.klass}", "\n".join(parts), 1)


def _assumption_count(rec: dict[str, Any]) -> str:
    found = assumptions_of(rec) if rec else []
    return '<span class="note">not recorded</span>' if found is None else str(len(found))


def _assumptions(rec: dict[str, Any]) -> str:
    """What the verdict rests on without a proof: one row per trusted routine of the packet path."""
    found = assumptions_of(rec)
    if found is None:
        return f'<h2>Assumptions</h2><p class="note">{_e(ASSUMPTIONS_NOT_RECORDED)}</p>'
    if not found:
        return '<h2>Assumptions (0)</h2><p class="note">none: no trusted routine on the packet path</p>'
    rows = "".join(f'<tr><td><code>{_e(a["routine"])}</code></td><td>{_e(a.get("kind", ""))}</td><td>{_e(a["assumed"])}</td>'
                   f'<td>{"<br>".join(f"<code>{_e(w)}</code>" for w in a["declared_in"].split("; "))}</td></tr>'
                   for a in found)
    return (f'<h2>Assumptions ({len(found)})</h2><p>The verdict {_verdict(rec["verdict"])} rests on these routines: '
            "trusted rather than analysed, or costed by declaration.</p>"
            '<table class="assumptions"><tr><th>routine</th><th>kind</th><th>assumed</th><th>declared in</th></tr>'
            + rows + "</table>")


def _natural(s: str) -> list[Any]:
    """Sort key: Null@5 before Null@10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _flat(x: Any) -> str:
    if isinstance(x, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(x.items()))
    return str(x)


def _network(nv: NetworkView, data: ReportData) -> str:
    plan = data.plan or {}
    els = plan.get("elements", {})
    nodes: list[Node] = []
    edges: list[Edge] = []
    for n, d in sorted(nv.kernel.nodes(data=True)):
        info = els.get(n, {})
        side = "platform" if info.get("origin") == "platform" and not n.startswith(nv.name + "/") else (
            "platform" if info.get("origin") == "platform" else "kernel")
        mark = "split" if "/_platform/split" in n else "channel" if "/_platform/ch" in n else ""
        if info.get("origin") == "network":
            side = "kernel"
        nodes.append(Node(n, n, d["klass"], side, mark))
    for u, v, d in sorted(nv.kernel.edges(data=True), key=lambda e: (e[0], e[1], e[2]["from_port"], e[2]["to_port"])):
        edges.append(Edge(u, v, f"[{d['from_port']}] -> [{d['to_port']}]"))
    if nv.user is not None:
        for n, d in sorted(nv.user.nodes(data=True)):
            nodes.append(Node("user:" + n, n, d["klass"], "user", "channel" if n.startswith("_platform/ch") else ""))
        for u, v, d in sorted(nv.user.edges(data=True), key=lambda e: (e[0], e[1], e[2]["from_port"], e[2]["to_port"])):
            edges.append(Edge("user:" + u, "user:" + v, f"[{d['from_port']}] -> [{d['to_port']}]"))
        for ch in nv.channels:
            k = ch["index"]
            kname = f"{nv.name}/_platform/ch{k}"
            if ch["direction"] == "to_user":
                edges.append(Edge(f"{kname}/to", f"user:_platform/ch{k}/from", ch["endpoint"], dashed=True))
            else:
                edges.append(Edge(f"user:_platform/ch{k}/to", f"{kname}/from", ch["endpoint"], dashed=True))
    svg, how = graph_svg(nodes, edges, f"network {nv.name}")
    share, bw = nv.info.get("cpu_share"), nv.info.get("bandwidth")
    parts = [f"<p>Thread {_e(nv.info.get('thread'))}; configuration <code>{_e(os.path.basename(str(nv.info.get('config'))))}</code>; "
             f"CPU share {_e(share if share is not None else 'not set')}; bandwidth {_e(bw or 'not limited')}.</p>",
             "<h2>Graph</h2>", legend_svg({"kernel": "kernel", "user": "container (user space)", "platform": "platform"}),
             f'<div class="graphbox">{svg}</div><p class="note">Drawn by {_e(how)}.</p>']
    budget = (plan.get("budget") or {}).get("task_budget")
    parts.append("<h2>Tasks against the budget</h2>")
    if nv.tasks and budget:
        parts.append(bars_svg([(t["task"], t["cost"]) for t in nv.tasks], float(budget), f"tasks of {nv.name}"))
    else:
        parts.append('<p class="note">no task costs (merge with --db to partition and cost the tasks)</p>')
    if nv.placements:
        parts.append("<h2>Placement</h2><table><tr><th>element</th><th>where</th><th>why</th></tr>" + "".join(
            f"<tr><td><code>{_e(e)}</code></td><td>{_e(p['side'])}</td><td>{_e(p['reason'])}</td></tr>"
            for e, p in sorted(nv.placements.items(), key=lambda kv: _natural(kv[0]))) + "</table>")
    if nv.channels:
        parts.append("<h2>Channels</h2><table><tr><th>#</th><th>direction</th><th>endpoint</th><th>cut edge</th></tr>" + "".join(
            f"<tr><td>{c['index']}</td><td>{_e(c['direction'])}</td><td><code>{_e(c['endpoint'])}</code></td>"
            f"<td><code>{_e(c['from'])} [{c['from_port']}] -&gt; [{c['to_port']}] {_e(c['to'])}</code></td></tr>"
            for c in nv.channels) + "</table>")
    if nv.splits:
        parts.append("<h2>Task splits</h2><table><tr><th>task</th><th>between</th><th>cost before</th><th>after</th>"
                     "<th>new task</th><th>budget</th></tr>" + "".join(
                         f"<tr><td><code>{_e(s['task'])}</code></td><td><code>{_e(' / '.join(s['between']))}</code></td>"
                         f"<td>{_e(s['cost_before'])}</td><td>{_e(s['task_cost_after'])}</td><td>{_e(s['new_task_cost'])}</td>"
                         f"<td>{_e(s['budget'])}</td></tr>" for s in nv.splits) + "</table>")
    return _page(f"network {nv.name}", "\n".join(parts), 1)
