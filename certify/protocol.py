"""The installer <-> coordinator protocol: length-prefixed JSON over a Unix stream socket.

A message is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON, an object with ``"version": 1``.  Requests::

    {"version": 1, "op": "install", "network": "alice", "config": "<Click text>", "name": "alice.click"}
    {"version": 1, "op": "uninstall", "network": "alice"}
    {"version": 1, "op": "status"}

(``network`` may be omitted when the caller's uid owns exactly one network.)
Replies::

    {"version": 1, "verdict": "accepted" | "refused" | "error", "network": ..., "messages": ["file:line:col: ..."]}

Limits: a message is at most ``MAX_MESSAGE`` bytes (1 MiB); a client must
send its whole request within ``REQUEST_TIMEOUT`` seconds (10 s).  A client
that breaks either is dropped; the others are not affected.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

VERSION = 1
MAX_MESSAGE = 1 << 20
REQUEST_TIMEOUT = 10.0


class ProtocolError(Exception):
    pass


def encode(msg: dict[str, Any]) -> bytes:
    body = json.dumps(msg, sort_keys=True).encode("utf-8")
    if len(body) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(body)} bytes is over the limit of {MAX_MESSAGE}")
    return struct.pack(">I", len(body)) + body


def _read_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    chunks = []
    while n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError("timed out")
        sock.settimeout(left)
        try:
            b = sock.recv(min(n, 65536))
        except socket.timeout:
            raise ProtocolError("timed out") from None
        if not b:
            raise ProtocolError("connection closed in the middle of a message")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_message(sock: socket.socket, timeout: float = REQUEST_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    (size,) = struct.unpack(">I", _read_exact(sock, 4, deadline))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is over the limit of {MAX_MESSAGE}")
    body = _read_exact(sock, size, deadline)
    try:
        msg = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(msg, dict) or msg.get("version") != VERSION:
        raise ProtocolError(f"not a version {VERSION} message")
    return msg


def send_message(sock: socket.socket, msg: dict[str, Any]) -> None:
    sock.sendall(encode(msg))
