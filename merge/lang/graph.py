"""The router graph: a configuration as a networkx MultiDiGraph.

Nodes are element names, in declaration order, with attributes ``klass``
(the class name), ``config`` (the configuration string, verbatim), ``file``,
``line`` and ``column``.  Each edge is one connection; its key is the pair
``(from_port, to_port)`` and it carries ``from_port`` and ``to_port``
attributes, so two connections between the same elements on different ports
are two edges, and a repeated connection is one.  Graph attributes:
``defines`` (global variables kept unexpanded, as ``[name, value]`` pairs),
``requirements`` (``[kind, value]`` pairs) and ``file``.

:func:`to_json` gives the stable machine-readable form of DESIGN.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from merge.lang.router import Element, Router

if TYPE_CHECKING:  # networkx is imported where a graph is made: `certify install` never needs it
    import networkx as nx


def from_router(router: Router, file: str, flat: bool = True, consume: bool = False) -> nx.MultiDiGraph:
    """The graph of a router; ``flat`` says compounds were expanded.

    With ``consume`` the router is emptied as the graph is built (:meth:`Router.take_elements`): each
    element and connection is freed once it is in the graph, so that a large router and its graph are not
    both held whole at the same time.  The graph is the same."""
    import networkx as nx

    g = nx.MultiDiGraph()
    g.graph["file"] = file
    g.graph["flat"] = flat
    g.graph["class_declarations"] = [] if flat else [text for _, text in router.class_declarations]
    g.graph["defines"] = [[n, v] for n, v in zip(router.scope.names, router.scope.values)]
    reqs: list[list[str]] = []
    for kind, value in router.requirements:
        if [kind, value] not in reqs:
            reqs.append([kind, value])
    g.graph["requirements"] = reqs
    # the connections as (from, to, from port, to port), kept apart from the elements they point to
    conns = [(c.src.name, c.dst.name, c.src_port, c.dst_port)
             for c in router.connections if not (c.dead or c.src.tunnel or c.dst.tunnel)]
    elements: list[Element | None] = list(router.take_elements() if consume else router.elements)
    for i, e in enumerate(elements):
        assert e is not None
        if consume:
            elements[i] = None  # freed once in the graph
        if e.dead or e.tunnel:
            continue
        k = e.klass.resolved() if flat else e.klass
        attrs = {}
        if k.kind == "compound" and not k.name:
            attrs["compound"] = k.source
        g.add_node(
            e.name,
            klass=k.name or "<anonymous>",
            config=e.config,
            **attrs,
            file=e.location.file,
            line=e.location.line,
            column=e.location.column,
        )
    del elements
    keys: dict[tuple[int, int], tuple[int, int]] = {}  # the edge keys, each pair of ports one tuple
    conns.reverse()
    while conns:
        u, v, sp, dp = conns.pop()
        key = keys.setdefault((sp, dp), (sp, dp))
        g.add_edge(u, v, key=key, from_port=sp, to_port=dp)
    return g


def connections(g: nx.MultiDiGraph) -> list[tuple[str, int, str, int]]:
    """All connections, sorted by source element order, then ports."""
    order = {n: i for i, n in enumerate(g.nodes)}
    out = [(u, d["from_port"], v, d["to_port"]) for u, v, d in g.edges(data=True)]
    out.sort(key=lambda c: (order[c[0]], c[1], order[c[2]], c[3]))
    return out


def to_json(g: nx.MultiDiGraph) -> dict[str, Any]:
    return {
        "elements": [
            {"name": n, "class": d["klass"], "config": d["config"], "file": d["file"], "line": d["line"]}
            for n, d in g.nodes(data=True)
        ],
        "connections": [
            {"from": u, "from_port": fp, "to": v, "to_port": tp} for u, fp, v, tp in connections(g)
        ],
        "defines": [list(x) for x in g.graph.get("defines", [])],
        "requirements": [list(x) for x in g.graph.get("requirements", [])],
    }


def same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    """Same elements (name, class, config) and the same connections."""
    ea = {(n, d["klass"], d["config"]) for n, d in a.nodes(data=True)}
    eb = {(n, d["klass"], d["config"]) for n, d in b.nodes(data=True)}
    return ea == eb and set(connections(a)) == set(connections(b))
