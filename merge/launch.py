"""Launch descriptions for the networks' user-level Click containers.

Decides how a network's ``user.click`` runs: in its own network namespace
(``certify-<network>``) that holds its ends of the channel devices (kernel
target: the host devices kernel Click creates are moved there at launch;
user-level target: the veth pairs that ``channels.sh`` creates once, before
the master starts, and that outlive every container), with its control
socket at ``RUN_DIR/<network>/control.sock`` (``--run-dir``, default
``/run/certify``), as the network's uid, under cgroup v2 limits
from its share: ``cpu.max`` = share x 100 ms per 100 ms period, and
``memory.max`` = share x the platform's container memory (at least 64 MiB).
Two equivalent forms are written: a systemd unit (``CPUQuota``/``MemoryMax``
are systemd's names for cpu.max and memory.max) and a shell script that sets
the same limits through /sys/fs/cgroup directly, refusing to start on a host
whose /sys/fs/cgroup is not cgroup v2 and checking that the limits are in effect
for its own process before Click replaces it.
"""

from __future__ import annotations

import shlex

from merge.channels import CHANNEL_MTU
from merge.partition import Split
from merge.system import Network

RUN_DIR = "/run/certify"
CONTAINER_MEMORY = 1 << 30  # bytes shared by all containers, split by cpu_share
MIN_MEMORY = 64 << 20


def limits(network: Network) -> tuple[int, int]:
    """(cpu.max quota in microseconds per 100000, memory.max in bytes)."""
    share = network.cpu_share if network.cpu_share is not None else 0.1
    return max(1000, int(round(share * 100000))), max(MIN_MEMORY, int(share * CONTAINER_MEMORY))


def _devices(split: Split) -> list[str]:
    """The host devices kernel Click made for this network's channels (linuxmodule): moved into its namespace."""
    return [c.peer for c in split.channels if c.peer == c.endpoint]


def _control(network: Network, run_dir: str) -> str:
    return shlex.quote(f"{run_dir}/{network.name}/control.sock")


def channels_script(splits: dict[str, Split], run_dir: str = RUN_DIR) -> str:
    """``channels.sh`` (user-level target): every network's namespace and veth pairs, created once as root
    before the master starts; idempotent; the pairs outlive the containers, so a restarted container finds
    its channels where they were and the master never loses a device."""
    lines = [
        "#!/bin/sh",
        "# Create the kernel/user channels of every network (run as root, before the master). Idempotent.",
        "set -eu",
        f"install -d -m 755 {shlex.quote(run_dir)}",
    ]
    for name, sp in sorted(splits.items()):
        if not sp.channels:
            continue
        ns = f"certify-{name}"
        lines.append(f"ip netns add {ns} 2>/dev/null || true")
        for c in sp.channels:
            lines += [
                f"if ! ip link show {c.endpoint} >/dev/null 2>&1; then",
                f"  ip link add {c.endpoint} mtu {CHANNEL_MTU} type veth peer name {c.peer} mtu {CHANNEL_MTU}",
                f"  ip link set {c.peer} netns {ns}",
                "fi",
                f"sysctl -qw net.ipv6.conf.{c.endpoint}.disable_ipv6=1 2>/dev/null || true",
                f"ip netns exec {ns} sysctl -qw net.ipv6.conf.{c.peer}.disable_ipv6=1 2>/dev/null || true",
                f"ip link set {c.endpoint} up",
                f"ip netns exec {ns} ip link set {c.peer} up",
            ]
    lines.append("")
    return "\n".join(lines)


