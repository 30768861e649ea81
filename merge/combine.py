"""The merge: many checked networks, one master configuration.

Decides how the networks' flattened graphs and the platform's own elements
become one Click configuration (every element it adds is a stock Click class,
except VSStaticThreadSched with ``accounting: vserver``):

Ingress, per physical device P that carries tunnels::

    platform/P/from :: FromDevice(P)            receive
      -> platform/P/ether :: Classifier(12/0800, -)       IPv4 only
      -> platform/P/strip :: Strip(14)                   outer Ethernet off
      -> platform/P/checkip :: CheckIPHeader             outer IP checked
      -> platform/P/gre :: Classifier(<one pattern per tunnel>, -)
    each pattern: IPv4 without options (0/45), protocol GRE (9/2f), outer
    source (12/...) = the tunnel's remote end, outer destination (16/...) =
    P's address, GRE flags and protocol (20/0000 22/6558, or 20/2000 with the
    key at 24/...).  With more tunnels on P than the platform's
    ``dispatch_leaf``, ``platform/P/gre`` is the root of a tree
    (:func:`dispatch_tree`): inner Classifiers route on one byte of the outer
    header (``platform/P/gre/vXX/...``), each leaf compares at most
    ``dispatch_leaf`` full patterns, so the worst walk grows with the tree's
    depth, not with the number of tunnels; plan.json's ``dispatch`` lists the
    levels and their costs.  A matching packet is handed over to its network:
    ``N/_platform/V/inbox :: Queue`` ends the platform's receive task, and
    the network's own task ``N/_platform/V/recv :: Unqueue`` (on the
    network's thread) runs ``N/_platform/V/decap :: Strip(24 or 28)`` (outer
    IP and GRE off; ``MarkIPHeader`` after it for IP tunnels) and from there
    wherever the network's FromDevice(V) or PollDevice(V) sent its packets.
    So a network's kernel tasks cost what its own configuration costs, and
    the dispatch task's cost depends on the dispatch alone.  Everything else
    (not IPv4, bad header, no tunnel) is counted (``platform/P/unmatched``,
    ``platform/P/bad``) and dropped (``platform/sink``).

Egress, per network N: the network's ToDevice elements are removed; what
they pulled from is pulled by one ``N/_platform/out`` task --
``BandwidthRatedUnqueue(bandwidth)`` (or ``Unqueue`` when no limit is set);
with several ToDevices, each is first painted (``Paint(i)``) and joined by a
``RoundRobinSched``, and a ``PaintSwitch`` after the task separates them
again.  Each virtual device V gets an encapsulation chain: ``Unstrip(4 or
8) -> StoreData(0, GRE header) -> IPEncap(47, local, remote) ->
EtherEncap(0x0800, P's Ethernet address, gateway)`` into
``platform/P/queue :: Queue`` and ``platform/P/to :: ToDevice(P)``.

Scheduling: network N (in name order) gets thread N's index + 1; its task
elements are placed there by ``platform/threads :: StaticThreadSched``; CPU
shares go to ``platform/shares :: ScheduleInfo`` (by network prefix); with
``accounting: vserver``, ``platform/contexts :: VSStaticThreadSched(THREAD
CONTEXT, ...)`` pairs each thread with the network's accounting context.

Names: a network's element ``x`` becomes ``N/x``; what the merger adds for N
is ``N/_platform/...`` (a name the checks refuse in a network's own
configuration); the rest is ``platform/...`` (``platform`` is not a valid
network name).  Output is deterministic: networks, devices and elements in a
fixed order.  A network's section is built on its own (:func:`build_network`)
and copied in: adding or removing a network changes its own section and the
platform lines that name it (its tunnel's pattern, its port on the
dispatcher, its thread), never another network's section.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from merge.checks import RESERVED, NetworkResult, device_argument
from merge.lang.errors import Location
from merge.policy import Policy
from merge.system import Network, System, VirtualDevice

TARGETS = ("linuxmodule", "userlevel")


@dataclass
class Section:
    title: str
    nodes: list[str] = field(default_factory=list)
    edges: list[tuple[str, int, str, int]] = field(default_factory=list)


@dataclass
class Master:
    graph: nx.MultiDiGraph
    sections: list[Section]
    plan: dict[str, Any]
    target: str


def _hex_ip(addr: str) -> str:
    return ipaddress.IPv4Address(addr).packed.hex()


def gre_header(dev: VirtualDevice) -> bytes:
    flags = 0x2000 if dev.tunnel.key is not None else 0
    head = flags.to_bytes(2, "big") + dev.gre_protocol.to_bytes(2, "big")
    if dev.tunnel.key is not None:
        head += dev.tunnel.key.to_bytes(4, "big")
    return head


def gre_pattern(dev: VirtualDevice) -> str:
    """The Classifier pattern (offsets from the outer IP header) of a tunnel's packets."""
    h = gre_header(dev).hex()
    parts = ["0/45", "9/2f", f"12/{_hex_ip(dev.tunnel.remote)}", f"16/{_hex_ip(dev.tunnel.local)}", f"20/{h[:8]}"]
    if dev.tunnel.key is not None:
        parts.append(f"24/{h[8:]}")
    return " ".join(parts)


