"""Port-count and push/pull checks of a flattened router graph, as click-check does.

Decides, from each class's port count (``1/1-2``: one input, one or two
outputs; ``-`` any number, ``N-`` at least N, ``=`` as many outputs as
inputs) and processing (``h`` push, ``l`` pull, ``a`` agnostic, per port;
``a/ah`` means agnostic inputs, output 0 agnostic and the rest push), whether
Click would refuse the graph:

* an element uses more ports than its class has, or leaves a port it must
  have unconnected (an element has at least the minimum number of ports);
* a push output meets a pull input, or the reverse, directly or through
  agnostic elements; agnostic ports of one element take one common processing
  (Click's default flow code ``x/x``), and what remains open is push;
* a push output or a pull input has more than one connection.

Classes with no known port count or processing are skipped (a ``note``
finding says so): the certified-element database supplies them later.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import networkx as nx

from certify.core.findings import Finding, make_finding
from merge import rules

_SIDE = re.compile(r"(\d+)(-(\d*))?")
Range = tuple[int, float]


def parse_port_count(spec: str) -> tuple[Range, Range | str] | None:
    """``"1/1-2"`` -> ((1, 1), (1, 2)); ``"="`` as the output side; None if not understood."""
    sides = spec.split("/")
    if len(sides) == 1:
        sides = [sides[0], sides[0]]
    if len(sides) != 2:
        return None

    def side(s: str) -> Range | None:
        if s == "-":
            return (0, math.inf)
        m = _SIDE.fullmatch(s)
        if not m:
            return None
        lo = int(m.group(1))
        if m.group(2) is None:
            return (lo, lo)
        return (lo, int(m.group(3)) if m.group(3) else math.inf)

    inputs = side(sides[0])
    if inputs is None:
        return None
    if sides[1] == "=":
        return inputs, "="
    outputs = side(sides[1])
    if outputs is None:
        return None
    return inputs, outputs


@functools.lru_cache(maxsize=4096)
def parse_processing(spec: str) -> tuple[str, str] | None:
    """``"h/lh"`` -> ("h", "lh"); a code for port i is codes[min(i, len - 1)]."""
    sides = spec.split("/")
    if len(sides) == 1:
        sides = [sides[0], sides[0]]
    if len(sides) != 2 or not all(sides) or not all(set(s) <= set("hla") for s in sides):
        return None
    return sides[0], sides[1]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, str, int], tuple[str, str, int]] = {}

    def find(self, x: tuple[str, str, int]) -> tuple[str, str, int]:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: tuple[str, str, int], b: tuple[str, str, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def check_ports(
    g: nx.MultiDiGraph,
    metadata: Mapping[str, Mapping[str, str]],
    network: str = "",
    name_of: Callable[[str], str] | None = None,
) -> list[Finding]:
    """Findings for every port-count and push/pull problem of ``g`` (empty when Click would accept it)."""
    shown = name_of or (lambda n: n)
    findings: list[Finding] = []

    def add(rule: rules.Rule, n: str, **kw: Any) -> None:
        d = g.nodes[n]
        findings.append(make_finding(rule, d.get("file", ""), d.get("line", 0), d.get("column", 0), element=shown(n),
                                     network=network, **kw))

    ins, outs = _port_tables(g)
    facts: dict[str, tuple[tuple[Range, Range | str] | None, tuple[str, str] | None]] = {}  # by class
    processing: dict[str, tuple[str, str]] = {}
    nports: dict[str, tuple[int, int]] = {}
    for n, d in g.nodes(data=True):
        klass = d["klass"]
        known = facts.get(klass)
        if known is None:
            meta = metadata.get(klass, {})
            known = facts[klass] = (parse_port_count(meta["port_count"]) if "port_count" in meta else None,
                                    parse_processing(meta["processing"]) if "processing" in meta else None)
        pc, proc = known
        if pc is None or proc is None:
            add(rules.UNKNOWN_PORTS, n, name=shown(n), klass=klass)
            continue
        processing[n] = proc
        used_in = max(ins[n], default=-1) + 1
        used_out = max(outs[n], default=-1) + 1
        (ilo, ihi), oside = pc
        if used_in > ihi:
            detail = f"has no input {used_in - 1} (inputs: {_range(ilo, ihi)})"
            add(rules.PORT_COUNT, n, name=shown(n), klass=klass, detail=detail)
            continue
        nin = max(used_in, ilo)
        olo: float
        ohi: float
        if isinstance(oside, str):  # "=": as many outputs as inputs
            olo = ohi = nin
        else:
            olo, ohi = oside
        if used_out > ohi:
            detail = f"has no output {used_out - 1} (outputs: {_range(olo, ohi)})"
            add(rules.PORT_COUNT, n, name=shown(n), klass=klass, detail=detail)
            continue
        nout = max(used_out, int(olo))
        nports[n] = (nin, nout)
        for side, count, table in (("input", nin, ins[n]), ("output", nout, outs[n])):
            for p in range(count):
                if p not in table:
                    add(rules.UNCONNECTED_PORT, n, name=shown(n), klass=klass, side=side, port=p)

    # push/pull: unify agnostic ports per element and the two ends of each connection
    uf, fixed, group_code, conflict = _unify(g, processing, nports, ins, outs)
    word = {"h": "push", "l": "pull"}
    clashes: list[tuple[str, int, str, int]] = []  # connections whose two ends have different fixed processing
    for u, v, d in _connections(g, processing):
        ca, cb = fixed.get((u, "o", d["from_port"])), fixed.get((v, "i", d["to_port"]))
        if ca and cb and ca != cb:
            clashes.append((u, d["from_port"], v, d["to_port"]))
    reported: set[tuple[str, str, int]] = set()
    for u, up, v, vp in sorted(clashes):
        ca, cb = fixed[(u, "o", up)], fixed[(v, "i", vp)]
        add(rules.PUSH_PULL, v, detail=f"{word[ca]} output {shown(u)} [{up}] is connected to "
            f"{word[cb]} input [{vp}] {shown(v)}")
        reported.add(uf.find((u, "o", up)))
    for r in sorted(conflict - reported):
        members = sorted(k for k in uf.parent if uf.find(k) == r and k[0] in processing)
        agn = [k for k in members if k not in fixed] or members
        n = agn[0][0]
        add(rules.PUSH_PULL, n, detail=f"agnostic '{shown(n)}' ({g.nodes[n]['klass']}) is connected to both push "
            "and pull ports")
    # one connection per push output and per pull input
    for n in processing:
        for side, table, kind_of in (("output", outs[n], "o"), ("input", ins[n], "i")):
            for p, peers in table.items():
                if len(peers) < 2:
                    continue
                key = (n, kind_of, p)
                code = fixed.get(key) or group_code.get(uf.find(key), "h")
                if (side == "output" and code == "h") or (side == "input" and code == "l"):
                    add(rules.MULTIPLE_CONNECTIONS, n, name=shown(n), klass=g.nodes[n]["klass"],
                        kind=word[code], side=side, port=p)
    findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule, f.message))
    return findings


Port = tuple[str, str, int]  # (element, "i" or "o", port number)
PortTable = dict[str, dict[int, list[tuple[str, int]]]]  # element -> port -> [(peer, peer's port)]


def _port_tables(g: nx.MultiDiGraph) -> tuple[PortTable, PortTable]:
    """Every element's connected inputs and outputs, in the graph's edge order.  Walks the adjacency dicts
    themselves: a merged master has tens of thousands of connections, and networkx's edge views cost more than
    the walk."""
    ins: PortTable = {n: {} for n in g}
    outs: PortTable = {n: {} for n in g}
    for u, nbrs in g._succ.items():
        out_u = outs[u]
        for v, kd in nbrs.items():
            in_v = ins[v]
            for d in kd.values():
                fp, tp = d["from_port"], d["to_port"]
                out_u.setdefault(fp, []).append((v, tp))
                in_v.setdefault(tp, []).append((u, fp))
    return ins, outs


def _connections(g: nx.MultiDiGraph, processing: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every connection between two elements of known processing, read from the graph's adjacency (no views)."""
    for u, nbrs in g._succ.items():
        if u not in processing:
            continue
        for v, kd in nbrs.items():
            if v in processing:
                for d in kd.values():
                    yield u, v, d


