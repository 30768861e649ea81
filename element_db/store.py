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

Reading goes through layers (:class:`LayeredDatabase`): the databases a user
names, top first, over the shipped stock database (``STOCK_DB``, the bottom
layer unless turned off).  A class's record is the one of the topmost layer
that holds a file for it -- even an invalid one, which is then not trusted
rather than replaced by a lower layer's: a user record overrides the stock
one, and the override is reported.  Writing (``certify library``) goes into
exactly one :class:`Database`, never into the stock layer.

Without ``--db`` the layers are ``$CERTIFY_DB`` (when set) over stock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certify.core.errors import InputError, Location
from element_db.record import Status, canonical, compute_digest, schema_errors

_CLASS = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*")


STOCK_DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "stock")


def default_location(explicit: str | None) -> str:
    """The one database to write into: --db, else $CERTIFY_DB (never the stock database)."""
    path = explicit or os.environ.get("CERTIFY_DB")
    if not path:
        raise InputError(Location("certify", 0, 0), "no database: give --db DIR or set CERTIFY_DB")
    return path


_VALIDATED: dict[str, tuple[str, bool]] = {}  # sha256 of a record file's text -> (schema problem, digest ok)


def _validate(text: str, rec: Any) -> tuple[str, bool]:
    """Schema and digest check of one record, remembered by the text's hash: in this process (a merge reads each
    record once per element and per round) and, for a valid record, across processes in the user's cache
    (:class:`_KnownValid`): the schema check is most of the cost of reading a database."""
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if key not in _VALIDATED:
        if _KNOWN_VALID.holds(key):
            _VALIDATED[key] = ("", True)
            return _VALIDATED[key]
        errors = schema_errors(rec)
        why = f"does not fit the record schema: {errors[0]}" if errors else ""
        if len(_VALIDATED) > 100_000:
            _VALIDATED.clear()
        _VALIDATED[key] = (why, not errors and compute_digest(rec) == rec["digest"])
        if _VALIDATED[key] == ("", True):
            _KNOWN_VALID.add(key)
    return _VALIDATED[key]


