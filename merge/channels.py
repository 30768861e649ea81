"""Channels: how a packet crosses between the kernel master and a network's container, intact.

Decides, for every connection the partition cuts, the elements on both sides,
all stock Click classes, so that the element after the cut sees the packet as
the element before it left it: the same bytes, the same annotations, the same
network header.

What crosses, and how (the rule):

* **Bytes**: the packet's data, exactly.  The frame is ``[14-byte channel
  header][48 bytes: the annotation area][the packet's data]``; the header's
  EtherType is 0x88b5 (IEEE local experimental), so the host stacks on either
  side ignore it and the receiver's ``Classifier(12/88b5, -)`` drops anything
  else a host stack sends on the device (IPv6 neighbour discovery...).
* **The annotation area** (Click's 48 bytes: destination IP, paint, VLAN TCI,
  FIX_IP_SRC, ICMP parameter, aggregate, every user annotation): the sender
  copies it into the frame with ``Unstrip(48)`` and eight
  ``StoreEtherAddress(ANNO 6k, OFFSET 6k)``; the receiver copies it back with
  eight ``GetEtherAddress(ANNO 6k, OFFSET 6k)`` and ``Strip(48)``.
* **The network (IP) header offset** cannot be read by a stock element, so it
  is decided statically: :func:`header_offsets` follows every path from the
  network's devices through the classes of :data:`KEEPS`, :data:`SHIFTS` and
  :data:`SETS` and finds the network header's offset from the packet's first
  byte at every output port: a number, "none" (no header set) or unknown.  A
  known number is re-established by ``MarkIPHeader(offset)`` after the
  channel (which sets the transport header too, as CheckIPHeader did); "none"
  needs nothing.  An unknown offset is never guessed: the partition moves the
  element on the kernel side of that cut into the container as well
  (:func:`unknown_offset_moves`), which moves the cut to where the offset is
  known; a cut in front of a device needs no header (the platform's
  encapsulation sets its own).

Limits (documented, not hidden): the timestamp annotation is re-taken when
the channel's receiver reads the frame (microseconds later); the MAC header
pointer is the channel frame's (stock elements read Ethernet headers from the
data); the packet-type annotation is the channel frame's OTHERHOST, which
stock elements treat as the HOST packets the master's GRE decapsulation gives
(they test only for BROADCAST and MULTICAST).

Endpoints, one per cut edge, so each edge keeps its own order and needs no
demultiplexing:

* ``--target linuxmodule``: a host device ``ck<6 hex of SHA-1(network)>x<k>``
  that kernel Click creates with FromHost; kernel to user is ``ToHost(dev)``
  (the container's ``FromDevice(dev)`` reads it), user to kernel the
  container's ``ToDevice(dev)`` (kernel ``FromHost(dev)`` reads it).
* ``--target userlevel``: a veth pair, ``ck...x<k>`` on the master's side and
  ``ck...y<k>`` in the network's namespace, created once by the platform
  (``channels.sh``) and outliving every container; both sides use
  ``FromDevice``/``ToDevice``.  Unix sockets are not used: Click's Socket
  closes its client descriptor for good on the first refused send (a
  container not yet started, or dead) and asserts in pull mode, so one dead
  container would stop the master.

A dead, stopped or slow container loses only its own packets: a device send
never blocks (the sending ``Queue`` drops when full, a veth or host device
with no reader drops), and a restarted container opens the same device
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from merge.lang import confparse as cp

CHANNEL_ETHERTYPE = "0x88b5"
CHANNEL_MACS = "02:00:00:00:00:01, 02:00:00:00:00:02"
ANNO_BYTES = 48  # Packet::anno_size, the same at user level and in the Linux module
ANNO_CHUNK = 6  # StoreEtherAddress/GetEtherAddress copy six bytes
CHANNEL_OVERHEAD = 14 + ANNO_BYTES
CHANNEL_MTU = 9000  # veth/host device MTU: a 1514-byte frame plus the channel's 62 bytes, with room
SNAPLEN = 65535
UNKNOWN_HEADROOM = 64  # carried when the meaningful headroom is not known statically (extra bytes are harmless)

NONE = "none"  # no network header set
UNKNOWN = "unknown"
UNNEEDED = "not needed"  # unknown, but nothing after the cut reads it before setting it again
Offset = int | str  # an offset from the first byte, NONE or UNKNOWN

# Classes that leave the data's first byte and the network header where they are (they may rewrite
# bytes, annotations or the tail).  Anything not listed here, in SHIFTS or in SETS is UNKNOWN.
KEEPS = frozenset("""
    AggregateIP AverageCounter BandwidthMeter BandwidthRatedSplitter BandwidthRatedUnqueue BandwidthShaper
    CheckCRC32 CheckICMPHeader CheckLength CheckPaint CheckTCPHeader CheckUDPHeader Classifier Counter
    DecIPTTL DelayShaper Discard DropBroadcasts EtherMirror EtherRewrite FixIPSrc FrontDropQueue
    GetEtherAddress GetIPAddress HashSwitch HostEtherFilter ICMPPingResponder IPClassifier IPFilter
    IPGWOptions IPMirror IPPrint LinearIPLookup LookupIPRoute MarkIPCE Meter MixedQueue Null
    NotifierQueue Pad Paint PaintSwitch PaintTee Print PrioSched PullTee Queue RandomSample RandomSwitch
    RadixIPLookup RangeIPLookup RatedSplitter RatedUnqueue RED RoundRobinSched RoundRobinSwitch SetAnnoByte
    SetCRC32 SetEtherAddress SetIPAddress SetIPChecksum SetIPDSCP SetIPECN SetPacketType SetTCPChecksum
    SetTimestamp SetUDPChecksum SetVLANAnno Shaper SimpleQueue StaticIPLookup StaticSwitch StoreData
    StoreEtherAddress StoreIPAddress StrideSched StrideSwitch Suppressor Switch Tee ThreadSafeQueue
    TimedSink Truncate Unqueue DirectIPLookup
