"""The coordinating process: the only thing that installs the shared Click configuration.

Decides who may install what, and keeps the installed state exact:

* **Who**: each caller is identified by its peer credentials (``SO_PEERCRED``
  uid), never by what it says.  A uid may install only the network whose
  ``uid`` it is in the system configuration; root (uid 0) may act for any
  network only when the daemon runs with ``--allow-root``.
* **What**: an install request carries one network's configuration.  It is
  checked and merged with the last accepted configuration of every other
  network (the merge checks, the decisions on the layered database's records
  and the partition; certification is off only with ``--no-certify``).  Refused: nothing changes.  Accepted: the
  configuration is persisted in the state directory (write, fsync, rename,
  fsync the directory), then the merged result is installed atomically, then
  the reply is sent.
* **Install**: to a directory, a complete new release directory is written
  and the ``current`` symbolic link is swapped by rename (so readers see the
  old set of files or the new one, never a mix); to ``/click`` (kernel Click),
  the master is written to ``/click/hotconfig``, the kernel's own atomic
  hot-swap.
* **Recovery**: at start, the accepted configurations in the state directory
  are merged and installed again: after a crash at any point, the installed
  master is the merge of exactly the accepted set (a request that crashed
  before its configuration was renamed into place was never accepted).
* **Concurrency**: each connection is read in its own thread with a time and
  size limit (:mod:`certify.protocol`), so a slow, malformed or oversize
  client is dropped without delaying the others.  An install's own network
  is checked (parse, flatten within the policy's limits, the network checks)
  before it takes the merge lock, so a slow or refused configuration never
  holds up another network's install; only the merge of the accepted set and
  the install run under the lock, so concurrent installs never interleave or
  lose one another.  At most ``max_pending`` installs wait at once; one more
  is refused at once ("busy").
* **Incremental**: the coordinator keeps each network's checked result and
  partition (:class:`merge.incremental.MergeCache`), so an install redoes its
  own network, the combine, the dispatch and the platform's tasks; what it
  installs is byte for byte what a full merge would write.
* **Limits**: a merge as a whole has a wall-clock limit (``merge_seconds``)
  and a memory limit (``merge_memory_mib``, growth of the coordinator's
  resident memory); a merge past either is refused, the accepted state
  stays as it was.
* **Logging**: one JSON line per request on stderr: time, network, uid, op,
  verdict, milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import socketserver
import struct
import sys
import threading
import time
from typing import Any

from certify.core.errors import InputError
from certify.mergejob import MergeOutcome, MergeWatch, check_outcome, merge_inputs, run_merge
from certify.protocol import VERSION, ProtocolError, read_message, send_message
from element_db.decision import Context
from element_db.store import LayeredDatabase
from merge.incremental import MergeCache
from merge.policy import Policy, load_policy
from merge.system import System, load_system

MAX_CLIENTS = 64
KEEP_RELEASES = 3
MAX_PENDING = 16  # installs waiting for the merge lock (or being checked) at once
MERGE_SECONDS = 120.0
MERGE_MEMORY_MIB = 4096.0


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return int(uid)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Coordinator:
    def __init__(
        self,
        system_path: str,
        state_dir: str,
        install_to: str,
        db: str | list[str] | None = None,
        target: str = "linuxmodule",
        policy_path: str | None = None,
        allow_root: bool = False,
        source_root: str | None = None,
        run_dir: str = "/run/certify",
        stock: bool = True,
        certify: bool = True,
        analyzer_policy: str | None = None,
        max_pending: int = MAX_PENDING,
        merge_seconds: float = MERGE_SECONDS,
        merge_memory_mib: float = MERGE_MEMORY_MIB,
    ) -> None:
        self.system: System = load_system(system_path)
        self.policy: Policy = load_policy(policy_path)
        self.state_dir = state_dir
        self.configs_dir = os.path.join(state_dir, "networks")
        self.install_to = install_to
        # the layered database (top first, over stock): opened for every merge, so a re-certified record counts
        self.db: list[str] | None = [db] if isinstance(db, str) else db
        self.stock = stock and self.policy.stock_database
        self.certify = certify
        self.analyzer_policy = analyzer_policy
        if certify:
            LayeredDatabase.open(self.db, self.stock)  # a bad --db is refused at start, not at the first request
        self.target = target
        self.allow_root = allow_root
        self.source_root = source_root
        self.run_dir = run_dir
        self.lock = threading.Lock()
        self.cache = MergeCache()
        self.max_pending = max_pending
        self.merge_seconds = merge_seconds
        self.merge_memory_mib = merge_memory_mib
        self._pending = 0
        self._pending_lock = threading.Lock()
        os.makedirs(self.configs_dir, exist_ok=True)
        for f in os.listdir(self.configs_dir):  # leftovers of a crash before a rename: never accepted
            if f.startswith("."):
                os.remove(os.path.join(self.configs_dir, f))

    # -- state ------------------------------------------------------------------------------

    def accepted(self) -> dict[str, str]:
        out = {}
        for f in sorted(os.listdir(self.configs_dir)):
            name = f[: -len(".click")]
            if f.endswith(".click") and not f.startswith(".") and name in self.system.networks:
                out[name] = os.path.join(self.configs_dir, f)
        return out

    def _system_with(self, configs: dict[str, str]) -> System:
        # the name written into the master is the accepted file's, also while a staged candidate is merged
        nets = {n: dataclasses.replace(self.system.networks[n], config=p, config_as_written=f"{n}.click")
                for n, p in sorted(configs.items())}
        return dataclasses.replace(self.system, networks=nets)

    def _database(self) -> LayeredDatabase | None:
        return LayeredDatabase.open(self.db, self.stock) if self.certify else None

    def _merge(self, configs: dict[str, str]) -> MergeOutcome | None:
        if not configs:
            return None
        db = self._database()
        context = Context.current(self.source_root, self.analyzer_policy) if self.certify else None
        watch = MergeWatch(self.merge_seconds, self.merge_memory_mib)
        return run_merge(self._system_with(configs), self.policy, db, self.target, context,
                         os.path.join(self.install_to, "current"), run_dir=self.run_dir, cache=self.cache, watch=watch)

    def _precheck(self, network: str, path: str) -> MergeOutcome:
        """Check one network's new configuration alone, outside the merge lock (kept in the cache, so the merge
        that follows does not check it again).  Refused: the network failed its own checks."""
        system = self._system_with({network: path})
        known, metadata = merge_inputs(self._database())
        env = self.cache.environment(self.policy, known)
        _, result = self.cache.precheck(system.networks[network], system, self.policy, metadata, known, env)
        return check_outcome([result])

    # -- install ----------------------------------------------------------------------------

    def install(self, outcome: MergeOutcome | None) -> None:
        if self.install_to.rstrip("/") == "/click":
            text = outcome.files["master.click"] if outcome else "// no network installed\n"
            with open("/click/hotconfig", "w", encoding="utf-8") as f:
                f.write(text)
            return
        releases = os.path.join(self.install_to, "releases")
        os.makedirs(releases, exist_ok=True)
        seq = 1 + max((int(x) for x in os.listdir(releases) if x.isdigit()), default=0)
        rel = os.path.join(releases, str(seq))
        tmpdir = rel + ".tmp"
        shutil.rmtree(tmpdir, ignore_errors=True)
        os.makedirs(tmpdir)
        files = outcome.files if outcome else {"master.click": "// no network installed\n"}
        for name, text in files.items():
            path = os.path.join(tmpdir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if outcome and name in outcome.executable:
                os.chmod(path, 0o755)
        os.rename(tmpdir, rel)
        _fsync_dir(releases)
        link_tmp = os.path.join(self.install_to, f".current.tmp{os.getpid()}")
        if os.path.lexists(link_tmp):
            os.remove(link_tmp)
        os.symlink(os.path.join("releases", str(seq)), link_tmp)
        os.replace(link_tmp, os.path.join(self.install_to, "current"))
        _fsync_dir(self.install_to)
        for old in sorted((int(x) for x in os.listdir(releases) if x.isdigit()))[:-KEEP_RELEASES]:
            shutil.rmtree(os.path.join(releases, str(old)), ignore_errors=True)

    def recover(self) -> None:
        """Install the merge of exactly the accepted configurations."""
        with self.lock:
            outcome = self._merge(self.accepted())
            if outcome is not None and not outcome.ok:  # the inputs changed under us (database, system file)
                raise RuntimeError("the accepted configurations no longer merge: " + "; ".join(outcome.messages[-3:]))
            self.install(outcome)

    # -- requests ---------------------------------------------------------------------------

    def owned(self, uid: int) -> list[str]:
        return sorted(n for n, net in self.system.networks.items() if net.uid == uid)

    def handle(self, uid: int, msg: dict[str, Any]) -> dict[str, Any]:
        op = msg.get("op")
        if op == "status":
            return {"version": VERSION, "verdict": "accepted", "networks": sorted(self.accepted()),
                    "yours": self.owned(uid)}
        if op not in ("install", "uninstall"):
            return {"version": VERSION, "verdict": "error", "messages": [f"certify: error: unknown op {op!r}"]}
        network = msg.get("network")
        mine = self.owned(uid)
        if network is None:
            if len(mine) != 1:
                return {"version": VERSION, "verdict": "refused",
                        "messages": [f"certify: error: uid {uid} owns {len(mine)} networks: name one with --network"]}
            network = mine[0]
        if not isinstance(network, str) or network not in self.system.networks:
            return {"version": VERSION, "verdict": "refused", "messages": [f"certify: error: no network {network!r}"]}
        if network not in mine and not (uid == 0 and self.allow_root):
            return {"version": VERSION, "verdict": "refused", "network": network,
                    "messages": [f"certify: error: uid {uid} may not install network {network}"]}
        with self._pending_lock:
            if self._pending >= self.max_pending:
                return {"version": VERSION, "verdict": "refused", "network": network, "busy": True,
                        "messages": [f"certify: error: the coordinator is busy: {self._pending} installs are waiting "
                                     "(the most it queues); try again later"]}
            self._pending += 1
        try:
            return self._request(network, op, msg)
        finally:
            with self._pending_lock:
                self._pending -= 1

    def _request(self, network: str, op: str, msg: dict[str, Any]) -> dict[str, Any]:
        if op == "uninstall":
            with self.lock:
                return self._apply(network, op, msg, None, None)
        text = msg.get("config")
        if not isinstance(text, str):
            return {"version": VERSION, "verdict": "error", "messages": ["certify: error: no configuration text"]}
        shown = str(msg.get("name") or f"{network}.click")
        # a staging file of this request's own: installs of the same network may be checked at once
        staging = os.path.join(self.configs_dir, f".pending-{network}-{threading.get_ident()}.click")
        with open(staging, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        self.cache.pending.add(network)
        try:
            checked = self._precheck(network, staging)  # outside the lock: never holds up other installs
            if checked.refused:
                return {"version": VERSION, "verdict": "refused", "network": network,
                        "messages": [m.replace(staging, shown) for m in checked.messages]}
            with self.lock:
                return self._apply(network, op, msg, staging, shown)
        finally:
            self.cache.pending.discard(network)
            if os.path.exists(staging):
                os.remove(staging)

    def _apply(self, network: str, op: str, msg: dict[str, Any], staging: str | None,
               shown: str | None) -> dict[str, Any]:
        configs = self.accepted()
        final = os.path.join(self.configs_dir, f"{network}.click")
        if op == "uninstall":
            configs.pop(network, None)
            outcome = self._merge(configs)
            if outcome is not None and not outcome.ok:
                return {"version": VERSION, "verdict": "refused", "network": network, "messages": outcome.messages}
            if os.path.exists(final):
                os.remove(final)
                _fsync_dir(self.configs_dir)
            self.install(outcome)
            return {"version": VERSION, "verdict": "accepted", "network": network, "messages": []}
        assert staging is not None and shown is not None
        configs[network] = staging
        outcome = self._merge(configs)
        assert outcome is not None
        messages = [m.replace(staging, shown) for m in outcome.messages]
        if not outcome.ok:
            return {"version": VERSION, "verdict": "refused", "network": network, "messages": messages}
        # accepted: persist first (what is persisted is what recovery installs), then install
        outcome.files = {k: v.replace(staging, final) for k, v in outcome.files.items()}
        os.replace(staging, final)
        _fsync_dir(self.configs_dir)
        self.install(outcome)
        return {"version": VERSION, "verdict": "accepted", "network": network, "messages": messages}


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        t0 = time.monotonic()
        sock: socket.socket = self.request
        entry: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if not self.server.slots.acquire(blocking=False):
            entry.update(verdict="dropped", reason="too many clients")
            self.server.log(entry)
            return
        try:
            uid = peer_uid(sock)
            entry["uid"] = uid
            try:
                msg = read_message(sock)
            except ProtocolError as exc:
                entry.update(verdict="dropped", reason=str(exc))
                return
            entry.update(op=msg.get("op"), network=msg.get("network"))
            try:
                reply = self.server.coordinator.handle(uid, msg)
            except InputError as exc:
                reply = {"version": VERSION, "verdict": "error", "messages": [str(exc)]}
            except Exception as exc:  # a bug: refuse, keep serving, say so
                reply = {"version": VERSION, "verdict": "error", "messages": [f"certify: internal error: {exc!r}"]}
            entry["verdict"] = reply.get("verdict")
            entry["network"] = reply.get("network", entry.get("network"))
            try:
                send_message(sock, reply)
            except OSError:
                entry["reply"] = "lost"
        finally:
            self.server.slots.release()
            entry["ms"] = round(1000 * (time.monotonic() - t0), 1)
            self.server.log(entry)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: str, coordinator: Coordinator) -> None:
        self.coordinator = coordinator
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._log_lock = threading.Lock()
        super().__init__(path, _Handler)

    def log(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            sys.stderr.write(json.dumps(entry, sort_keys=True) + "\n")
            sys.stderr.flush()


def serve(coordinator: Coordinator, socket_path: str) -> None:
    """Recover, then serve until SIGTERM or SIGINT."""
    import signal

    coordinator.recover()
    if os.path.exists(socket_path):
        os.remove(socket_path)
    os.makedirs(os.path.dirname(os.path.abspath(socket_path)), exist_ok=True)
    server = _Server(socket_path, coordinator)
    os.chmod(socket_path, 0o666)  # anyone may ask; peer credentials decide
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.log({"event": "ready", "socket": socket_path, "accepted": sorted(coordinator.accepted())})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if os.path.exists(socket_path):
            os.remove(socket_path)
