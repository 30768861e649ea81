"""Pictures as SVG text: a network's graph and its tasks' costs against the budget.

Decides how a graph is laid out when Graphviz is not available: a layered
(Sugiyama-style) layout in pure Python -- back edges of cycles are reversed
(depth-first, in node order), each node goes to the layer of its longest path
from a source, nodes in a layer are ordered by the average position of their
neighbours in the previous layer (four down/up sweeps), then placed on a grid.
Everything is in a fixed order, so the same graph gives the same picture.
With the ``dot`` program and the ``graphviz`` package present, Graphviz lays
it out instead; the page says which one drew it.

Colours: kernel elements blue, container (user-space) elements orange,
platform elements grey; channel ends have a dashed border, queues the merger
inserted to split a task a green one.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FILL = {"kernel": "#dbe8fb", "user": "#fde3c8", "platform": "#e6e6e6"}
STROKE = {"kernel": "#2f6fcf", "user": "#d9822b", "platform": "#888888"}
NODE_W, NODE_H, GAP_X, GAP_Y = 190, 40, 60, 18


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    sub: str  # the class
    side: str  # "kernel" | "user" | "platform"
    mark: str = ""  # "" | "channel" | "split"


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str = ""
    dashed: bool = False


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def layered_layout(nodes: Sequence[Node], edges: Sequence[Edge]) -> dict[str, tuple[float, float]]:
    ids = [n.id for n in nodes]
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for e in edges:
        if e.src in succ and e.dst in succ and e.src != e.dst:
            succ[e.src].append(e.dst)
    # break cycles: DFS in node order, drop edges to nodes on the stack
    state: dict[str, int] = {}
    dag: dict[str, list[str]] = {i: [] for i in ids}

    def visit(start: str) -> None:
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            n, k = stack[-1]
            if k < len(succ[n]):
                stack[-1] = (n, k + 1)
                m = succ[n][k]
                if state.get(m) == 1:
                    continue  # back edge
                dag[n].append(m)
                if m not in state:
                    state[m] = 1
                    stack.append((m, 0))
            else:
                state[n] = 2
                stack.pop()

    for i in ids:
        if i not in state:
            visit(i)
    indeg = {i: 0 for i in ids}
    for n in ids:
        for m in dag[n]:
            indeg[m] += 1
    layer = {i: 0 for i in ids}
    queue = [i for i in ids if indeg[i] == 0]
    while queue:
        n = queue.pop(0)
        for m in dag[n]:
            layer[m] = max(layer[m], layer[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                queue.append(m)
    layers: dict[int, list[str]] = {}
    for i in ids:
        layers.setdefault(layer[i], []).append(i)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for n in ids:
        for m in dag[n]:
            preds[m].append(n)
    pos = {i: float(k) for L in layers.values() for k, i in enumerate(L)}
    for sweep in range(8):
        order = sorted(layers) if sweep % 2 == 0 else sorted(layers, reverse=True)
        for L in order:
            nbrs = preds if sweep % 2 == 0 else dag
            def key(i: str) -> tuple[float, float]:
                ns = [pos[j] for j in nbrs[i]]
                return (sum(ns) / len(ns) if ns else pos[i], pos[i])
            layers[L].sort(key=key)
            for k, i in enumerate(layers[L]):
                pos[i] = float(k)
    out: dict[str, tuple[float, float]] = {}
    for L, members in layers.items():  # top to bottom: a layer is a row
        for k, i in enumerate(members):
            out[i] = (20 + k * (NODE_W + GAP_X), 20 + L * (NODE_H + 2 * GAP_Y))
    return out


def graph_svg(nodes: Sequence[Node], edges: Sequence[Edge], title: str) -> tuple[str, str]:
    """(SVG text, which layout drew it)."""
    if shutil.which("dot"):
        try:
            return _graphviz(nodes, edges, title), "Graphviz (dot)"
        except Exception:  # a broken Graphviz install: fall back, and say so
            pass
    return _pure(nodes, edges, title), "certify's pure-Python layered layout (Graphviz's dot was not found)"


def _pure(nodes: Sequence[Node], edges: Sequence[Edge], title: str) -> str:
    xy = layered_layout(nodes, edges)
    w = max((x for x, _ in xy.values()), default=0) + NODE_W + 80
    h = max((y for _, y in xy.values()), default=0) + NODE_H + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{w:.0f}" height="{h:.0f}" '
           f'viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-label="{_esc(title)}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>']
    for e in edges:
        if e.src not in xy or e.dst not in xy:
            continue
        x1, y1 = xy[e.src]
        x2, y2 = xy[e.dst]
        if y2 > y1:  # downwards: bottom centre to top centre
            sx, sy, tx, ty = x1 + NODE_W / 2, y1 + NODE_H, x2 + NODE_W / 2, y2
            my = (sy + ty) / 2
            d = f"M {sx:.0f} {sy:.0f} C {sx:.0f} {my:.0f}, {tx:.0f} {my:.0f}, {tx:.0f} {ty:.0f}"
        else:  # upwards or within a row (a cycle, a channel back): around the right side
            sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2 + NODE_W, y2 + NODE_H / 2
            mx = max(sx, tx) + 40
            d = f"M {sx:.0f} {sy:.0f} C {mx:.0f} {sy:.0f}, {mx:.0f} {ty:.0f}, {tx:.0f} {ty:.0f}"
        dash = ' stroke-dasharray="6 4"' if e.dashed else ""
        out.append(f'<path d="{d}" fill="none" stroke="#555"{dash} marker-end="url(#arrow)"><title>'
                   f'{_esc(e.src)} -&gt; {_esc(e.dst)} {_esc(e.label)}</title></path>')
    for n in nodes:
        x, y = xy[n.id]
        dash = ' stroke-dasharray="5 3"' if n.mark == "channel" else ""
        stroke = "#2e9a3e" if n.mark == "split" else STROKE[n.side]
        width = 3 if n.mark == "split" else 1.5
        out.append(f'<g class="node {n.side}{" " + n.mark if n.mark else ""}"><title>{_esc(n.id)} :: {_esc(n.sub)}</title>'
                   f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{FILL[n.side]}" '
                   f'stroke="{stroke}" stroke-width="{width}"{dash}/>'
                   f'<text x="{x + 8:.0f}" y="{y + 16:.0f}" font-size="12" font-family="sans-serif">{_esc(_short(n.label))}</text>'
                   f'<text x="{x + 8:.0f}" y="{y + 32:.0f}" font-size="11" fill="#444" font-family="sans-serif">'
                   f'{_esc(_short(n.sub))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def _short(s: str, n: int = 28) -> str:
    return s if len(s) <= n else "..." + s[-(n - 3):]


def _graphviz(nodes: Sequence[Node], edges: Sequence[Edge], title: str) -> str:
    import graphviz  # type: ignore[import-not-found, import-untyped, unused-ignore]

    g = graphviz.Digraph(graph_attr={"rankdir": "LR", "label": title, "fontname": "sans-serif"},
                         node_attr={"shape": "box", "style": "rounded,filled", "fontname": "sans-serif", "fontsize": "11"})
    for n in nodes:
        style = "rounded,filled" + (",dashed" if n.mark == "channel" else "")
        g.node(n.id, f"{_short(n.label)}\\n{_short(n.sub)}", fillcolor=FILL[n.side],
               color="#2e9a3e" if n.mark == "split" else STROKE[n.side], style=style,
               penwidth="3" if n.mark == "split" else "1.5")
    for e in edges:
        g.edge(e.src, e.dst, style="dashed" if e.dashed else "solid")
    svg = g.pipe(format="svg").decode()
    return svg[svg.index("<svg"):]


def bars_svg(rows: Sequence[tuple[str, float | None]], budget: float, title: str) -> str:
    """Horizontal bars: each task's cost against the budget (a red line); unbounded costs drawn past it."""
    if not rows:
        return ""
    top = max([c for _, c in rows if c is not None] + [budget]) * 1.1
    label_w, bar_w, row_h = 300, 420, 26
    h = 40 + row_h * len(rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" width="{label_w + bar_w + 120}" height="{h}" '
           f'role="img" aria-label="{_esc(title)}">']
    for k, (name, cost) in enumerate(rows):
        y = 20 + k * row_h
        over = cost is None or cost > budget
        length = bar_w if cost is None else bar_w * cost / top
        text = "unbounded" if cost is None else f"{cost:g}"
        out.append(f'<text x="4" y="{y + 15}" font-size="12" font-family="sans-serif">{_esc(_short(name, 44))}</text>')
        out.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{row_h - 8}" '
                   f'fill="{"#d9534f" if over else "#5b9bd5"}"><title>{_esc(name)}: {text}</title></rect>')
        out.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 14}" font-size="11" font-family="sans-serif">{text}</text>')
    bx = label_w + bar_w * budget / top
    out.append(f'<line x1="{bx:.1f}" y1="10" x2="{bx:.1f}" y2="{h - 10}" stroke="#c00" stroke-width="2"/>')
    out.append(f'<text x="{bx + 4:.1f}" y="12" font-size="11" fill="#c00" font-family="sans-serif">budget {budget:g}</text>')
    out.append("</svg>")
    return "\n".join(out)


def legend_svg(sides: Mapping[str, str]) -> str:
    items = list(sides.items())
    width = sum(40 + 7 * len(t) for _, t in items) + 300
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="{width}" height="30">']
    x = 4
    for side, text in items:
        out.append(f'<rect x="{x}" y="6" width="18" height="16" rx="3" fill="{FILL[side]}" stroke="{STROKE[side]}"/>'
                   f'<text x="{x + 24}" y="19" font-size="12" font-family="sans-serif">{_esc(text)}</text>')
        x += 40 + 7 * len(text)
    out.append(f'<rect x="{x}" y="6" width="18" height="16" rx="3" fill="#fff" stroke="#555" stroke-dasharray="5 3"/>'
               f'<text x="{x + 24}" y="19" font-size="12" font-family="sans-serif">channel end</text>')
    x += 130
    out.append(f'<rect x="{x}" y="6" width="18" height="16" rx="3" fill="#fff" stroke="#2e9a3e" stroke-width="3"/>'
               f'<text x="{x + 24}" y="19" font-size="12" font-family="sans-serif">split queue</text>')
    out.append("</svg>")
    return "\n".join(out)