class _Builder:
    def __init__(self, system: System, target: str) -> None:
        self.system = system
        self.target = target
        self.g = nx.MultiDiGraph()
        self.sections: list[Section] = []
        self.current: Section | None = None
        self.elements: dict[str, dict[str, Any]] = {}

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        self.current = s
        return s

    def add(self, name: str, klass: str, config: str, where: Location, reason: str, network: str | None) -> str:
        assert name not in self.g, name
        self.g.add_node(name, klass=klass, config=config, file=where.file, line=where.line, column=where.column)
        assert self.current is not None
        self.current.nodes.append(name)
        self.elements[name] = {"network": network, "origin": "platform", "reason": reason,
                               "file": where.file, "line": where.line}
        return name

    def connect(self, u: str, up: int, v: str, vp: int, section: Section | None = None) -> None:
        key = (up, vp)
        if self.g.has_edge(u, v, key):
            return
        self.g.add_edge(u, v, key=key, from_port=up, to_port=vp)
        (section or self.current or self.sections[-1]).edges.append((u, up, v, vp))


@dataclass
class NetworkPart:
    """One network's section of the master, built on its own: the merge copies it in unchanged.

    ``graph`` holds the section's elements and, as boundary nodes that are not copied, the platform queues its
    encapsulation pushes into (so its tasks can be costed alone); ``entries`` says, per virtual device, which
    element the dispatcher hands that tunnel's packets to (None: the network does not read the device, its
    packets are counted as unmatched)."""

    name: str
    section: Section
    graph: nx.MultiDiGraph
    elements: dict[str, dict[str, Any]]
    tasks: list[str]
    entries: dict[str, str | None]
    boundary: frozenset[str]


@dataclass(frozen=True)
class DispatchNode:
    """One Classifier of a physical device's GRE dispatch tree: its patterns in order (the last is ``-``, to
    the unmatched counter) and, per pattern, the child node it routes to or the tunnel (index into the device's
    tunnels) it selects."""

    name: str
    level: int
    patterns: tuple[str, ...]
    outputs: tuple[DispatchNode | int, ...]