def systemd_unit(network: Network, split: Split, user_click: str, click: str = "/usr/local/bin/click",
                 run_dir: str = RUN_DIR) -> str:
    quota, memory = limits(network)
    ns = f"certify-{network.name}"
    pre = [f"-/usr/sbin/ip netns add {ns}"]
    pre += [f"/usr/sbin/ip link set {d} netns {ns}" for d in _devices(split)]
    pre += [f"/usr/sbin/ip netns exec {ns} /usr/sbin/ip link set {d} mtu {CHANNEL_MTU} up" for d in _devices(split)]
    pre += [f"/usr/bin/install -d -o {network.uid} {run_dir}/{network.name}"]
    lines = [
        "[Unit]",
        f"Description=certify: user-level Click container of network {network.name}",
        "After=network.target",
        "",
        "[Service]",
        "Type=simple",
        *[f"ExecStartPre=+{c}" for c in pre],
        f"ExecStart=/usr/sbin/ip netns exec {ns} /usr/bin/setpriv --reuid={network.uid} --regid={network.uid} "
        f"--clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw {click} -u {_control(network, run_dir)} "
        f"{shlex.quote(user_click)}",
        f"CPUQuota={quota / 1000:g}%",
        f"MemoryMax={memory}",
        "Restart=on-failure",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def shell_script(network: Network, split: Split, user_click: str, click: str = "click", run_dir: str = RUN_DIR) -> str:
    """``launch.sh``: the container started by hand (as root).  Limits that do not hold are refused, never skipped:
    before anything else it checks that the cgroup root (``$CERTIFY_CGROUP_ROOT``, default /sys/fs/cgroup) is a
    cgroup v2 mount -- on a cgroup v1 host ``mkdir`` there makes a plain directory and the limits would be plain
    files -- and that it delegates the cpu and memory controllers (on a host that keeps them in cgroup v1, a v2
    mount has none); before it starts Click it reads the limits back from the cgroup its own process is in
    (``/proc/$$/cgroup``; Click replaces the shell in that process).  memory.max is compared allowing the
    kernel's rounding down to a page."""
    quota, memory = limits(network)
    ns = f"certify-{network.name}"
    unit = f"certify-{network.name}.service"
    lines = [
        "#!/bin/sh",
        f"# Start the user-level Click container of network {network.name} (run as root).",
        "set -eu",
        'cgroot="${CERTIFY_CGROUP_ROOT:-/sys/fs/cgroup}"',
        'fs=$(stat -f -c %T "$cgroot" 2>/dev/null || echo "not mounted")',
        'if [ "$fs" != cgroup2fs ]; then',
        f'  echo "launch.sh: $cgroot is not a cgroup v2 mount (it is $fs): the CPU and memory limits of network '
        f'{network.name} cannot be set; mount cgroup2 there, or start the container with its systemd unit {unit}" >&2',
        "  exit 1",
        "fi",
        "# a child cgroup has cpu.max and memory.max only when its parent delegates those controllers",
        'if ! echo "+cpu +memory" > "$cgroot/cgroup.subtree_control" 2>/dev/null; then',
        f'  echo "launch.sh: the cpu and memory controllers cannot be enabled under $cgroot (available: '
        f'$(cat "$cgroot/cgroup.controllers" 2>/dev/null)): the limits of network {network.name} cannot be set; '
        f'free them from cgroup v1, or start the container with its systemd unit {unit}" >&2',
        "  exit 1",
        "fi",
        f"ip netns add {ns} 2>/dev/null || true",
        *[f"ip link set {d} netns {ns} && ip netns exec {ns} ip link set {d} mtu {CHANNEL_MTU} up"
          for d in _devices(split)],
        f"install -d -o {network.uid} {shlex.quote(run_dir)}/{network.name}",
        f'cg="$cgroot/{ns}"',
        'mkdir -p "$cg"',
        f'echo "{quota} 100000" > "$cg/cpu.max"',
        f'echo {memory} > "$cg/memory.max"',
        'echo $$ > "$cg/cgroup.procs"',
        "# the limits in effect for this process (Click, after exec): those of the cgroup /proc says it is in",
        'own="$cgroot$(sed -n \'s/^0:://p\' /proc/$$/cgroup)"',
        'cpu=$(cat "$own/cpu.max" 2>/dev/null || echo none); mem=$(cat "$own/memory.max" 2>/dev/null || echo none)',
        f'if [ "$cpu" != "{quota} 100000" ] || [ "$mem" = none ] || [ "$mem" = max ] || [ "$mem" -gt {memory} ] '
        f'|| [ $(({memory} - mem)) -ge 65536 ]; then',
        f'  echo "launch.sh: the limits of network {network.name} are not in effect in $own (cpu.max: $cpu, '
        f'memory.max: $mem; wanted {quota} 100000 and {memory})" >&2',
        "  exit 1",
        "fi",
        f"exec ip netns exec {ns} setpriv --reuid={network.uid} --regid={network.uid} --clear-groups "
        f"--inh-caps=+net_raw --ambient-caps=+net_raw {click} -u {_control(network, run_dir)} {shlex.quote(user_click)}",
        "",
    ]
    return "\n".join(lines)