""".split())
# The classes of KEEPS that read the network header (every class outside KEEPS, SHIFTS and SETS is taken
# to read it too).
READERS = frozenset("""
    AggregateIP CheckICMPHeader CheckTCPHeader CheckUDPHeader DecIPTTL FixIPSrc ICMPPingResponder IPClassifier
    IPFilter IPGWOptions IPMirror IPPrint MarkIPCE SetIPChecksum SetIPDSCP SetIPECN SetTCPChecksum SetUDPChecksum
    StoreIPAddress GetIPAddress
""".split())
# Classes that move the data's first byte by a constant (+: bytes prepended); Strip/Unstrip read it
# from their argument.
SHIFTS: Mapping[str, int] = {"EtherEncap": 14, "EtherVLANEncap": 18, "VLANEncap": 4, "VLANDecap": -4}
# Classes that set the network header: the offset they set (None: read from the OFFSET argument).
SETS: Mapping[str, int | None] = {
    "MarkIPHeader": None, "CheckIPHeader": None, "CheckIPHeader2": None, "IPInputCombo": 0,
    "IPEncap": 0, "UDPIPEncap": 0, "StripToNetworkHeader": 0, "UnstripIPHeader": 0,
}
# Sources of new packets (no network header).
SOURCES = frozenset("InfiniteSource RatedSource TimedSource Idle".split())


@dataclass
class Channel:
    network: str
    index: int
    direction: str  # "to_user" or "to_kernel"
    endpoint: str  # the device the master (kernel) side uses
    peer: str  # the device the container uses (the same name for linuxmodule host devices)
    source: tuple[str, int]  # (element, output port) in the network graph
    target: tuple[str, int]  # (element, input port)
    header_offset: Offset = NONE  # the network header's offset at the cut (restored after it)
    headroom: int = 0  # bytes before the data that cross too (a later Unstrip re-exposes them)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "direction": self.direction,
            "endpoint": self.endpoint,
            "peer": self.peer,
            "from": self.source[0],
            "from_port": self.source[1],
            "to": self.target[0],
            "to_port": self.target[1],
            "carries": {"annotations": ANNO_BYTES, "network_header": self.header_offset, "headroom": self.headroom},
        }


def channel_device(network: str, index: int, end: str = "x") -> str:
    """``ck`` + 6 hex digits of SHA-1(network) + ``x`` (master side) or ``y`` (container side) + edge."""
    return f"ck{hashlib.sha1(network.encode()).hexdigest()[:6]}{end}{index}"


def endpoints(network: str, index: int, target: str) -> tuple[str, str]:
    """(master-side device, container-side device) of one channel."""
    if target == "linuxmodule":
        dev = channel_device(network, index)
        return dev, dev
    return channel_device(network, index, "x"), channel_device(network, index, "y")


# -- the network header offset ---------------------------------------------------------------------


def _int_arg(config: str, keyword: str, default: int | None) -> int | None:
    """KEYWORD, or else the first positional argument, of a configuration string as an int (None: not one)."""
    value = cp.config_value(config, keyword, 0)
    return default if not value else _to_int(value)


def _to_int(text: str) -> int | None:
    try:
        return int(text.strip(), 0)
    except ValueError:
        return None


def _check_offset(config: str) -> int | None:
    """CheckIPHeader's offset: OFFSET, or a lone integer argument, or the second of (BADSRC, OFFSET)."""
    if cp.config_value(config, "OFFSET", None) is not None:
        return _int_arg(config, "OFFSET", None)
    first, second = cp.config_value(config, None, 0), cp.config_value(config, None, 1)
    if second:
        return _to_int(second)
    return (_to_int(first) if first else None) or 0


