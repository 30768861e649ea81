"""Certified-element records: the JSON Schema, the digest, staleness.

A record says what certify proved about one element class at one source
version: the sources (paths relative to the tree they were certified from,
each with its sha256), the analyzer and policy versions, the verdict with its
reasons and findings, loop bounds and costs, port metadata, trusted
annotations and suppressions, the assumptions the verdict rests on (the
trusted routines of its packet path: :mod:`analyzers.assumptions`), and when; ``source_base`` says where that tree
was, relative to the database directory.  It holds no source text.

Decides the record's form: ``data/record.schema.json`` (formats checked) and
its ``digest`` (sha256 over the canonical JSON of everything else), so that a
tampered or truncated record is found out.  Whether a record is fresh, stale,
invalid or missing is :mod:`element_db.decision`'s.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "record.schema.json")
SCHEMA_VERSION = 1
VERDICTS = ("kernel", "userspace", "reject", "error")
# what every reader says of a record made before assumptions were recorded: not "none", which would be a claim
ASSUMPTIONS_NOT_RECORDED = "not recorded (certified by an older analyzer; certify library --force lists them)"


@functools.cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def canonical(data: Mapping[str, Any]) -> str:
    """The one text of a record: sorted keys, two-space indent, newline at the end."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def compute_digest(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "digest"}
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def schema_errors(record: Any) -> list[str]:
    """Problems with ``record`` against the schema, as ``path: message`` strings (empty when valid)."""
    out = []
    for e in sorted(_validator().iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(map(str, e.absolute_path)) or "(top level)"
        out.append(f"{path}: {e.message}")
    return out


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def make_record(
    klass: str,
    sources: list[tuple[str, str]],
    analyzer_version: str,
    policy_version: str,
    verdict: str,
    reasons: list[str],
    findings: list[dict[str, Any]],
    certified_at: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A complete, digested record; ``sources`` are (path, sha256) pairs."""
    rec: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "class": klass,
        "sources": [{"path": p, "sha256": h} for p, h in sorted(sources)],
        "analyzer_version": analyzer_version,
        "policy_version": policy_version,
        "verdict": verdict,
        "reasons": list(reasons),
        "findings": list(findings),
        "certified_at": certified_at or now(),
    }
    rec.update({k: v for k, v in extra.items() if v is not None})
    rec["digest"] = compute_digest(rec)
    errors = schema_errors(rec)
    if errors:
        raise ValueError(f"record for {klass} does not fit the schema: {errors[0]}")
    return rec


def assumptions_of(record: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The record's assumptions (an empty list: its packet path takes nothing on trust), or None when the record
    does not say (made before they were recorded: :data:`ASSUMPTIONS_NOT_RECORDED`)."""
    found = record.get("assumptions")
    return list(found) if isinstance(found, list) else None


@dataclass(frozen=True)
class Status:
    """A record as read from one database: ``valid`` (schema and digest), ``invalid`` or ``missing``, and why."""

    klass: str
    state: str
    reason: str = ""
    record: dict[str, Any] | None = None
