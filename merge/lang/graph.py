"""The router graph: a configuration as a networkx MultiDiGraph, or the same content as plain data.

Nodes are element names, in declaration order, with attributes ``klass``
(the class name), ``config`` (the configuration string, verbatim), ``file``,
``line`` and ``column``.  Each edge is one connection; its key is the pair
``(from_port, to_port)`` and it carries ``from_port`` and ``to_port``
attributes, so two connections between the same elements on different ports
are two edges, and a repeated connection is one.  Graph attributes:
``defines`` (global variables kept unexpanded, as ``[name, value]`` pairs),
``requirements`` (``[kind, value]`` pairs) and ``file``.

A :class:`PlainGraph` holds the same nodes, attributes and connections in
dicts and a set, for a caller that only prints a configuration
(:func:`to_json`, :func:`~merge.lang.unparse.unparse`): importing networkx
costs more than the whole rest of ``certify parse`` of a small file
(``bench/bench_startup.py``).  Both forms are made by the same walk of the
router, and :func:`elements` and :func:`connections` read either.

:func:`to_json` gives the stable machine-readable form of DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from merge.lang.router import Element, Router

if TYPE_CHECKING:  # networkx is imported where a graph is made: `certify install` and `certify parse` never need it
    import networkx as nx

# One connection: (from element, from port, to element, to port)
Conn = tuple[str, int, str, int]


@dataclass
class PlainGraph:
    """What :func:`from_router` puts in a MultiDiGraph, without networkx: ``graph`` its graph attributes,
    ``nodes`` each node's attributes by name, in node order, and ``edges`` its connections, each once."""

    graph: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[Conn] = field(default_factory=set)


def _graph_attributes(router: Router, file: str, flat: bool) -> dict[str, Any]:
    reqs: list[list[str]] = []
    for kind, value in router.requirements:
        if [kind, value] not in reqs:
            reqs.append([kind, value])
    return {
        "file": file,
        "flat": flat,
        "class_declarations": [] if flat else [text for _, text in router.class_declarations],
        "defines": [[n, v] for n, v in zip(router.scope.names, router.scope.values)],
        "requirements": reqs,
    }


def _live_connections(router: Router) -> list[tuple[str, str, int, int]]:
    """The connections as (from, to, from port, to port), kept apart from the elements they point to."""
    return [(c.src.name, c.dst.name, c.src_port, c.dst_port)
            for c in router.connections if not (c.dead or c.src.tunnel or c.dst.tunnel)]


def _node_attributes(router: Router, flat: bool, consume: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each live element's name and node attributes, in order; with ``consume`` the router is emptied first
    (:meth:`Router.take_elements`) and each element is freed once given."""
    taken: list[Element | None] = list(router.take_elements() if consume else router.elements)
    for i, e in enumerate(taken):
        assert e is not None
        if consume:
            taken[i] = None
        if e.dead or e.tunnel:
            continue
        k = e.klass.resolved() if flat else e.klass
        attrs: dict[str, Any] = {"klass": k.name or "<anonymous>", "config": e.config}
        if k.kind == "compound" and not k.name:
            attrs["compound"] = k.source
        attrs["file"] = e.location.file
        attrs["line"] = e.location.line
        attrs["column"] = e.location.column
        yield e.name, attrs


def from_router(router: Router, file: str, flat: bool = True, consume: bool = False) -> nx.MultiDiGraph:
    """The graph of a router; ``flat`` says compounds were expanded.

    With ``consume`` the router is emptied as the graph is built (:meth:`Router.take_elements`): each
    element and connection is freed once it is in the graph, so that a large router and its graph are not
    both held whole at the same time.  The graph is the same."""
    import networkx as nx

    g = nx.MultiDiGraph()
    g.graph.update(_graph_attributes(router, file, flat))
    conns = _live_connections(router)
    for name, attrs in _node_attributes(router, flat, consume):
        g.add_node(name, **attrs)
    keys: dict[tuple[int, int], tuple[int, int]] = {}  # the edge keys, each pair of ports one tuple
    conns.reverse()
    while conns:
        u, v, sp, dp = conns.pop()
        key = keys.setdefault((sp, dp), (sp, dp))
        g.add_edge(u, v, key=key, from_port=sp, to_port=dp)
    return g


def plain_from_router(router: Router, file: str, flat: bool = True, consume: bool = False) -> PlainGraph:
    """:func:`from_router` as a :class:`PlainGraph`.  Nodes are added as networkx adds them: a name given
    twice keeps its first place and gains the later attributes, and a connection to an element that is not a
    node adds it, without attributes."""
    g = PlainGraph(_graph_attributes(router, file, flat))
    conns = _live_connections(router)
    for name, attrs in _node_attributes(router, flat, consume):
        g.nodes.setdefault(name, {}).update(attrs)
    for u, v, sp, dp in conns:
        g.nodes.setdefault(u, {})
        g.nodes.setdefault(v, {})
        g.edges.add((u, sp, v, dp))
    return g


def elements(g: nx.MultiDiGraph | PlainGraph) -> Iterable[tuple[str, dict[str, Any]]]:
    """Every element's name and attributes, in node order."""
    return g.nodes.items() if isinstance(g, PlainGraph) else g.nodes(data=True)


def connections(g: nx.MultiDiGraph | PlainGraph) -> list[Conn]:
    """All connections, sorted by source element order, then ports."""
    order = {n: i for i, n in enumerate(g.nodes)}
    if isinstance(g, PlainGraph):
        out = list(g.edges)
    else:
        out = [(u, d["from_port"], v, d["to_port"]) for u, v, d in g.edges(data=True)]
    out.sort(key=lambda c: (order[c[0]], c[1], order[c[2]], c[3]))
    return out


def to_json(g: nx.MultiDiGraph | PlainGraph) -> dict[str, Any]:
    return {
        "elements": [
            {"name": n, "class": d["klass"], "config": d["config"], "file": d["file"], "line": d["line"]}
            for n, d in elements(g)
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