def _pattern_bytes(dev: VirtualDevice) -> dict[int, int]:
    out: dict[int, int] = {}
    for term in gre_pattern(dev).split():
        off, val = term.split("/")
        for k in range(len(val) // 2):
            out[int(off) + k] = int(val[2 * k: 2 * k + 2], 16)
    return out


def dispatch_tree(name: str, devices: list[VirtualDevice], leaf: int) -> DispatchNode:
    """The Classifier tree that sends each tunnel's packets to it, as selective as one Classifier of all the
    tunnels' full patterns: a leaf compares full patterns (at most ``leaf`` of them, in the given order); an
    inner node routes on the one byte of the outer header that every tunnel below it constrains and that takes
    the most distinct values there.  A packet reaches a tunnel's output only if it matches that tunnel's full
    pattern (the routing bytes are part of it), and two tunnels whose patterns could match the same packet
    agree on every routing byte, so they meet in the same leaf, in their original order."""
    return _subtree(name, [(i, _pattern_bytes(d), gre_pattern(d)) for i, d in enumerate(devices)], leaf, 0)


def _subtree(name: str, items: list[tuple[int, dict[int, int], str]], leaf: int, level: int) -> DispatchNode:
    def make_leaf() -> DispatchNode:
        return DispatchNode(name, level, tuple(p for _, _, p in items) + ("-",), tuple(i for i, _, _ in items))

    if len(items) <= leaf:
        return make_leaf()
    common = set(items[0][1]).intersection(*(set(b) for _, b, _ in items[1:]))
    spread = sorted(((len({b[o] for _, b, _ in items}), -o) for o in common), reverse=True)
    if not spread or spread[0][0] < 2:
        return make_leaf()  # no byte tells these tunnels apart
    off = -spread[0][1]
    groups: dict[int, list[tuple[int, dict[int, int], str]]] = {}
    for it in items:
        groups.setdefault(it[1][off], []).append(it)
    # consecutive values share a child while their tunnels fit in one leaf; a larger group gets a subtree
    bins: list[list[int]] = []
    for val in sorted(groups):
        last = bins[-1] if bins else None
        if last is not None and len(groups[val]) <= leaf and sum(len(groups[v]) for v in last) + len(groups[val]) <= leaf \
                and all(len(groups[v]) <= leaf for v in last):
            last.append(val)
        else:
            bins.append([val])
    outputs: list[DispatchNode] = []
    for b in bins:
        members = sorted((it for v in b for it in groups[v]), key=lambda it: it[0])  # the tunnels' own order
        child = _subtree(f"{name}/v{b[0]:02x}", members, leaf, level + 1)
        outputs.extend([child] * len(b))
    patterns = tuple(f"{off}/{val:02x}" for val in sorted(groups)) + ("-",)
    return DispatchNode(name, level, patterns, tuple(outputs))


def dispatch_nodes(root: DispatchNode) -> list[DispatchNode]:
    """Every Classifier of a dispatch tree, root first, depth first in pattern order."""
    out = [root]
    for i, o in enumerate(root.outputs):
        if isinstance(o, DispatchNode) and (i == 0 or root.outputs[i - 1] is not o):
            out.extend(dispatch_nodes(o))
    return out


def build_network(system: System, r: NetworkResult, graph: nx.MultiDiGraph, policy: Policy,
                  target: str = "linuxmodule") -> NetworkPart:
    """One network's section (``graph``: its flattened graph, or its kernel part with its channel ends)."""
    n = r.network
    b = _Builder(system, target)
    section = b.section(f"network {n.name} (config {n.config_as_written})")
    boundary = []
    for p in sorted({v.physical for v in n.devices.values()}):
        name = f"platform/{p}/queue"
        b.g.add_node(name, klass="Queue", config=str(system.platform.queue_capacity), file=system.path, line=1,
                     column=1)
        b.elements[name] = {"network": None, "origin": "platform", "reason": f"joins every network's packets for {p}",
                            "file": system.path, "line": 1}
        boundary.append(name)
    tasks: list[str] = []
    entries: dict[str, str | None] = {}
    _add_network(b, system, r, graph, policy, entries, tasks)
    return NetworkPart(n.name, section, b.g, b.elements, tasks, entries, frozenset(boundary))


def merge_networks(
    system: System,
    results: list[NetworkResult],
    policy: Policy,
    target: str = "linuxmodule",
    kernel_graphs: dict[str, nx.MultiDiGraph] | None = None,
    parts: dict[str, NetworkPart] | None = None,
) -> Master:
    """Build the master configuration from networks that passed their checks.

    ``kernel_graphs`` replaces a network's graph by its kernel part (with its
    channel ends) when the network was partitioned; ``parts`` gives networks'
    sections already built (:func:`build_network`), copied in as they are.
    """
    assert target in TARGETS
    b = _Builder(system, target)
    sysloc = Location(system.path, 1, 1)
    networks = sorted(results, key=lambda r: r.network.name)
    for r in networks:
        assert r.graph is not None and r.ok, r.network.name

    # tunnels per physical device, in (network, device) order
    tunnels: dict[str, list[tuple[Network, VirtualDevice]]] = {p: [] for p in system.physical}
    for r in networks:
        for v in sorted(r.network.devices.values(), key=lambda d: d.name):
            tunnels[v.physical].append((r.network, v))

    # -- platform: ingress and transmit per physical device ----------------------------------
    dispatch: dict[tuple[str, str], tuple[str, int]] = {}  # (network, vdev) -> (classifier, port)
    trees: dict[str, Any] = {}
    used = [p for p in system.physical if tunnels[p]]
    b.section("platform: drop")
    sink = b.add("platform/sink", "Discard", "", sysloc, "drops what no network receives", None)
    for p in used:
        ph = system.physical[p]
        where = system.location("physical", p)
        b.section(f"platform: physical device {p} ({ph.address})")
        pref = f"platform/{p}"
        from_cfg = f"{p}, SNIFFER false" if target == "userlevel" else p
        b.add(f"{pref}/from", "FromDevice", from_cfg, where, f"receives from physical device {p}", None)
        b.add(f"{pref}/ether", "Classifier", "12/0800, -", where, "passes IPv4 frames", None)
        b.add(f"{pref}/strip", "Strip", "14", where, "removes the outer Ethernet header", None)
        b.add(f"{pref}/checkip", "CheckIPHeader", "", where, "checks the outer IP header", None)
        root = dispatch_tree(f"{pref}/gre", [v for _, v in tunnels[p]], system.platform.dispatch_leaf)
        nodes = dispatch_nodes(root)
        for dn in nodes:
            why = ("sends each tunnel's GRE packets to its network (outer destination, source, key)"
                   if all(isinstance(o, int) for o in dn.outputs) else
                   f"routes GRE packets toward their tunnel's Classifier by byte {dn.patterns[0].split('/')[0]} of "
                   "the outer header")
            b.add(dn.name, "Classifier", ", ".join(dn.patterns), where, why, None)
        b.add(f"{pref}/unmatched", "Counter", "", where, "counts packets of no tunnel (not IPv4, not GRE, unknown)", None)
        b.add(f"{pref}/bad", "Counter", "", where, "counts packets with a bad outer IP header", None)
        b.add(f"{pref}/queue", "Queue", str(system.platform.queue_capacity), where,
              f"joins every network's packets for {p}", None)
        b.add(f"{pref}/to", "ToDevice", p, where, f"transmits on physical device {p}", None)
        b.connect(f"{pref}/from", 0, f"{pref}/ether", 0)
        b.connect(f"{pref}/ether", 0, f"{pref}/strip", 0)
        b.connect(f"{pref}/ether", 1, f"{pref}/unmatched", 0)
        b.connect(f"{pref}/strip", 0, f"{pref}/checkip", 0)
        b.connect(f"{pref}/checkip", 0, root.name, 0)
        b.connect(f"{pref}/checkip", 1, f"{pref}/bad", 0)
        for dn in nodes:
            for port, o in enumerate(dn.outputs):
                if isinstance(o, DispatchNode):
                    b.connect(dn.name, port, o.name, 0)
                else:
                    net, dev = tunnels[p][o]
                    dispatch[(net.name, dev.name)] = (dn.name, port)
            b.connect(dn.name, len(dn.outputs), f"{pref}/unmatched", 0)
        b.connect(f"{pref}/unmatched", 0, sink, 0)
        b.connect(f"{pref}/bad", 0, sink, 0)
        b.connect(f"{pref}/queue", 0, f"{pref}/to", 0)
        levels: dict[int, list[str]] = {}
        for dn in nodes:
            levels.setdefault(dn.level, []).append(dn.name)
        trees[p] = {"tunnels": len(tunnels[p]), "leaf": system.platform.dispatch_leaf,
                    "levels": [{"level": lv, "classifiers": names} for lv, names in sorted(levels.items())]}

    # -- networks ---------------------------------------------------------------------------
    plan_networks: dict[str, Any] = {}
    tasks: list[tuple[str, int]] = []
    pending_dispatch: list[tuple[str, int, str]] = []
    for thread, r in enumerate(networks, start=1):
        n = r.network
        part = (parts or {}).get(n.name)
        if part is None:
            part = build_network(system, r, (kernel_graphs or {}).get(n.name, r.graph), policy, target)
        b.sections.append(Section(part.section.title, list(part.section.nodes), list(part.section.edges)))
        for e in part.section.nodes:
            b.g.add_node(e, **part.graph.nodes[e])
            b.elements[e] = dict(part.elements[e])
        for a, ap, z, zp in part.section.edges:
            b.g.add_edge(a, z, key=(ap, zp), from_port=ap, to_port=zp)
        tasks.extend((t, thread) for t in part.tasks)
        for v in sorted(n.devices.values(), key=lambda d: d.name):
            cls, port = dispatch[(n.name, v.name)]
            pending_dispatch.append((cls, port, part.entries[v.name] or f"platform/{v.physical}/unmatched"))
        plan_networks[n.name] = {
            "thread": thread,
            "config": n.config,
            "uid": n.uid,
            "context": n.context,
            "cpu_share": n.cpu_share,
            "bandwidth": n.bandwidth,
            "devices": {
                v.name: {"physical": v.physical, "inner": v.inner, "local": v.tunnel.local, "remote": v.tunnel.remote,
                         "key": v.tunnel.key, "gre_protocol": f"0x{v.gre_protocol:04x}"}
                for v in sorted(n.devices.values(), key=lambda d: d.name)
            },
        }

    # -- dispatch: each tunnel's classifier port to its network's hand-over queue --------------
    b.section("platform: dispatch of tunnels to networks")
    for cls, port, dest in sorted(pending_dispatch, key=lambda x: (x[0], x[1])):
        b.connect(cls, port, dest, 0)

    # -- scheduling ---------------------------------------------------------------------------
    b.section("platform: scheduling")
    if tasks:
        b.add("platform/threads", "StaticThreadSched", ", ".join(f"{e} {t}" for e, t in tasks), sysloc,
              "places each network's tasks on the network's own thread", None)
    shares = [(r.network.name, r.network.cpu_share) for r in networks if r.network.cpu_share is not None]
    if shares:
        b.add("platform/shares", "ScheduleInfo", ", ".join(f"{nm} {s:g}" for nm, s in shares), sysloc,
              "gives each network its CPU share", None)
    if system.platform.accounting == "vserver":
        pairs = ", ".join(f"{t} {r.network.context}" for t, r in enumerate(networks, start=1))
        b.add("platform/contexts", "VSStaticThreadSched", pairs, sysloc,
              "charges each network's thread to its accounting context (vserver)", None)

    plan = {
        "version": 1,
        "target": target,
        "system": system.path,
        "threads": len(networks) + 1,
        "physical": {
            p: {"used": p in used, "tunnels": [f"{n.name}.{v.name}" for n, v in tunnels[p]]} for p in system.physical
        },
        "dispatch": trees,
        "networks": plan_networks,
        "elements": {k: b.elements[k] for k in b.g.nodes},
    }
    return Master(b.g, b.sections, plan, target)


def _add_network(
    b: _Builder,
    system: System,
    r: NetworkResult,
    g: nx.MultiDiGraph,
    policy: Policy,
    entries: dict[str, str | None],
    tasks: list[str],
) -> None:
    n = r.network
    prefix = n.name + "/"
    plat = f"{n.name}/{RESERVED}"
    sources: dict[str, str] = {}  # element -> device
    sinks: list[tuple[str, str]] = []  # (element, device)
    for e, d in g.nodes(data=True):
        role = policy.device_classes.get(d["klass"])
        if role is not None and d.get("origin") != "platform":  # a channel's own device elements stay as they are
            dev = device_argument(d["config"])
            assert dev is not None and dev in n.devices
            if role == "source":
                sources[e] = dev
            else:
                sinks.append((e, dev))
    # the network's own elements, renamed
    for e, d in g.nodes(data=True):
        if e in sources or any(e == s for s, _ in sinks):
            continue
        name = prefix + e
        b.add(name, d["klass"], d["config"], Location(d["file"], d["line"], d["column"]),
              d.get("reason", "the network's own element"), n.name)
        if d.get("origin", "network") == "network":
            b.elements[name].update({"origin": "network", "original": e, "column": d["column"]})
        if d["klass"] in policy.task_classes:
            tasks.append(name)
    # ingress: dispatcher -> hand-over queue -> the network's receive task -> decap -> what its FromDevice fed
    for v in sorted(n.devices.values(), key=lambda d: d.name):
        where = system.location("networks", n.name, "devices", v.name)
        readers = [e for e, dev in sources.items() if dev == v.name]
        if not readers:  # the network does not read this device: its packets are dropped, counted
            entries[v.name] = None
            continue
        inbox = b.add(f"{plat}/{v.name}/inbox", "Queue", str(system.platform.queue_capacity), where,
                      f"hands {n.name}'s packets from {v.name} over from the platform's dispatch", n.name)
        recv = b.add(f"{plat}/{v.name}/recv", "Unqueue", "", where,
                     f"runs {n.name}'s receive path from {v.name} on the network's own thread", n.name)
        tasks.append(recv)
        entries[v.name] = inbox
        decap = b.add(f"{plat}/{v.name}/decap", "Strip", str(20 + len(gre_header(v))), where,
                      f"removes the outer IP and GRE headers of {n.name}'s device {v.name}", n.name)
        b.connect(inbox, 0, recv, 0)
        b.connect(recv, 0, decap, 0)
        last = decap
        if v.inner == "ip":
            last = b.add(f"{plat}/{v.name}/mark", "MarkIPHeader", "", where,
                         f"marks the inner IP header of {n.name}'s device {v.name}", n.name)
            b.connect(decap, 0, last, 0)
        reader = readers[0]
        b.elements[decap]["replaces"] = reader
        for _, w, d in sorted(g.out_edges(reader, data=True), key=lambda x: (x[2]["from_port"], x[1], x[2]["to_port"])):
            b.connect(last, d["from_port"], prefix + w, d["to_port"])
    # the network's own connections
    for u, w, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[2]["from_port"], x[1], x[2]["to_port"])):
        if u in sources or w in sources or any(w == s for s, _ in sinks):
            continue
        b.connect(prefix + u, d["from_port"], prefix + w, d["to_port"])
    # egress
    if not sinks:
        return
    sinks.sort()
    nwhere = system.location("networks", n.name)
    if n.bandwidth:
        out = b.add(f"{plat}/out", "BandwidthRatedUnqueue", n.bandwidth, nwhere,
                    f"sends {n.name}'s packets at most at {n.bandwidth}", n.name)
    else:
        out = b.add(f"{plat}/out", "Unqueue", "", nwhere, f"sends {n.name}'s packets", n.name)
    tasks.append(out)
    encaps: dict[str, str] = {}
    for vname in sorted({dev for _, dev in sinks}):
        vd = n.devices[vname]
        ph = system.physical[vd.physical]
        where = system.location("networks", n.name, "devices", vname)
        head = gre_header(vd)
        e1 = b.add(f"{plat}/{vname}/gre", "Unstrip", str(len(head)), where, f"makes room for the GRE header of {vname}", n.name)
        e2 = b.add(f"{plat}/{vname}/greheader", "StoreData", "0, \\<" + head.hex() + ">", where,
                   f"writes the GRE header of {vname} (protocol 0x{vd.gre_protocol:04x}"
                   + (f", key {vd.tunnel.key})" if vd.tunnel.key is not None else ")"), n.name)
        e3 = b.add(f"{plat}/{vname}/ip", "IPEncap", f"47, {vd.tunnel.local}, {vd.tunnel.remote}", where,
                   f"adds the outer IP header of {vname}'s tunnel", n.name)
        e4 = b.add(f"{plat}/{vname}/ether", "EtherEncap", f"0x0800, {ph.ether}, {ph.gateway_ether}", where,
                   f"adds the outer Ethernet header on {vd.physical}", n.name)
        b.connect(e1, 0, e2, 0)
        b.connect(e2, 0, e3, 0)
        b.connect(e3, 0, e4, 0)
        b.connect(e4, 0, f"platform/{vd.physical}/queue", 0)
        encaps[vname] = e1
    if len(sinks) == 1:
        s, dev = sinks[0]
        b.elements[out]["replaces"] = s
        for u, _, d in sorted(g.in_edges(s, data=True), key=lambda x: (x[0], x[2]["from_port"])):
            b.connect(prefix + u, d["from_port"], out, 0)
        b.connect(out, 0, encaps[dev], 0)
        return
    if len(sinks) > 256:
        raise ValueError(f"network {n.name}: more than 256 ToDevice elements")
    sched = b.add(f"{plat}/sched", "RoundRobinSched", "", nwhere, f"takes turns between {n.name}'s ToDevices", n.name)
    switch = b.add(f"{plat}/switch", "PaintSwitch", "", nwhere, f"separates {n.name}'s devices again", n.name)
    for i, (s, dev) in enumerate(sinks):
        d = g.nodes[s]
        mark = b.add(f"{plat}/mark{i}", "Paint", str(i), Location(d["file"], d["line"], d["column"]),
                     f"marks what {n.name}'s {s} sent", n.name)
        b.elements[mark]["replaces"] = s
        for u, _, ed in sorted(g.in_edges(s, data=True), key=lambda x: (x[0], x[2]["from_port"])):
            b.connect(prefix + u, ed["from_port"], mark, 0)
        b.connect(mark, 0, sched, i)
        b.connect(switch, i, encaps[dev], 0)
    b.connect(sched, 0, out, 0)
    b.connect(out, 0, switch, 0)


def master_text(m: Master, header: str = "") -> str:
    """The master configuration as Click text, section by section."""
    out: list[str] = []
    if header:
        out.extend(f"// {line}" for line in header.splitlines())
        out.append("")
    for s in m.sections:
        if not s.nodes and not s.edges:
            continue
        out.append(f"// --- {s.title}")
        for name in s.nodes:
            d = m.graph.nodes[name]
            out.append(f"{name} :: {d['klass']}({d['config']});" if d["config"] else f"{name} :: {d['klass']};")
        for u, up, v, vp in s.edges:
            out.append(f"{u} [{up}] -> [{vp}] {v};")
        out.append("")
    return "\n".join(out)
