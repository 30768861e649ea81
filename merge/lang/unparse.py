"""Unparser: a router graph back to canonical Click text.

The text declares every element once (``name :: Class(config);``, in graph
order) and then lists every connection on its own line
(``a [1] -> [0] b;``), sorted, with ports always written.  Global
``define``s and requirements come first; for an unflattened graph the
``elementclass`` declarations come before the elements that use them.
Re-parsing the text gives the same graph (names, classes, configuration
strings and connections): configuration strings are written back verbatim.
A :class:`~merge.lang.graph.PlainGraph` gives the same text as the graph it
stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from merge.lang.confparse import quote
from merge.lang.graph import PlainGraph, connections, elements

if TYPE_CHECKING:  # networkx is imported where a graph is made: `certify install` and `certify parse` never need it
    import networkx as nx


def _config_part(config: str) -> str:
    return f"({config})" if config else ""


def unparse(g: nx.MultiDiGraph | PlainGraph) -> str:
    out: list[str] = []
    defines = g.graph.get("defines") or []
    if defines:
        out.append("define(" + ", ".join(f"${n} {v}" for n, v in defines) + ");")
    reqs = g.graph.get("requirements") or []
    if reqs:
        parts = []
        for kind, value in reqs:
            parts.append(kind if kind == "compact_config" else f"{kind} {quote(value)}")
        out.append("require(" + ", ".join(parts) + ");")
    for text in g.graph.get("class_declarations") or []:
        out.append(text)
    if out:
        out.append("")
    for name, d in elements(g):
        klass = d.get("compound") or d["klass"]
        out.append(f"{name} :: {klass}{_config_part(d['config'])};")
    conns = connections(g)
    if conns:
        out.append("")
    for u, fp, v, tp in conns:
        out.append(f"{u} [{fp}] -> [{tp}] {v};")
    return "\n".join(out) + "\n"
