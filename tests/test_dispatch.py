"""The GRE dispatch tree: exactly as selective as one Classifier of every tunnel's full pattern.

A small model of Classifier (``offset/hexvalue`` terms, the first matching
pattern wins, ``-`` matches everything) walks the tree and the flat
Classifier over packets made from the tunnels' own headers, with bytes
changed at random: both must pick the same tunnel (or none), always.
"""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from merge.combine import DispatchNode, dispatch_nodes, dispatch_tree, gre_pattern
from merge.system import Tunnel, VirtualDevice


def matches(pattern, packet):
    if pattern == "-":
        return True
    for term in pattern.split():
        off, val = term.split("/")
        want = bytes.fromhex(val)
        if packet[int(off): int(off) + len(want)] != want:
            return False
    return True


def flat(devices, packet):
    return next((i for i, d in enumerate(devices) if matches(gre_pattern(d), packet)), None)


def walk(node, packet):
    for pattern, out in zip(node.patterns, node.outputs + (None,)):
        if matches(pattern, packet):
            return walk(out, packet) if isinstance(out, DispatchNode) else out
    raise AssertionError("no pattern matched, not even '-'")


def header(dev):
    packet = bytearray(32)
    for term in gre_pattern(dev).split():
        off, val = term.split("/")
        packet[int(off): int(off) + len(val) // 2] = bytes.fromhex(val)
    return packet


def device(i, remote, key, inner="ethernet"):
    return VirtualDevice(f"v{i}", "eth0", Tunnel("192.0.2.1", str(remote), key), inner)


TUNNELS = st.lists(st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(0, 600)),
                             st.sampled_from(["ethernet", "ip"])), min_size=1, max_size=60,
                   unique_by=lambda t: (t[0], t[1], t[2]))


@settings(max_examples=150, deadline=None)
@given(TUNNELS, st.integers(1, 8), st.lists(st.tuples(st.integers(0, 59), st.integers(0, 31), st.integers(0, 255)),
                                            max_size=40))
def test_the_tree_picks_what_one_classifier_would(tunnels, leaf, mutations):
    base = ipaddress.IPv4Address("203.0.113.0")
    devices = [device(i, base + r, k, inner) for i, (r, k, inner) in enumerate(tunnels)]
    root = dispatch_tree("gre", devices, leaf)
    for i, d in enumerate(devices):
        assert walk(root, header(d)) == flat(devices, header(d)) == i
    for which, pos, value in mutations:
        packet = header(devices[which % len(devices)])
        packet[pos] = value
        assert walk(root, packet) == flat(devices, packet)
    for node in dispatch_nodes(root):
        if all(isinstance(o, int) for o in node.outputs):
            assert len(node.outputs) <= leaf or len(node.outputs) == len(devices)  # a leaf, unless nothing splits


def test_a_thousand_tunnels_make_a_shallow_tree_with_small_leaves():
    base = ipaddress.IPv4Address("10.64.0.0")
    devices = [device(i, base + i, i if i % 3 else None) for i in range(1000)]
    root = dispatch_tree("gre", devices, 16)
    nodes = dispatch_nodes(root)
    leaves = [n for n in nodes if all(isinstance(o, int) for o in n.outputs)]
    assert sorted(i for n in leaves for i in n.outputs) == list(range(1000))  # each tunnel in exactly one leaf
    assert max(len(n.outputs) for n in leaves) <= 16
    assert max(n.level for n in nodes) == 1  # the remote's last byte, then the leaves
    assert len(root.patterns) == 257 and len(leaves) == 63  # ceil(1000 / 16): values share leaves
    # the worst walk compares the root's 256 one-byte patterns and one leaf's 16 full ones, not 1,000 patterns
