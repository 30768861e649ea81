"""Packet layout facts (not rules): what the packet path does to where a packet's data and headers are.

Records, per walked function, calls to the Packet methods that move the data's first byte
(``push``, ``pull``, ...), that set the network header (``set_network_header``, ``set_ip_header``,
...), that read it (``ip_header``, ``network_header``, ...) and that make new packets
(``Packet::make``).  :mod:`analyzers.analysis` unites them over an element's packet path into the
record's ``packet_layout``, which the partition's channels use for classes of one's own
(:mod:`merge.channels`): a class that neither moves the data nor sets the header nor makes packets
leaves the network header and the headroom where they were.  The facts are only given when every
call on the packet path was resolved (no KS303, KS404, KS405): otherwise nothing is claimed.
"""

from __future__ import annotations

from analyzers.frontend import Node
from analyzers.walker import FunctionContext
from certify.core.findings import Rule

PACKET_CLASSES = frozenset(("Packet", "WritablePacket"))
MOVES = frozenset(("push", "pull", "nonunique_push", "nonunique_pull", "push_mac_header", "shift_data",
                   "expensive_push", "change_headroom_and_length"))
SETS = frozenset(("set_network_header", "set_ip_header", "set_ip6_header", "clear_network_header",
                  "set_network_header_length"))
READS = frozenset(("network_header", "ip_header", "ip6_header", "transport_header", "tcp_header", "udp_header",
                   "icmp_header", "network_header_offset", "network_header_length", "ip_header_offset",
                   "ip_header_length", "transport_header_offset", "has_network_header", "has_transport_header"))
MAKES = frozenset(("make",))
FACTS = ("moves_data", "sets_network_header", "reads_network_header", "makes_packets")


class LayoutCheck:
    name = "layout"
    rules: tuple[Rule, ...] = ()

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind != "CXX_METHOD":
            return
        parent = decl.semantic_parent
        if parent is None or parent.spelling not in PACKET_CLASSES:
            return
        name = decl.spelling
        for names, fact in ((MOVES, "moves_data"), (SETS, "sets_network_header"), (READS, "reads_network_header"),
                            (MAKES, "makes_packets")):
            if name in names:
                ctx.layout.add(fact)