class _KnownValid:
    """The hashes of record texts found valid (schema and digest) before, by any process of this user: one file
    per version of the schema and of this module, ``$CERTIFY_CACHE`` (default ``~/.cache/certify``), one
    hash per line, appended.  Validity is a function of the text alone, so a hash listed is a text that passed;
    a cache directory or file that another user could write is not used (nor one that cannot be read or
    written: then every record is checked, as without a cache)."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._hashes: set[str] | None = None

    def _load(self) -> set[str]:
        if self._hashes is not None:
            return self._hashes
        self._hashes = set()
        try:
            from element_db import record as record_module
            from element_db.record import schema as record_schema

            version = hashlib.sha256(json.dumps(record_schema(), sort_keys=True).encode())
            for code in (__file__, record_module.__file__):  # the checks themselves
                with open(code, "rb") as f:
                    version.update(f.read())
            base = os.environ.get("CERTIFY_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "certify")
            os.makedirs(base, mode=0o700, exist_ok=True)
            path = os.path.join(base, f"valid-records-{version.hexdigest()[:16]}")
            for p in (base, path):
                if os.path.exists(p):
                    st = os.stat(p)
                    if st.st_uid != os.getuid() or st.st_mode & 0o022:
                        return self._hashes  # someone else could write it: not trusted
            if os.path.exists(path):
                with open(path, encoding="ascii") as f:
                    self._hashes = {line.strip() for line in f if len(line.strip()) == 64}
            self._path = path
        except (OSError, ValueError):
            self._path = None
        return self._hashes

    def holds(self, key: str) -> bool:
        return key in self._load()

    def add(self, key: str) -> None:
        hashes = self._load()
        if self._path is None or key in hashes:
            return
        hashes.add(key)
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (key + "\n").encode("ascii"))  # one short append: whole lines, even from several writers
            finally:
                os.close(fd)
        except OSError:
            self._path = None


_KNOWN_VALID = _KnownValid()


class Database:
    def __init__(self, path: str, create: bool = False) -> None:
        self.path = path
        if create:
            os.makedirs(path, exist_ok=True)
        elif not os.path.isdir(path):
            raise InputError(Location(path, 0, 0), "no such database directory")

    @property
    def is_stock(self) -> bool:
        """This is the shipped database of the stock Click library."""
        return os.path.realpath(self.path) == os.path.realpath(STOCK_DB)

    @property
    def name(self) -> str:
        """How output names this layer: ``stock``, else the path as given (``./stock`` for a directory so named)."""
        if self.is_stock:
            return "stock"
        return os.path.join(".", self.path) if self.path == "stock" else self.path

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
        # the text's record was just checked (schema and digest): a later read need not check it again
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        _VALIDATED[key] = ("", True)
        _KNOWN_VALID.add(key)


@dataclass(frozen=True)
class Found:
    """What the layers hold for one class: the record as stored in ``layer`` (``missing`` when no layer has a
    file for it) and the lower layers whose different record for the class it hides (an identical copy, same
    digest, hides nothing)."""

    status: Status
    layer: Database | None = None
    shadowed: tuple[Database, ...] = ()


class LayeredDatabase:
    """Databases read as one, top first: a class's record is the topmost layer's."""

    def __init__(self, layers: Sequence[Database]) -> None:
        self.layers: list[Database] = list(layers)

    @classmethod
    def open(cls, paths: Sequence[str] | None, stock: bool = True) -> LayeredDatabase:
        """``paths`` (top first), else ``$CERTIFY_DB`` when set, over the stock database unless ``stock`` is off."""
        named = list(paths or []) or ([os.environ["CERTIFY_DB"]] if os.environ.get("CERTIFY_DB") else [])
        layers: list[Database] = []
        for p in named:
            db = Database(p)
            if db.is_stock:
                continue  # the stock layer is the bottom one, or (with --no-stock) none
            if all(os.path.realpath(db.path) != os.path.realpath(x.path) for x in layers):
                layers.append(db)
        if stock:
            layers.append(Database(STOCK_DB))
        if not layers:
            raise InputError(Location("certify", 0, 0), "no database: give --db DIR or set CERTIFY_DB "
                                                        "(--no-stock turned the stock database off)")
        return cls(layers)

    @property
    def stock(self) -> bool:
        return any(db.is_stock for db in self.layers)

    def names(self) -> list[str]:
        return [db.name for db in self.layers]

    def read(self, klass: str) -> Found:
        """The topmost layer's record of ``klass``, read now (a long-running server sees every update)."""
        top: Status | None = None
        layer: Database | None = None
        shadowed: list[Database] = []
        for db in self.layers:
            st = db.read(klass)
            if st.state == "missing":
                continue
            if top is None:
                top, layer = st, db
            elif top.record is None or st.record is None or top.record["digest"] != st.record["digest"]:
                shadowed.append(db)
        return Found(top or Status(klass, "missing", "no record"), layer, tuple(shadowed))

    def classes(self) -> list[str]:
        return sorted({k for db in self.layers for k in db.classes()})

    def port_metadata(self, base: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
        """``base`` (the stock table) with each class's port_count and processing from its record laid over it;
        records are read when a class is looked up, not all at once."""
        return PortMetadata(self, base)


class PortMetadata(Mapping[str, Mapping[str, str]]):
    """Port facts by class: the record's (topmost valid record) over the stock table's."""

    def __init__(self, db: LayeredDatabase, base: Mapping[str, Mapping[str, str]]) -> None:
        self.db = db
        self.base = base
        self._cache: dict[str, Mapping[str, str] | None] = {}

    def __getitem__(self, klass: str) -> Mapping[str, str]:
        if klass not in self._cache:
            facts: dict[str, str] = {}
            if _CLASS.fullmatch(klass):
                rec = self.db.read(klass).status.record
                if rec is not None:
                    facts = {f: str(rec[f]) for f in ("port_count", "processing") if f in rec}
                    if isinstance(rec.get("packet_layout"), dict):  # for the partition's channels
                        facts["packet_layout"] = json.dumps(rec["packet_layout"], sort_keys=True)
            self._cache[klass] = {**self.base.get(klass, {}), **facts} if facts or klass in self.base else None
        out = self._cache[klass]
        if out is None:
            raise KeyError(klass)
        return out

    def __iter__(self) -> Iterator[str]:
        return iter([k for k in sorted(set(self.base) | set(self.db.classes())) if k in self])

    def __len__(self) -> int:
        return sum(1 for _ in self)
