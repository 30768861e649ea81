"""Partition: which of a network's elements run in the shared kernel Click, which in its container.

Decides, per element instance of one checked network:

* ``kernel`` when its class has a fresh ``kernel`` record (and the budget
  does not force it out: :mod:`merge.tasks`); ``user`` when the record says
  ``userspace`` or the element was forced out; the merge is refused (MN301,
  MN302) when the record is missing, stale, invalid, ``reject`` or
  ``error``.  FromDevice/PollDevice/ToDevice are not placed: the merger
  replaces them with GRE decapsulation and encapsulation in the kernel.
* a *channel* for every connection the partition cuts, built from stock
  Click elements and keeping the edge's ports and packet order, one channel
  per cut edge:

  - ``--target linuxmodule``: one host device per edge, created by the kernel
    side.  Kernel to user: ``[Unqueue] -> EtherEncap(0x88b5, ...) ->
    ToHost(dev)`` in the kernel, ``FromDevice(dev, PROMISC true) -> Strip(14)
    -> [Queue]`` in the container.  User to kernel: ``[Queue] ->
    EtherEncap(0x88b5, ...) -> ToDevice(dev)`` in the container,
    ``FromHost(dev) -> Strip(14) -> [Queue]`` in the kernel.  The 14-byte
    header (IEEE local experimental EtherType 0x88b5) lets any packet, not
    only Ethernet frames, cross the host stack; it is removed on the other
    side.  Host devices are what kernel Click offers to exchange packets with
    user space without new kernel code; one device per edge keeps each
    edge's order and needs no demultiplexing.
  - ``--target userlevel``: a Unix datagram socket per edge (ordered,
    reliable on Linux): ``Socket(UNIX_DGRAM, path, CLIENT true)`` on the
    sending side, ``Socket(UNIX_DGRAM, path)`` on the receiving side; a
    Queue before a sending socket so that the master never blocks on a slow
    container.

  The bracketed Unqueue/Queue appear only where push meets pull (resolved on
  the uncut graph, so both sides keep the processing they had).  Device
  names (``ck`` + 6 hex digits of the network name's SHA-1 + ``x`` + edge
  number, at most 15 characters) and socket paths are per network and per
  edge; a collision between networks is refused.  Packet annotations do not
  cross a channel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from certify.findings import Finding, make_finding
from element_db.store import Database
from merge import rules
from merge.checks import NetworkResult
from merge.policy import Policy
from merge.ports import resolve_processing

CHANNEL_ETHERTYPE = "0x88b5"
CHANNEL_MACS = "02:00:00:00:00:01, 02:00:00:00:00:02"
SOCKET_DIR = "/run/certify"


@dataclass
class Placement:
    network: str
    side: dict[str, str] = field(default_factory=dict)  # element -> "kernel" | "user" | "device"
    reasons: dict[str, str] = field(default_factory=dict)

    def user_elements(self) -> list[str]:
        return [e for e, s in self.side.items() if s == "user"]


@dataclass
class Channel:
    network: str
    index: int
    direction: str  # "to_user" or "to_kernel"
    endpoint: str  # device name or socket path
    source: tuple[str, int]  # (element, output port) in the network graph
    target: tuple[str, int]  # (element, input port)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "direction": self.direction,
            "endpoint": self.endpoint,
            "from": self.source[0],
            "from_port": self.source[1],
            "to": self.target[0],
            "to_port": self.target[1],
        }


@dataclass
class Split:
    """A network cut in two: the kernel part (to merge) and the user part (user.click)."""

    network: str
    kernel: nx.MultiDiGraph
    user: nx.MultiDiGraph
    channels: list[Channel]


def place(
    result: NetworkResult,
    db: Database,
    policy: Policy,
    forced_user: Mapping[str, str],
    source_root: str | None = None,
) -> tuple[Placement, list[Finding]]:
    """Place every element of a checked network; findings are refusals (errors) and moves (warnings)."""
    g = result.graph
    assert g is not None
    name = result.network.name
    pl = Placement(name)
    findings: list[Finding] = []
    statuses: dict[str, Any] = {}
    for e, d in g.nodes(data=True):
        klass = d["klass"]
        where = (d["file"], d["line"], d["column"])
        if klass in policy.device_classes:
            pl.side[e] = "device"
            pl.reasons[e] = "replaced by the platform's GRE decapsulation or encapsulation"
            continue
        st = statuses.get(klass)
        if st is None:
            st = statuses[klass] = db.status(klass, source_root)
        common = {"element": e, "network": name, "klass": klass, "symbol": klass}
        if st.state != "fresh" or st.record is None:
            findings.append(make_finding(rules.UNCERTIFIED_ELEMENT, *where, reason=f"{st.state} record: {st.reason}", **common))
            continue
        verdict = st.record["verdict"]
        why = "; ".join(st.record.get("reasons", [])[:2]) or verdict
        if verdict in ("reject", "error"):
            reason = why if verdict == "reject" else f"not analyzable: {why}"
            findings.append(make_finding(rules.REJECTED_ELEMENT, *where, reason=reason, **common))
            continue
        if e in forced_user:
            pl.side[e] = "user"
            pl.reasons[e] = forced_user[e]
            findings.append(make_finding(rules.MOVED_TO_USER, *where, reason=forced_user[e], **common))
        elif verdict == "userspace":
            pl.side[e] = "user"
            pl.reasons[e] = f"class {klass} is certified for user space only: {why}"
        else:
            pl.side[e] = "kernel"
            pl.reasons[e] = f"class {klass} is certified for the kernel"
    return pl, findings


def channel_device(network: str, index: int) -> str:
    return f"ck{hashlib.sha1(network.encode()).hexdigest()[:6]}x{index}"


def cut(
    result: NetworkResult,
    placement: Placement,
    metadata: Mapping[str, Mapping[str, str]],
    target: str,
) -> Split:
    """The kernel graph (with channel ends) and the user graph (with channel ends) of a network."""
    g = result.graph
    assert g is not None
    name = result.network.name
    resolved = resolve_processing(g, metadata)
    side = {e: ("kernel" if s == "device" else s) for e, s in placement.side.items()}
    kernel = nx.MultiDiGraph()
    user = nx.MultiDiGraph()
    for e, d in g.nodes(data=True):
        (user if side[e] == "user" else kernel).add_node(e, **d)
    channels: list[Channel] = []
    for u, v, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[2]["from_port"], x[1], x[2]["to_port"])):
        fp, tp = d["from_port"], d["to_port"]
        if side[u] == side[v]:
            (user if side[u] == "user" else kernel).add_edge(u, v, key=(fp, tp), from_port=fp, to_port=tp)
            continue
        k = len(channels)
        direction = "to_user" if side[u] == "kernel" else "to_kernel"
        endpoint = channel_device(name, k) if target == "linuxmodule" else f"{SOCKET_DIR}/{name}/ch{k}.sock"
        ch = Channel(name, k, direction, endpoint, (u, fp), (v, tp))
        channels.append(ch)
        src_g, dst_g = (kernel, user) if direction == "to_user" else (user, kernel)
        src_pull = resolved.get((u, "o", fp)) == "l"
        dst_pull = resolved.get((v, "i", tp)) == "l"
        _sender(src_g, ch, u, fp, src_pull, target, g.nodes[u])
        _receiver(dst_g, ch, v, tp, dst_pull, target, g.nodes[v])
    return Split(name, kernel, user, channels)


def _node(g: nx.MultiDiGraph, name: str, klass: str, config: str, at: Mapping[str, Any], reason: str) -> str:
    g.add_node(name, klass=klass, config=config, file=at["file"], line=at["line"], column=at["column"],
               origin="platform", reason=reason)
    return name


def _edge(g: nx.MultiDiGraph, u: str, fp: int, v: str, tp: int) -> None:
    g.add_edge(u, v, key=(fp, tp), from_port=fp, to_port=tp)


def _sender(g: nx.MultiDiGraph, ch: Channel, u: str, fp: int, pull: bool, target: str, at: Mapping[str, Any]) -> None:
    pre = f"_platform/ch{ch.index}"
    why = f"channel {ch.index} ({ch.direction.replace('_', ' ')}): "
    last, lp = u, fp
    in_kernel = ch.direction == "to_user"
    if target == "linuxmodule":
        if in_kernel:
            if pull:  # ToHost is push: a task pulls for it
                last, lp = _node(g, f"{pre}/unqueue", "Unqueue", "", at, why + "pulls for the channel"), 0
                _edge(g, u, fp, last, 0)
            enc = _node(g, f"{pre}/encap", "EtherEncap", f"{CHANNEL_ETHERTYPE}, {CHANNEL_MACS}", at,
                        why + "a header the host stack accepts")
            _edge(g, last, lp, enc, 0)
            to = _node(g, f"{pre}/to", "ToHost", ch.endpoint, at, why + f"to the container through {ch.endpoint}")
            _edge(g, enc, 0, to, 0)
        else:
            if not pull:  # ToDevice pulls: queue what is pushed
                last, lp = _node(g, f"{pre}/queue", "Queue", "", at, why + "holds packets for the channel"), 0
                _edge(g, u, fp, last, 0)
            enc = _node(g, f"{pre}/encap", "EtherEncap", f"{CHANNEL_ETHERTYPE}, {CHANNEL_MACS}", at,
                        why + "a header the host stack accepts")
            _edge(g, last, lp, enc, 0)
            to = _node(g, f"{pre}/to", "ToDevice", ch.endpoint, at, why + f"to the kernel through {ch.endpoint}")
            _edge(g, enc, 0, to, 0)
    else:
        if in_kernel and not pull:  # never block the master on a slow container
            last, lp = _node(g, f"{pre}/queue", "Queue", "", at, why + "decouples the master from the container"), 0
            _edge(g, u, fp, last, 0)
        sock = _node(g, f"{pre}/to", "Socket", f"UNIX_DGRAM, {ch.endpoint}, CLIENT true", at,
                     why + f"sends through {ch.endpoint}")
        _edge(g, last, lp, sock, 0)


def _receiver(g: nx.MultiDiGraph, ch: Channel, v: str, tp: int, pull: bool, target: str, at: Mapping[str, Any]) -> None:
    pre = f"_platform/ch{ch.index}"
    why = f"channel {ch.index} ({ch.direction.replace('_', ' ')}): "
    in_kernel = ch.direction == "to_kernel"
    if target == "linuxmodule":
        if in_kernel:
            first = _node(g, f"{pre}/from", "FromHost", ch.endpoint, at,
                          why + f"creates {ch.endpoint}, receives from the container")
        else:
            first = _node(g, f"{pre}/from", "FromDevice", f"{ch.endpoint}, PROMISC true", at,
                          why + f"receives from the kernel through {ch.endpoint}")
        strip = _node(g, f"{pre}/strip", "Strip", "14", at, why + "removes the channel header")
        _edge(g, first, 0, strip, 0)
        last = strip
    else:
        last = _node(g, f"{pre}/from", "Socket", f"UNIX_DGRAM, {ch.endpoint}", at, why + f"receives on {ch.endpoint}")
    if pull:
        q = _node(g, f"{pre}/rqueue", "Queue", "", at, why + "a pull input meets the push channel")
        _edge(g, last, 0, q, 0)
        last = q
    _edge(g, last, 0, v, tp)