def _shift(value: Offset, by: int | None) -> Offset:
    if by is None:
        return UNKNOWN
    return value + by if isinstance(value, int) else value


def layout_tables(layouts: Mapping[str, Mapping[str, bool]]) -> tuple[frozenset[str], frozenset[str]]:
    """(KEEPS, READERS) widened by the ``packet_layout`` facts of certified records, for classes the
    tables do not name (a network's own classes): a class whose whole packet path neither moves the
    data nor sets the network header nor makes packets keeps both where they were."""
    known = KEEPS | set(SHIFTS) | set(SETS) | SOURCES | {"Strip", "Unstrip"}
    keeps = {k for k, lay in layouts.items() if k not in known
             and not (lay.get("moves_data", True) or lay.get("sets_network_header", True) or lay.get("makes_packets", True))}
    readers = {k for k in keeps if layouts[k].get("reads_network_header", True)}
    return KEEPS | keeps, READERS | readers


def transfer(klass: str, config: str, value: Offset, keeps: frozenset[str] = KEEPS) -> Offset:
    """The network header offset after one element, given the offset before it."""
    if value == UNKNOWN:
        absolute = klass in SETS and klass not in ("StripToNetworkHeader", "UnstripIPHeader")
        return transfer(klass, config, NONE) if absolute else UNKNOWN
    if klass in keeps:
        return value
    if klass == "Strip":
        n = _int_arg(config, "LENGTH", None)
        return _shift(value, -n if n is not None else None)
    if klass == "Unstrip":
        return _shift(value, _int_arg(config, "LENGTH", None))
    if klass in SHIFTS:
        return _shift(value, SHIFTS[klass])
    if klass in SETS:
        fixed = SETS[klass]
        if klass in ("StripToNetworkHeader", "UnstripIPHeader") and value == NONE:
            return NONE  # with no network header they leave the packet as it is
        if fixed is not None:
            return fixed
        off = _check_offset(config) if klass.startswith("CheckIPHeader") else _int_arg(config, "OFFSET", 0)
        return off if off is not None else UNKNOWN
    if klass in SOURCES:
        return NONE
    return UNKNOWN


def _join(a: Offset | None, b: Offset) -> Offset:
    if a is None or a == b:
        return b
    return UNKNOWN


def _forward(g: nx.MultiDiGraph, devices: Mapping[str, Offset],
             step: Callable[[str, str, Offset], Offset]) -> dict[tuple[str, int], Offset]:
    """A forward fixpoint over a network graph (cycles included): the value at every (element, output
    port), from the devices' values through ``step``; a port reached with two different values is
    UNKNOWN (so each input changes at most twice: the loop ends)."""
    into: dict[str, Offset | None] = {n: None for n in g.nodes}
    out: dict[str, Offset] = {}
    pending = list(g.nodes)
    while pending:
        n = pending.pop()
        d = g.nodes[n]
        if n in devices:
            new = devices[n]
        elif into[n] is None:
            if g.in_degree(n):
                continue  # nothing reached it yet
            new = step(d["klass"], d.get("config", ""), NONE)
        else:
            new = step(d["klass"], d.get("config", ""), into[n])  # type: ignore[arg-type]
        if n in out and out[n] == new:
            continue
        out[n] = new
        for _, v in g.out_edges(n):
            joined = _join(into[v], new)
            if joined != into[v]:
                into[v] = joined
                pending.append(v)
            elif v not in out:
                pending.append(v)
    return {(u, ed["from_port"]): out.get(u, UNKNOWN) for u, _, ed in g.edges(data=True)}


def header_offsets(g: nx.MultiDiGraph, device_offsets: Mapping[str, Offset],
                   keeps: frozenset[str] = KEEPS) -> dict[tuple[str, int], Offset]:
    """The network header offset at every (element, output port) of a network graph.

    ``device_offsets`` gives, per device element (FromDevice/PollDevice), what the platform's GRE
    decapsulation leaves: 0 for IP tunnels (it marks the inner IP header), NONE for Ethernet ones.
    """
    return _forward(g, device_offsets, lambda k, c, v: transfer(k, c, v, keeps))


