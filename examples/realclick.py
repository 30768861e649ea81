"""The bundled three-network scenario run for real: master and containers together in user-level Click.

What it does, as an operator would on one machine (root, a built user-level ``click`` on PATH):

1. ``certify merge --target userlevel`` on ``examples/e2e/system.yaml`` (certified against the stock
   database: some of each network's elements land in its container, the budget splits tasks);
2. runs the merge's own ``channels.sh`` (network namespaces and veth pairs), starts every container
   with ``ip netns exec certify-<network> click -u RUN/<network>/control.sock user.click``;
3. starts the master with its physical devices replaced by pcap files (FromDump with the capture's
   timing, ToDump), and sends tagged GRE packets in three phases: all containers up; one container
   killed; that container started again;
4. checks every packet that leaves: right device, right tunnel, inner bytes exactly as that
   network's configuration makes them, nothing of one network in another's tunnel; and reads the
   counters from whichever process holds them (the master's at exit, the containers' over their
   control sockets).

Used by ``examples/demo.py`` and ``tests/test_realclick.py``; the packet helpers are shared with the
other real-Click tests.  Everything it creates (namespaces, veth pairs, processes) is removed at
the end.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "e2e")
NETWORKS = ("alice", "bob", "carol")

MAC_PHYS = {"eth0": bytes.fromhex("020000000001"), "eth1": bytes.fromhex("020000000101")}
MAC_GW = {"eth0": bytes.fromhex("0200000000fe"), "eth1": bytes.fromhex("0200000001fe")}
ADDR = {"eth0": "192.0.2.1", "eth1": "198.51.100.1"}
# network -> (physical device, remote end, key, inner)
TUNNELS = {"alice": ("eth0", "203.0.113.7", 42, "ethernet"), "bob": ("eth0", "203.0.113.8", None, "ip"),
           "carol": ("eth1", "203.0.113.9", 7, "ethernet")}
# when each phase's packets are sent (seconds after the master starts), when alice is killed and restarted
PHASES = (0.0, 3.0, 6.5)
KILL_AT, RESTART_AT, STOP_AT = 1.5, 4.5, 9.0
VICTIM = "alice"


# -- packets ------------------------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip_header(src: str, dst: str, proto: int, payload_len: int, tos: int = 0, ttl: int = 64) -> bytes:
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, 1, 0, ttl, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:]


def gre(proto: int, key: int | None = None) -> bytes:
    return struct.pack("!HH", 0, proto) if key is None else struct.pack("!HHI", 0x2000, proto, key)


def outer(mac_dst: bytes, mac_src: bytes, src: str, dst: str, gre_hdr: bytes, inner: bytes) -> bytes:
    payload = gre_hdr + inner
    return mac_dst + mac_src + b"\x08\x00" + ip_header(src, dst, 47, len(payload)) + payload


def write_pcap(path: str, packets: list[bytes], times: list[float] | None = None) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(packets):
            t = times[i] if times else 1000 + i
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(p), len(p)) + p)


def read_pcap(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, pos = [], 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        out.append(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return out


def normalize(p: bytes) -> bytes:
    """An outer frame without what IPEncap chooses itself (IP ID, TTL, checksum: check it with checksum())."""
    return p[:18] + b"\0\0" + p[20:22] + b"\0" + p[23:24] + b"\0\0" + p[26:]


def _udp_ip(src: str, dst: str, tag: bytes, tos: int = 0, ttl: int = 64, proto: int = 17) -> bytes:
    body = struct.pack("!HHHH", 5000, 6000, 8 + len(tag), 0) + tag
    return ip_header(src, dst, proto, len(body), tos, ttl) + body


def _ether(dst: str, src: str, ethertype: int, payload: bytes) -> bytes:
    return bytes.fromhex(dst) + bytes.fromhex(src) + struct.pack("!H", ethertype) + payload


def _with_checksum(ip: bytes) -> bytes:
    h = ip[:10] + b"\0\0" + ip[12:20]
    return h[:10] + struct.pack("!H", checksum(h)) + ip[12:]


@dataclass
class Packet:
    network: str
    tag: str
    phase: int
    frame: bytes  # the outer frame sent to the physical device
    expected: bytes | None  # the outer frame that must leave (None: the network's configuration drops it)


def scenario_packets() -> list[Packet]:
    """Tagged packets of every network in every phase, each with the frame its configuration makes of it."""
    out: list[Packet] = []
    for phase in range(len(PHASES)):
        for i in range(3):
            for net in NETWORKS:
                phys, remote, key, inner = TUNNELS[net]
                tag = f"{net}-p{phase}-{i}".encode()
                local = ADDR[phys]
                if net == "alice":  # DSCP 10, checksum, Ethernet addresses mirrored
                    ip = _udp_ip("10.1.0.2", "10.1.0.1", tag)
                    sent = _ether("0a0000000001", "0a0000000002", 0x0800, ip)
                    made = _ether("0a0000000002", "0a0000000001", 0x0800, _with_checksum(ip[:1] + bytes([10 << 2]) + ip[2:]))
                elif net == "bob":  # TTL decremented (DecIPTTL updates the checksum)
                    sent = _udp_ip("10.2.0.2", "10.2.0.1", tag)
                    made = _with_checksum(sent[:8] + bytes([63]) + sent[9:])
                else:  # carol: the destination IP annotation stored as the source, checksum, mirrored
                    ip = _udp_ip("10.3.0.2", "10.3.0.1", tag)
                    sent = _ether("0a0000000001", "0a0000000002", 0x0800, ip)
                    made = _ether("0a0000000002", "0a0000000001", 0x0800, _with_checksum(ip[:12] + ip[16:20] + ip[16:]))
                proto = 0x6558 if inner == "ethernet" else 0x0800
                frame = outer(MAC_PHYS[phys], MAC_GW[phys], remote, local, gre(proto, key), sent)
                expected = outer(MAC_GW[phys], MAC_PHYS[phys], local, remote, gre(proto, key), made)
                out.append(Packet(net, tag.decode(), phase, frame, expected))
        # what the configurations drop: alice's ARP frame (not IP), carol's ICMP (not UDP)
        arp = _ether("ffffffffffff", "0a0000000002", 0x0806, bytes(28))
        out.append(Packet("alice", f"alice-p{phase}-arp", phase,
                          outer(MAC_PHYS["eth0"], MAC_GW["eth0"], "203.0.113.7", ADDR["eth0"], gre(0x6558, 42), arp), None))
        icmp = _ether("0a0000000001", "0a0000000002", 0x0800, _udp_ip("10.3.0.2", "10.3.0.1", b"carol-icmp", proto=1))
        out.append(Packet("carol", f"carol-p{phase}-icmp", phase,
                          outer(MAC_PHYS["eth1"], MAC_GW["eth1"], "203.0.113.9", ADDR["eth1"], gre(0x6558, 7), icmp), None))
    return out


# -- processes ----------------------------------------------------------------------------------------


def unavailable() -> str | None:
    """Why the scenario cannot run here (None: it can)."""
    if shutil.which("click") is None:
        return "no user-level click on PATH"
    if os.geteuid() != 0:
        return "needs root (network namespaces and veth pairs)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    probe = "certify-probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def control_read(path: str, handler: str, timeout: float = 5.0) -> str:
    """Read ``handler`` from a Click ControlSocket at ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()  # Click::ControlSocket/1.x
        f.write(f"READ {handler}\r\n".encode())
        f.flush()
        status = f.readline().decode()
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: READ {handler}: {status.strip()}")
        n = int(f.readline().decode().split()[1])
        return f.read(n).decode().strip()


