"""The coordinator daemon, run for real: concurrency, crash recovery, hostile clients, peer credentials."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from merge.lang import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = "FromDevice(eth1) -> c :: Counter -> Queue(50) -> ToDevice(eth1);\n"


def write_system(d, n, uid):
    lines = ["version: 1", "platform: {task_budget: 20000}", "physical:",
             '  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}',
             "networks:"]
    for i in range(n):
        (d / f"n{i:02d}.click").write_text(CONFIG)
        lines += [f"  n{i:02d}:", f"    uid: {uid}", f"    config: n{i:02d}.click", "    devices:",
                  f"      eth1: {{physical: eth0, tunnel: {{local: 192.0.2.1, remote: 203.0.113.7, key: {i}}}, inner: ethernet}}"]
    (d / "system.yaml").write_text("\n".join(lines) + "\n")


class Daemon:
    def __init__(self, d, *extra):
        self.d = d
        self.sock = str(d / "coord.sock")
        self.args = [sys.executable, "-m", "certify", "serve", "--system", str(d / "system.yaml"), "--socket", self.sock,
                     "--state", str(d / "state"), *extra]
        self.proc = None

    def start(self):
        if os.path.exists(self.sock):
            os.remove(self.sock)
        self.log = open(self.d / "daemon.log", "a")
        self.proc = subprocess.Popen(self.args, stderr=self.log, cwd=ROOT)
        deadline = time.monotonic() + 60  # a loaded 2-core CI machine can take seconds to import and load the policy
        while time.monotonic() < deadline:
            if os.path.exists(self.sock) and self._listening():  # bound is not yet listening: connect to be sure
                return self
            assert self.proc.poll() is None, (self.d / "daemon.log").read_text()
            time.sleep(0.05)
        raise AssertionError("daemon did not start in 60 s: " + (self.d / "daemon.log").read_text())

    def _listening(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.sock))
            except OSError:
                return False
        return True

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.log.close()


def install(d, sock, name, network=None, **kw):
    cmd = [sys.executable, "-m", "certify", "install", str(name), "--socket", sock]
    if network:
        cmd += ["--network", network]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, **kw)


def installed_networks(d):
    text = (d / "state" / "installed" / "current" / "master.click").read_text()
    if "// --- " in text:
        load_file(str(d / "state" / "installed" / "current" / "master.click"))  # whole and parseable
    return sorted(line.split()[3] for line in text.splitlines() if line.startswith("// --- network "))


def accepted(d):
    return sorted(f[:-6] for f in os.listdir(d / "state" / "networks") if f.endswith(".click") and not f.startswith("."))


@pytest.fixture
def daemon(tmp_path):
    write_system(tmp_path, 50, os.getuid())
    dm = Daemon(tmp_path).start()
    yield dm
    dm.stop()


def test_install_refuse_uninstall(daemon, tmp_path):
    p = install(tmp_path, daemon.sock, tmp_path / "n01.click", "n01")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()
    assert out.decode() == "accepted: installed network n01\n"
    bad = tmp_path / "bad.click"
    bad.write_text("FromDevice(eth2) -> Discard;\n")
    p = install(tmp_path, daemon.sock, bad, "n02")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1
    assert f"{bad}:1:1: MN101: FromDevice uses device 'eth2'" in err.decode()
    assert accepted(tmp_path) == ["n01"] and installed_networks(tmp_path) == ["n01"]
    r = subprocess.run([sys.executable, "-m", "certify", "uninstall", "--socket", daemon.sock, "--network", "n01"],
                       capture_output=True, cwd=ROOT)
    assert r.returncode == 0 and accepted(tmp_path) == [] and installed_networks(tmp_path) == []
    log = (tmp_path / "daemon.log").read_text()
    assert '"verdict": "accepted"' in log and '"verdict": "refused"' in log and '"uid": ' in log


def test_fifty_concurrent_installers(daemon, tmp_path):
    procs = [install(tmp_path, daemon.sock, tmp_path / f"n{i:02d}.click", f"n{i:02d}") for i in range(50)]
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0] * 50, [p.stderr.read().decode() for p in procs if p.returncode][:2]
    want = [f"n{i:02d}" for i in range(50)]
    assert accepted(tmp_path) == want
    assert installed_networks(tmp_path) == want


def test_sigkill_in_the_middle_loses_nothing_accepted(daemon, tmp_path):
    procs = {f"n{i:02d}": install(tmp_path, daemon.sock, tmp_path / f"n{i:02d}.click", f"n{i:02d}") for i in range(20)}
    deadline = time.time() + 120
    while len(accepted(tmp_path)) < 5 and time.time() < deadline:
        time.sleep(0.01)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    acked = sorted(n for n, p in procs.items() if p.wait(timeout=120) == 0)
    daemon.start()  # recovery
    try:
        state = accepted(tmp_path)
        assert set(acked) <= set(state)  # nothing acknowledged is lost
        assert installed_networks(tmp_path) == state  # the installed master is exactly the accepted set
        assert not [f for f in os.listdir(tmp_path / "state" / "networks") if f.startswith(".")]
    finally:
        pass


def _raw(sock_path, payload, wait=0.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    if payload:
        s.sendall(payload)
    if wait:
        time.sleep(wait)
    return s


def test_malformed_oversize_and_stalled_clients_do_not_stop_the_others(daemon, tmp_path):
    stalled = _raw(daemon.sock, struct.pack(">I", 100) + b"{")  # promises 100 bytes, sends 1
    silent = _raw(daemon.sock, b"")
    huge = _raw(daemon.sock, struct.pack(">I", 1 << 30))
    garbage = _raw(daemon.sock, struct.pack(">I", 5) + b"hello")
    t0 = time.time()
    p = install(tmp_path, daemon.sock, tmp_path / "n03.click", "n03")
    assert p.wait(timeout=60) == 0
    assert time.time() - t0 < 8  # served while the others are still hanging
    for s in (huge, garbage):
        s.settimeout(5)
        assert s.recv(10) == b""  # dropped
    for s in (stalled, silent, huge, garbage):
        s.close()
    log = (tmp_path / "daemon.log").read_text()
    assert "over the limit" in log and "not JSON" in log


def test_hostile_configurations_are_refused_while_the_other_installs_go_through(daemon, tmp_path):
    """A configuration of about a million elements (nested compounds, each using the previous one twice), a
    wide fan-out and a doubling define chain, installed at the same time as ten good ones: each hostile one is
    refused at its first limit, with its location; every good one is accepted."""
    bomb = "elementclass B0 { input -> Null -> output }\n" + "".join(
        f"elementclass B{i} {{ input -> B{i - 1} -> B{i - 1} -> output }}\n" for i in range(1, 21))
    hostile = {
        "n40": (bomb + "FromDevice(eth1) -> B20 -> Queue -> ToDevice(eth1);\n", "n40.click:2:28: MN112"),
        "n41": ("Idle -> Discard;\n" + "Idle -> Discard;\n" * 30_000, "MN109"),
        "n42": ("define($a0 xxxxxxxx" + "".join(f", $a{i} $a{i - 1}$a{i - 1}" for i in range(1, 40)) + ");\n"
                "FromDevice(eth1) -> Paint($a39) -> Queue -> ToDevice(eth1);\n", "MN114"),
    }
    for n, (text, _) in hostile.items():
        (tmp_path / f"{n}.click").write_text(text)
    procs = {n: install(tmp_path, daemon.sock, tmp_path / f"{n}.click", n) for n in hostile}
    procs.update({f"n{i:02d}": install(tmp_path, daemon.sock, tmp_path / f"n{i:02d}.click", f"n{i:02d}")
                  for i in range(10)})
    out = {n: (p.wait(timeout=300), p.stderr.read().decode()) for n, p in procs.items()}
    for n, (_, want) in hostile.items():
        code, err = out[n]
        assert code == 1 and want in err, (n, err)
    assert all(out[f"n{i:02d}"][0] == 0 for i in range(10)), out
    assert accepted(tmp_path) == [f"n{i:02d}" for i in range(10)]


def _ask_as(uid, sock_path, msg):
    """Send one request from a child process running as ``uid`` (fork, setuid, no exec)."""
    import json as _json

    from certify.protocol import read_message, send_message

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            send_message(s, msg)
            os.write(w, _json.dumps(read_message(s, timeout=120)).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return _json.loads(data)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run an installer under another uid")
def test_uid_that_owns_no_network_is_refused():
    d = tempfile.mkdtemp(prefix="certify-coord-", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        from pathlib import Path

        dp = Path(d)
        write_system(dp, 2, 4242)  # networks owned by uid 4242
        msg = {"version": 1, "op": "install", "network": "n00", "config": CONFIG, "name": "n00.click"}
        dm = Daemon(dp).start()
        try:
            reply = _ask_as(65534, dm.sock, msg)
            assert reply["verdict"] == "refused" and reply["messages"] == ["certify: error: uid 65534 may not install network n00"]
            reply = _ask_as(None, dm.sock, msg)  # root, without --allow-root
            assert reply["verdict"] == "refused" and "uid 0 may not install network n00" in reply["messages"][0]
            reply = _ask_as(4242, dm.sock, msg)  # the owner
            assert reply["verdict"] == "accepted", reply
        finally:
            dm.stop()
        dm = Daemon(dp, "--allow-root").start()
        try:
            reply = _ask_as(None, dm.sock, dict(msg, network="n01"))
            assert reply["verdict"] == "accepted", reply
        finally:
            dm.stop()
        assert accepted(dp) == ["n00", "n01"]
    finally:
        shutil.rmtree(d, ignore_errors=True)
