"""The embedded database: a directory of JSON records, one file per element class.

Decides where records live and how they are read and written safely:

* ``DIR/<Class>.json``, canonical JSON (sorted keys, stable indentation), so
  a database is reviewable in a pull request and merges cleanly in git;
* every read validates the schema and the digest: a tampered, truncated or
  invalid record is reported as ``invalid`` and never trusted;
* every write validates first, then takes an exclusive lock on ``DIR/.lock``,
  writes a temporary file in the same directory, fsyncs it, renames it over
  the record and fsyncs the directory: several processes writing at once lose
  nothing, and a crash leaves either the old record or the new one.

The location comes from ``--db`` or the ``CERTIFY_DB`` environment variable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from element_db.record import Status, canonical, check_record, compute_digest, schema_errors
from merge.errors import ClickError, Location

_CLASS = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*")


STOCK_DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "stock")


def default_location(explicit: str | None, stock: bool = False) -> str:
    """--db, else $CERTIFY_DB, else (when ``stock``) the shipped database of the stock Click library."""
    path = explicit or os.environ.get("CERTIFY_DB") or (STOCK_DB if stock and os.path.isdir(STOCK_DB) else None)
    if not path:
        raise ClickError(Location("certify", 0, 0), "no database: give --db DIR or set CERTIFY_DB")
    return path


_VALIDATED: dict[str, tuple[str, bool]] = {}  # sha256 of a record file's text -> (schema problem, digest ok)


def _validate(text: str, rec: Any) -> tuple[str, bool]:
    """Schema and digest check of one record, remembered by the text's hash: a merge reads each record once
    per element and per round, and the schema check is most of the cost."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _VALIDATED:
        errors = schema_errors(rec)
        why = f"does not fit the record schema: {errors[0]}" if errors else ""
        if len(_VALIDATED) > 100_000:
            _VALIDATED.clear()
        _VALIDATED[key] = (why, not errors and compute_digest(rec) == rec["digest"])
    return _VALIDATED[key]


class Database:
    def __init__(self, path: str, create: bool = False) -> None:
        self.path = path
        if create:
            os.makedirs(path, exist_ok=True)
        elif not os.path.isdir(path):
            raise ClickError(Location(path, 0, 0), "no such database directory")

    def record_path(self, klass: str) -> str:
        if not _CLASS.fullmatch(klass):
            raise ValueError(f"not an element class name: {klass!r}")
        return os.path.join(self.path, klass + ".json")

    def classes(self) -> list[str]:
        out = []
        for f in os.listdir(self.path):
            if f.endswith(".json") and _CLASS.fullmatch(f[:-5]):
                out.append(f[:-5])
        return sorted(out)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        fd = os.open(os.path.join(self.path, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self, klass: str) -> Status:
        """The record of ``klass`` as stored: missing, invalid (with why) or (schema- and digest-) valid."""
        path = self.record_path(klass)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return Status(klass, "missing", "no record")
        except (OSError, UnicodeDecodeError) as exc:
            return Status(klass, "invalid", f"unreadable: {exc}")
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            return Status(klass, "invalid", f"not JSON (truncated?): {exc.msg} at line {exc.lineno}")
        schema_problem, digest_ok = _validate(text, rec)
        if schema_problem:
            return Status(klass, "invalid", schema_problem)
        if rec["class"] != klass:
            return Status(klass, "invalid", f"file {klass}.json holds a record for {rec['class']}")
        if not digest_ok:
            return Status(klass, "invalid", "digest mismatch: the record was changed after it was certified")
        return Status(klass, "valid", "", rec)

    def status(
        self,
        klass: str,
        source_root: str | None = None,
        analyzer_version: str | None = None,
        policy_version: str | None = None,
    ) -> Status:
        st = self.read(klass)
        if st.state != "valid" or st.record is None:
            return st
        state, reason = check_record(st.record, source_root, analyzer_version, policy_version)
        return Status(klass, state, reason, st.record)

    def write(self, record: Mapping[str, Any]) -> None:
        errors = schema_errors(record)
        if errors:
            raise ValueError(f"refusing to write an invalid record: {errors[0]}")
        if compute_digest(record) != record["digest"]:
            raise ValueError("refusing to write a record whose digest does not match")
        path = self.record_path(record["class"])
        text = canonical(record)
        with self.lock():
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            dfd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def port_metadata(self, base: Mapping[str, Mapping[str, str]]) -> dict[str, Mapping[str, str]]:
        """``base`` (the stock table) with every valid record's port_count and processing laid over it."""
        out: dict[str, Mapping[str, str]] = dict(base)
        for k in self.classes():
            st = self.read(k)
            if st.record is not None:
                facts: dict[str, str] = {f: str(st.record[f]) for f in ("port_count", "processing") if f in st.record}
                if facts:
                    out[k] = {**out.get(k, {}), **facts}
        return out

    def verify(
        self, source_root: str | None = None, analyzer_version: str | None = None, policy_version: str | None = None
    ) -> list[Status]:
        return [self.status(k, source_root, analyzer_version, policy_version) for k in self.classes()]