def depth_transfer(klass: str, config: str, depth: Offset, keeps: frozenset[str] = KEEPS) -> Offset:
    """How many meaningful bytes lie before the data (stripped, still in the headroom) after one element:
    a later Unstrip re-exposes them, so a channel must carry them."""
    if klass in SOURCES:
        return 0
    if not isinstance(depth, int):
        depth = 0 if depth == NONE else UNKNOWN  # type: ignore[assignment]
        if depth == UNKNOWN:
            return UNKNOWN
    assert isinstance(depth, int)
    if klass in keeps or klass in ("MarkIPHeader", "CheckIPHeader", "CheckIPHeader2"):
        return depth
    if klass in ("Strip", "Unstrip"):
        n = _int_arg(config, "LENGTH", None)
        if n is None:
            return UNKNOWN
        return depth + n if klass == "Strip" else max(0, depth - n)
    if klass == "IPInputCombo":
        return depth + 14
    prepends = {"IPEncap": 20, "UDPIPEncap": 28, **{k: v for k, v in SHIFTS.items() if v > 0}}
    if klass in prepends:
        return max(0, depth - prepends[klass])
    return UNKNOWN


def headroom_depths(g: nx.MultiDiGraph, devices: Iterable[str],
                    keeps: frozenset[str] = KEEPS) -> dict[tuple[str, int], Offset]:
    """The meaningful headroom at every (element, output port): 0 at the devices (the platform's outer
    headers before a tenant's frame are not the tenant's)."""
    return _forward(g, {d: 0 for d in devices}, lambda k, c, v: depth_transfer(k, c, v, keeps))


