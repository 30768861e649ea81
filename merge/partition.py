"""Partition: which of a network's elements run in the shared kernel Click, which in its container.

Decides, per element instance of one checked network:

* where the decision on its class's record puts it (:mod:`element_db.decision`,
  the one decision gate and merge share): ``kernel`` for a fresh ``kernel``
  record (unless the budget forces it out: :mod:`merge.tasks`); ``user`` for a
  fresh ``userspace`` one or an element forced out; the merge is refused
  (MN301, MN302) when the record is missing, stale, invalid, ``reject`` or
  ``error``.  A record of a layer the user named whose sources cannot be
  found is used with a warning (MN305).  FromDevice/PollDevice/ToDevice are
  not placed: the merger replaces them with GRE decapsulation and
  encapsulation in the kernel.
* a *channel* for every connection the partition cuts (:mod:`merge.channels`:
  what crosses, how, and its limits), keeping the edge's ports, packet
  order, bytes, annotations and network header.  The bracketed Unqueue/Queue
  appear only where push meets pull (resolved on the uncut graph, so both
  sides keep the processing they had).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from certify.core.findings import Finding, make_finding
from element_db.decision import Decision, Decisions, InstanceDecision, condition_keywords, decide_instance
from merge import rules
from merge.channels import (
    NONE,
    UNKNOWN,
    UNKNOWN_HEADROOM,
    UNNEEDED,
    Channel,
    Offset,
    add_receiver,
    add_sender,
    endpoints,
    header_offsets,
    headroom_depths,
    layout_tables,
    needs_header,
)
from merge.checks import NetworkResult, device_argument
from merge.lang.confparse import given_keywords
from merge.policy import Policy
from merge.ports import resolve_processing

__all__ = ["Channel", "Placement", "Split", "cut", "place"]


@dataclass
class Placement:
    network: str
    side: dict[str, str] = field(default_factory=dict)  # element -> "kernel" | "user" | "device"
    reasons: dict[str, str] = field(default_factory=dict)
    # elements placed by their own configuration (a configuration-conditional record): the keywords of the
    # class's conditions that the instance gives, and those it could give
    conditional: dict[str, dict[str, Any]] = field(default_factory=dict)

    def user_elements(self) -> list[str]:
        return [e for e, s in self.side.items() if s == "user"]


@dataclass
class Split:
    """A network cut in two: the kernel part (to merge) and the user part (user.click)."""

    network: str
    kernel: nx.MultiDiGraph
    user: nx.MultiDiGraph
    channels: list[Channel]


def place(
    result: NetworkResult,
    decisions: Decisions,
    policy: Policy,
    forced_user: Mapping[str, str],
) -> tuple[Placement, list[Finding]]:
    """Place every element of a checked network; findings are refusals (errors), moves and unchecked sources
    (warnings)."""
    g = result.graph
    assert g is not None
    name = result.network.name
    pl = Placement(name)
    findings: list[Finding] = []
    for e, d in g.nodes(data=True):
        klass = d["klass"]
        where = (d["file"], d["line"], d["column"])
        if klass in policy.device_classes:
            pl.side[e] = "device"
            pl.reasons[e] = "replaced by the platform's GRE decapsulation or encapsulation"
            continue
        dec = decisions.get(klass)
        inst = _instance(dec, d.get("config", ""))
        common = {"element": e, "network": name, "klass": klass, "symbol": klass}
        if dec.outcome in ("missing", "stale", "invalid"):
            findings.append(make_finding(rules.UNCERTIFIED_ELEMENT, *where, reason=f"{dec.state} record: {dec.why}",
                                         **common))
            continue
        if inst.placement == "refused":
            reason = dec.why if dec.outcome == "reject" else f"not analyzable: {dec.why}"
            if inst.conditional and inst.verdict != dec.verdict:
                reason = f"this instance: {inst.reason}"
            findings.append(make_finding(rules.REJECTED_ELEMENT, *where, reason=reason, **common))
            continue
        if dec.unverified_sources:
            findings.append(make_finding(rules.SOURCES_UNAVAILABLE, *where, layer=dec.layer, reason=dec.sources_reason,
                                         **common))
        origin = f" (record from layer {dec.layer})" if not dec.stock else ""
        if e in forced_user:
            pl.side[e] = "user"
            pl.reasons[e] = forced_user[e]
            findings.append(make_finding(rules.MOVED_TO_USER, *where, reason=forced_user[e], **common))
        elif inst.conditional:
            pl.side[e] = inst.placement
            pl.conditional[e] = {"given": list(inst.given), "keywords": list(inst.unless), "verdict": inst.verdict}
            where_to = "for the kernel" if inst.placement == "kernel" else "for user space only"
            pl.reasons[e] = f"class {klass} is certified {where_to} in this configuration{origin}: {inst.reason}"
        elif dec.placement == "user":
            pl.side[e] = "user"
            pl.reasons[e] = f"class {klass} is certified for user space only{origin}: {dec.verdict_reasons}"
        else:
            pl.side[e] = "kernel"
            pl.reasons[e] = f"class {klass} is certified for the kernel{origin}"
    return pl, findings




def _instance(dec: Decision, config: str) -> InstanceDecision:
    """The decision for one instance: its class's, or, for a configuration-conditional record, its own."""
    wanted = condition_keywords(dec.record) if dec.state == "fresh" else {}
    return decide_instance(dec, given_keywords(config, wanted) if wanted else frozenset())


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
    side = {e: ("kernel" if s == "device" else s) for e, s in placement.side.items()}
    if "user" not in side.values():  # nothing to cut: the kernel part is the network's graph (read, not changed)
        return Split(name, g, nx.MultiDiGraph(), [])
    resolved = resolve_processing(g, metadata)
    kernel = nx.MultiDiGraph()
    user = nx.MultiDiGraph()
    for e, d in g.nodes(data=True):
        (user if side[e] == "user" else kernel).add_node(e, **d)
    devices = {e: _device_offset(result, d) for e, d in g.nodes(data=True) if placement.side.get(e) == "device"}
    keeps, readers = layout_tables(_layouts(g, metadata))
    offsets = header_offsets(g, {e: o for e, o in devices.items() if o is not None}, keeps)
    depths = headroom_depths(g, [e for e, o in devices.items() if o is not None], keeps)
    channels: list[Channel] = []
    for u, v, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[2]["from_port"], x[1], x[2]["to_port"])):
        fp, tp = d["from_port"], d["to_port"]
        if side[u] == side[v]:
            (user if side[u] == "user" else kernel).add_edge(u, v, key=(fp, tp), from_port=fp, to_port=tp)
            continue
        k = len(channels)
        direction = "to_user" if side[u] == "kernel" else "to_kernel"
        endpoint, peer = endpoints(name, k, target)
        depth = depths.get((u, fp), UNKNOWN)
        headroom = depth if isinstance(depth, int) else UNKNOWN_HEADROOM
        offset = offsets.get((u, fp), UNKNOWN)
        if isinstance(offset, int) and offset + headroom < 0:
            offset = UNKNOWN  # the header lies before what crosses: MarkIPHeader cannot say where
        if placement.side.get(v) == "device":
            offset = NONE  # the platform's encapsulation sets its own headers
        elif offset == UNKNOWN and not needs_header(g, v, functools.partial(_same_side, placement.side, side[v]),
                                                    keeps, readers):
            offset = UNNEEDED
        ch = Channel(name, k, direction, endpoint, peer, (u, fp), (v, tp), offset, headroom)
        channels.append(ch)
        src_g, dst_g = (kernel, user) if direction == "to_user" else (user, kernel)
        src_pull = resolved.get((u, "o", fp)) == "l"
        dst_pull = resolved.get((v, "i", tp)) == "l"
        add_sender(src_g, ch, u, fp, src_pull, target, g.nodes[u])
        add_receiver(dst_g, ch, v, tp, dst_pull, target, g.nodes[v])
    return Split(name, kernel, user, channels)


def _same_side(placed: Mapping[str, str], side: str, element: str) -> bool:
    """Whether ``element`` runs on ``side`` ("kernel" or "user") as one of the network's own (not a device)."""
    where = placed.get(element)
    return where != "device" and (where == "user") == (side == "user")


def _layouts(g: nx.MultiDiGraph, metadata: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, bool]]:
    """The ``packet_layout`` facts of the records of the classes in ``g`` (metadata carries them as JSON)."""
    out: dict[str, dict[str, bool]] = {}
    for klass in {d["klass"] for _, d in g.nodes(data=True)}:
        text = metadata.get(klass, {}).get("packet_layout")
        if text:
            out[klass] = json.loads(text)
    return out


def _device_offset(result: NetworkResult, d: Mapping[str, Any]) -> Offset | None:
    """What the platform's decapsulation leaves for a receiving device element (None: not one that receives)."""
    if d["klass"] not in ("FromDevice", "PollDevice"):
        return None
    dev = result.network.devices.get(device_argument(d.get("config", "")) or "")
    if dev is None:
        return UNKNOWN
    return 0 if dev.inner == "ip" else NONE