def _unify(
    g: nx.MultiDiGraph,
    processing: Mapping[str, tuple[str, str]],
    nports: Mapping[str, tuple[int, int]],
    ins: Mapping[str, Mapping[int, list[tuple[str, int]]]],
    outs: Mapping[str, Mapping[int, list[tuple[str, int]]]],
) -> tuple[_UnionFind, dict[Port, str], dict[Port, str], set[Port]]:
    """Group ports that must share a processing; return the groups, fixed codes, group codes, conflicts.

    A group's root is its smallest port (:meth:`_UnionFind.union` keeps the smaller root), so the groups, and
    what is reported about them, do not depend on the order of the unions.  A group's code is the code of its
    smallest fixed port (the only one that differs from the others' in a conflicting group)."""
    uf = _UnionFind()
    parent = uf.parent
    fixed: dict[Port, str] = {}
    for n, (icodes, ocodes) in processing.items():
        nin, nout = nports.get(n) or (max(ins[n], default=-1) + 1, max(outs[n], default=-1) + 1)
        anchor = None  # the element's first agnostic port: the smallest, the root of all of them
        for side, codes, count in (("i", icodes, nin), ("o", ocodes, nout)):
            last = len(codes) - 1
            for p in range(count):
                c = codes[p if p < last else last]
                key = (n, side, p)
                if c == "a":
                    if anchor is None:
                        anchor = key
                    parent[key] = anchor
                else:
                    parent[key] = key
                    fixed[key] = c
    for u, v, d in _connections(g, processing):
        uf.union((u, "o", d["from_port"]), (v, "i", d["to_port"]))
    group_code: dict[Port, str] = {}
    conflict: set[Port] = set()
    for key, c in fixed.items():
        r = uf.find(key)
        if group_code.setdefault(r, c) != c:
            conflict.add(r)
    if conflict:
        first: dict[Port, Port] = {}
        for key in fixed:
            r = uf.find(key)
            if r in conflict and (r not in first or key < first[r]):
                first[r] = key
        for r, key in first.items():
            group_code[r] = fixed[key]
    return uf, fixed, group_code, conflict


def resolve_processing(g: nx.MultiDiGraph, metadata: Mapping[str, Mapping[str, str]]) -> dict[Port, str]:
    """Push ("h") or pull ("l") of every port of every element with known processing, as Click resolves it.

    Agnostic ports take their group's fixed processing, push when nothing fixes it.
    """
    ins, outs = _port_tables(g)
    processing: dict[str, tuple[str, str]] = {}
    for n, d in g.nodes(data=True):
        meta = metadata.get(d["klass"], {})
        proc = parse_processing(meta["processing"]) if "processing" in meta else None
        if proc is not None:
            processing[n] = proc
    uf, fixed, group_code, _ = _unify(g, processing, {}, ins, outs)
    return {k: fixed.get(k) or group_code.get(uf.find(k), "h") for k in list(uf.parent)}


def _range(lo: float, hi: float) -> str:
    if hi == math.inf:
        return f"{int(lo)} or more"
    return str(int(lo)) if lo == hi else f"{int(lo)} to {int(hi)}"
