"""Launch descriptions for the networks' user-level Click containers.

Decides how a network's ``user.click`` runs: in its own network namespace
(``certify-<network>``) into which its channel devices are moved (kernel
target; the user-level target's channels are Unix sockets under
``/run/certify/<network>/``), as the network's uid, under cgroup v2 limits
from its share: ``cpu.max`` = share x 100 ms per 100 ms period, and
``memory.max`` = share x the platform's container memory (at least 64 MiB).
Two equivalent forms are written: a systemd unit (``CPUQuota``/``MemoryMax``
are systemd's names for cpu.max and memory.max) and a shell script that sets
the same limits through /sys/fs/cgroup directly.
"""

from __future__ import annotations

import shlex

from merge.partition import Split
from merge.system import Network

CONTAINER_MEMORY = 1 << 30  # bytes shared by all containers, split by cpu_share
MIN_MEMORY = 64 << 20


def limits(network: Network) -> tuple[int, int]:
    """(cpu.max quota in microseconds per 100000, memory.max in bytes)."""
    share = network.cpu_share if network.cpu_share is not None else 0.1
    return max(1000, int(round(share * 100000))), max(MIN_MEMORY, int(share * CONTAINER_MEMORY))


def _devices(split: Split) -> list[str]:
    return [c.endpoint for c in split.channels if not c.endpoint.startswith("/")]


def systemd_unit(network: Network, split: Split, user_click: str, click: str = "/usr/local/bin/click") -> str:
    quota, memory = limits(network)
    ns = f"certify-{network.name}"
    pre = [f"-/usr/sbin/ip netns add {ns}"]
    pre += [f"/usr/sbin/ip link set {d} netns {ns}" for d in _devices(split)]
    pre += [f"/usr/sbin/ip netns exec {ns} /usr/sbin/ip link set {d} up" for d in _devices(split)]
    pre += [f"/usr/bin/install -d -o {network.uid} /run/certify/{network.name}"]
    lines = [
        "[Unit]",
        f"Description=certify: user-level Click container of network {network.name}",
        "After=network.target",
        "",
        "[Service]",
        "Type=simple",
        *[f"ExecStartPre=+{c}" for c in pre],
        f"ExecStart=/usr/sbin/ip netns exec {ns} /usr/bin/setpriv --reuid={network.uid} --regid={network.uid} "
        f"--clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw {click} {shlex.quote(user_click)}",
        f"CPUQuota={quota / 1000:g}%",
        f"MemoryMax={memory}",
        "Restart=on-failure",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def shell_script(network: Network, split: Split, user_click: str, click: str = "click") -> str:
    quota, memory = limits(network)
    ns = f"certify-{network.name}"
    cg = f"/sys/fs/cgroup/certify-{network.name}"
    lines = [
        "#!/bin/sh",
        f"# Start the user-level Click container of network {network.name} (run as root).",
        "set -eu",
        f"ip netns add {ns} 2>/dev/null || true",
        *[f"ip link set {d} netns {ns} && ip netns exec {ns} ip link set {d} up" for d in _devices(split)],
        f"install -d -o {network.uid} /run/certify/{network.name}",
        f"mkdir -p {cg}",
        f'echo "{quota} 100000" > {cg}/cpu.max',
        f"echo {memory} > {cg}/memory.max",
        f"echo $$ > {cg}/cgroup.procs",
        f"exec ip netns exec {ns} setpriv --reuid={network.uid} --regid={network.uid} --clear-groups "
        f"--inh-caps=+net_raw --ambient-caps=+net_raw {click} {shlex.quote(user_click)}",
        "",
    ]
    return "\n".join(lines)