def _wait_for(path: str, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError(f"click exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear in {seconds} s")
        time.sleep(0.05)


@dataclass
class Result:
    plan: dict[str, Any]
    sent: list[Packet]
    out: dict[str, list[bytes]]  # physical device -> frames that left
    master_counters: dict[str, int]
    container_counters: dict[str, int]
    master_status: int
    master_stderr: str
    problems: list[str] = field(default_factory=list)

    def arrived(self, network: str, phase: int) -> tuple[int, int]:
        """(packets that left as expected, packets that should have) of one network in one phase."""
        want = [p for p in self.sent if p.network == network and p.phase == phase and p.expected is not None]
        got = {normalize(f) for frames in self.out.values() for f in frames}
        return sum(1 for p in want if p.expected is not None and normalize(p.expected) in got), len(want)


def _master_config(text: str, work: str) -> str:
    for p in ("eth0", "eth1"):
        old_from = f"platform/{p}/from :: FromDevice({p}, SNIFFER false);"
        old_to = f"platform/{p}/to :: ToDevice({p});"
        if old_from not in text or old_to not in text:
            raise RuntimeError(f"the master has no FromDevice/ToDevice for {p}")
        text = text.replace(old_from, f"platform/{p}/from :: FromDump({work}/in_{p}.pcap, STOP false, TIMING true);")
        text = text.replace(old_to, f"platform/{p}/to :: ToDump({work}/out_{p}.pcap);")
    return text + f"\nScript(wait {STOP_AT}s, stop);\n"


def _cleanup(plan: dict[str, Any]) -> None:
    for net, chans in plan.get("channels", {}).items():
        for c in chans:
            subprocess.run(["ip", "link", "del", c["endpoint"]], capture_output=True)
        subprocess.run(["ip", "netns", "del", f"certify-{net}"], capture_output=True)


def run(work: str, certify: list[str] | None = None, log: Any = None, merge_args: tuple[str, ...] = ()) -> Result:
    """Merge the scenario into ``work``/out, run master and containers, return what left and the counters."""
    import json

    certify = certify or [sys.executable, "-m", "certify"]
    say = log or (lambda s: None)
    out_dir, run_dir = os.path.join(work, "out"), os.path.join(work, "run")
    r = subprocess.run(certify + ["merge", "--system", os.path.join(SCENARIO, "system.yaml"), "--target", "userlevel",
                                  "--out", out_dir, "--run-dir", run_dir, *merge_args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"certify merge failed ({r.returncode}):\n{r.stderr}")
    with open(os.path.join(out_dir, "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)
    if plan.get("certification") == "none" or not os.path.exists(os.path.join(out_dir, "channels.sh")):
        raise RuntimeError("the merge certified nothing or put nothing in containers: no partition to run")
    _cleanup(plan)
    containers: dict[str, subprocess.Popen[bytes]] = {}
    master: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["sh", os.path.join(out_dir, "channels.sh")], check=True, capture_output=True)
        for net in plan["networks"]:
            os.makedirs(os.path.join(run_dir, net), exist_ok=True)

        def start(net: str) -> None:
            user = plan["networks"][net]["user"]
            ctl = user["control"]
            if os.path.exists(ctl):
                os.unlink(ctl)
            p = subprocess.Popen(["ip", "netns", "exec", f"certify-{net}", "click", "-u", ctl, user["config"]],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            containers[net] = p
            _wait_for(ctl, p)

        for net in sorted(n for n in plan["networks"] if "user" in plan["networks"][n]):
            start(net)
            say(f"container {net} started (pid {containers[net].pid})")
        packets = scenario_packets()
        for phys in ("eth0", "eth1"):
            mine = [p for p in packets if TUNNELS[p.network][0] == phys]
            times = [1000 + PHASES[p.phase] + 0.01 * i for i, p in enumerate(mine)]
            order = sorted(range(len(mine)), key=lambda i: times[i])
            write_pcap(os.path.join(work, f"in_{phys}.pcap"), [mine[i].frame for i in order], [times[i] for i in order])
        with open(os.path.join(out_dir, "master.click"), encoding="utf-8") as f:
            text = _master_config(f.read(), work)
        with open(os.path.join(work, "master-test.click"), "w", encoding="utf-8") as f:
            f.write(text)
        handlers = [f"{n}/seen.count" for n in NETWORKS]
        cmd = ["click"] + [a for h in handlers for a in ("-h", h)] + [os.path.join(work, "master-test.click")]
        t0 = time.monotonic()
        master = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        say("master started; phase 1: every container up")
        time.sleep(max(0.0, KILL_AT - (time.monotonic() - t0)))
        containers[VICTIM].send_signal(signal.SIGKILL)
        containers[VICTIM].wait()
        say(f"container {VICTIM} killed (phase 2: the others must go on)")
        time.sleep(max(0.0, RESTART_AT - (time.monotonic() - t0)))
        start(VICTIM)
        say(f"container {VICTIM} started again (phase 3: its channels must work again)")
        stdout, stderr = master.communicate(timeout=STOP_AT + 30)
        master_counters = _parse_handlers(stdout.decode())
        container_counters = {n: int(control_read(plan["networks"][n]["user"]["control"], "cnt.count")) for n in NETWORKS}
        outs = {p: read_pcap(os.path.join(work, f"out_{p}.pcap")) for p in ("eth0", "eth1")}
        res = Result(plan, packets, outs, master_counters, container_counters, master.returncode, stderr.decode())
        res.problems = check(res)
        return res
    finally:
        if master is not None and master.poll() is None:
            master.kill()
            master.wait()
        for p in containers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        _cleanup(plan)


def _parse_handlers(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    name = None
    for line in text.splitlines():
        if line.endswith(":") and "." in line:
            name = line[:-1]
        elif name and line.strip():
            out[name] = int(line.strip())
            name = None
    return out


def check(res: Result) -> list[str]:
    """Everything that went wrong, as sentences (empty: the run is right)."""
    problems = []
    expected_on = {p: {normalize(x.expected) for x in res.sent if x.expected is not None and TUNNELS[x.network][0] == p}
                   for p in ("eth0", "eth1")}
    for phys, frames in res.out.items():
        for f in frames:
            if len(f) < 42 or checksum(f[14:34]) != 0:
                problems.append(f"{phys}: a frame with a bad outer IP header: {f.hex()}")
                continue
            if normalize(f) not in expected_on[phys]:
                problems.append(f"{phys}: a frame no network's configuration makes: {f.hex()}")
            tunnel = (f[30:34], f[38:42] if f[34] & 0x20 else b"")  # outer destination; GRE key if K is set
            for net, (p2, remote, key, _) in TUNNELS.items():
                if p2 == phys and ipaddress.IPv4Address(remote).packed == tunnel[0]:
                    if (key is None) != (tunnel[1] == b"") or (key is not None and struct.unpack("!I", tunnel[1])[0] != key):
                        problems.append(f"{phys}: {net}'s remote end with another tunnel key")
                    if net.encode() not in f or any(o.encode() in f for o in NETWORKS if o != net):
                        problems.append(f"{phys}: a packet of another network in {net}'s tunnel")
    for net in NETWORKS:
        for phase in range(len(PHASES)):
            got, want = res.arrived(net, phase)
            if net == VICTIM and phase == 1:
                continue  # its container is dead: its packets of this phase may be lost
            if got != want:
                problems.append(f"{net}, phase {phase + 1}: {got} of {want} packets left")
    if res.master_status != 0:
        problems.append(f"the master exited with {res.master_status}: {res.master_stderr.strip()[-400:]}")
    ips = {n: sum(1 for p in res.sent if p.network == n and not p.tag.endswith("arp")) for n in NETWORKS}
    for net in NETWORKS:
        if res.master_counters.get(f"{net}/seen.count") != ips[net]:
            problems.append(f"master {net}/seen.count is {res.master_counters.get(f'{net}/seen.count')}, expected {ips[net]}")
    per_phase = {n: sum(1 for p in res.sent if p.network == n and p.expected is not None and p.phase == 0) for n in NETWORKS}
    expect_cnt = {n: per_phase[n] * len(PHASES) for n in NETWORKS}
    expect_cnt[VICTIM] = per_phase[VICTIM]  # restarted for the last phase: its counter starts again
    for net in NETWORKS:
        if res.container_counters.get(net) != expect_cnt[net]:
            problems.append(f"container {net}: cnt.count is {res.container_counters.get(net)}, expected {expect_cnt[net]}")
    return problems


if __name__ == "__main__":
    import tempfile

    why = unavailable()
    if why:
        print(f"real-Click run skipped: {why}")
        sys.exit(0)
    with tempfile.TemporaryDirectory() as d:
        result = run(d, log=print)
        for line in result.problems or ["every check passed"]:
            print(line)
        sys.exit(1 if result.problems else 0)
