"""The benches' generated system files: two physical devices, one virtual device (eth1) per network.

Each network is one entry of :func:`write_system`'s ``networks``: its name, uid, configuration text, and the
tunnel of its eth1 (remote address, key or None, inner ``ethernet`` or ``ip``); even-numbered networks go
over eth0, odd ones over eth1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

PHYSICAL = [
    '  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}',
    '  eth1: {address: 198.51.100.1, ether: "02:00:00:00:01:01", gateway_ether: "02:00:00:00:01:fe"}',
]


@dataclass(frozen=True)
class Net:
    name: str
    uid: int
    config: str  # the configuration's text, written to <name>.click
    remote: str = "203.0.113.7"
    key: int | None = None
    inner: str = "ethernet"


def write_system(d: str, networks: list[Net], platform: str = "task_budget: 20000") -> str:
    """Write every network's configuration and ``d/system.yaml``; return the system file's path."""
    lines = ["version: 1", f"platform: {{{platform}}}", "physical:", *PHYSICAL, "networks:"]
    for i, n in enumerate(networks):
        phys, local = ("eth0", "192.0.2.1") if i % 2 == 0 else ("eth1", "198.51.100.1")
        with open(os.path.join(d, f"{n.name}.click"), "w") as f:
            f.write(n.config)
        key = f", key: {n.key}" if n.key is not None else ""
        lines += [f"  {n.name}:", f"    uid: {n.uid}", f"    config: {n.name}.click", "    devices:",
                  f"      eth1: {{physical: {phys}, tunnel: {{local: {local}, remote: {n.remote}{key}}}, "
                  f"inner: {n.inner}}}"]
    path = os.path.join(d, "system.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