def needs_header(g: nx.MultiDiGraph, start: str, same_side: Callable[[str], bool],
                 keeps: frozenset[str] = KEEPS, readers: frozenset[str] = READERS) -> bool:
    """Whether an element from ``start`` on, on the same side of the partition, may read the network header
    before an element sets it again (devices need none: the platform's encapsulation sets its own)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        n = stack.pop()
        if n in seen or not same_side(n):
            continue
        seen.add(n)
        klass = g.nodes[n]["klass"]
        if klass in SETS and klass not in ("StripToNetworkHeader",):
            continue  # sets its own header (StripToNetworkHeader reads the old one first)
        if klass in readers or not (klass in keeps or klass in SHIFTS or klass in ("Strip", "Unstrip")):
            return True
        stack.extend(v for _, v in g.out_edges(n))
    return False


def unknown_offset_moves(channels: Iterable[Channel], side: Mapping[str, str]) -> dict[str, str]:
    """Elements to move into the container because a cut next to them has an unknown header offset.

    Kernel to user: the sender moves (the cut goes upstream, towards the device whose offset is
    known).  User to kernel: the receiver moves (the cut goes downstream, towards the device, in
    front of which no header is needed).  Devices never move; a cut in front of one needs nothing.
    """
    moves: dict[str, str] = {}
    for ch in channels:
        if ch.header_offset != UNKNOWN:
            continue
        e = ch.source[0] if ch.direction == "to_user" else ch.target[0]
        if side.get(e) == "kernel":
            moves[e] = (f"the network header offset at channel {ch.index} ({ch.source[0]} -> {ch.target[0]}) "
                        "is not known statically: the cut moves so that it is")
    return moves


# -- the elements of a channel ----------------------------------------------------------------------


def _node(g: nx.MultiDiGraph, name: str, klass: str, config: str, at: Mapping[str, Any], reason: str) -> str:
    g.add_node(name, klass=klass, config=config, file=at["file"], line=at["line"], column=at["column"],
               origin="platform", reason=reason)
    return name


def _edge(g: nx.MultiDiGraph, u: str, fp: int, v: str, tp: int) -> None:
    g.add_edge(u, v, key=(fp, tp), from_port=fp, to_port=tp)


def _chain(g: nx.MultiDiGraph, last: str, lp: int, nodes: list[tuple[str, str, str, str]],
           at: Mapping[str, Any]) -> str:
    for name, klass, config, reason in nodes:
        _node(g, name, klass, config, at, reason)
        _edge(g, last, lp, name, 0)
        last, lp = name, 0
    return last


def _half(ch: Channel, kernel_direction: str) -> tuple[str, str, bool, str]:
    """(name prefix, reason prefix, whether this half is the kernel's, its device) of one half of ``ch``;
    the sending half is the kernel's for ``to_user`` channels, the receiving half for ``to_kernel`` ones."""
    in_kernel = ch.direction == kernel_direction
    return (f"_platform/ch{ch.index}", f"channel {ch.index} ({ch.direction.replace('_', ' ')}): ", in_kernel,
            ch.endpoint if in_kernel else ch.peer)


def add_sender(g: nx.MultiDiGraph, ch: Channel, u: str, fp: int, pull: bool, target: str,
               at: Mapping[str, Any]) -> None:
    """The sending half of ``ch`` after (u, fp) in ``g``: queue if needed, annotations, header, device."""
    pre, why, in_kernel, dev = _half(ch, "to_user")
    nodes: list[tuple[str, str, str, str]] = []
    kernel_tohost = target == "linuxmodule" and in_kernel
    if kernel_tohost and pull:  # ToHost is push: a task pulls for it
        nodes.append((f"{pre}/unqueue", "Unqueue", "", why + "pulls for the channel"))
    elif not kernel_tohost and not pull:  # ToDevice pulls: queue what is pushed (and never block the sender)
        nodes.append((f"{pre}/queue", "Queue", "", why + "holds packets for the device; drops when full"))
    nodes.append((f"{pre}/annoroom", "Unstrip", str(ANNO_BYTES + ch.headroom),
                  why + (f"the {ch.headroom} bytes before the data, and " if ch.headroom else "")
                  + "room for the annotation area"))
    for k in range(0, ANNO_BYTES, ANNO_CHUNK):
        nodes.append((f"{pre}/anno{k}", "StoreEtherAddress", f"ANNO {k}, OFFSET {k}",
                      why + f"copies annotation bytes {k}-{k + ANNO_CHUNK - 1} into the frame"))
    nodes.append((f"{pre}/encap", "EtherEncap", f"{CHANNEL_ETHERTYPE}, {CHANNEL_MACS}", why + "the channel header"))
    if kernel_tohost:
        nodes.append((f"{pre}/to", "ToHost", dev, why + f"to the container through {dev}"))
    else:
        nodes.append((f"{pre}/to", "ToDevice", dev,
                      why + f"to the {'container' if in_kernel else 'kernel'} through {dev}"))
    _chain(g, u, fp, nodes, at)
    if kernel_tohost:  # the host device ToHost writes to is created by a FromHost; what the host sends on it is dropped
        _chain(g, _node(g, f"{pre}/dev", "FromHost", dev, at, why + f"creates {dev}"), 0,
               [(f"{pre}/devsink", "Discard", "", why + f"drops what the host sends on {dev}")], at)


def add_receiver(g: nx.MultiDiGraph, ch: Channel, v: str, tp: int, pull: bool, target: str,
                 at: Mapping[str, Any]) -> None:
    """The receiving half of ``ch`` before (v, tp) in ``g``: device, filter, annotations, header."""
    pre, why, in_kernel, dev = _half(ch, "to_kernel")
    if target == "linuxmodule" and in_kernel:
        first = _node(g, f"{pre}/from", "FromHost", dev, at, why + f"creates {dev}, receives from the container")
    else:
        first = _node(g, f"{pre}/from", "FromDevice", f"{dev}, PROMISC true, SNAPLEN {SNAPLEN}", at,
                      why + f"receives from the {'container' if in_kernel else 'kernel'} through {dev}")
    nodes: list[tuple[str, str, str, str]] = [
        (f"{pre}/filter", "Classifier", f"12/{CHANNEL_ETHERTYPE[2:]}, -", why + "keeps channel frames only"),
    ]
    last = _chain(g, first, 0, nodes, at)
    _chain(g, last, 1, [(f"{pre}/other", "Discard", "", why + "drops what the host stack sent on the device")], at)
    nodes = [(f"{pre}/strip", "Strip", "14", why + "removes the channel header")]
    for k in range(0, ANNO_BYTES, ANNO_CHUNK):
        nodes.append((f"{pre}/anno{k}", "GetEtherAddress", f"ANNO {k}, OFFSET {k}",
                      why + f"restores annotation bytes {k}-{k + ANNO_CHUNK - 1}"))
    nodes.append((f"{pre}/annostrip", "Strip", str(ANNO_BYTES), why + "removes the annotation area"))
    if isinstance(ch.header_offset, int):
        nodes.append((f"{pre}/header", "MarkIPHeader", str(ch.header_offset + ch.headroom),
                      why + f"restores the network header at offset {ch.header_offset}"))
    if ch.headroom:
        nodes.append((f"{pre}/headroom", "Strip", str(ch.headroom),
                      why + f"the {ch.headroom} bytes before the data go back to the headroom"))
    if pull:
        nodes.append((f"{pre}/rqueue", "Queue", "", why + "a pull input meets the push channel"))
    last = _chain(g, last, 0, nodes, at)
    _edge(g, last, 0, v, tp)
