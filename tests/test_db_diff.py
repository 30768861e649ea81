"""certify db diff: what changed between two databases; --content compares what records say, not their provenance."""

from __future__ import annotations

import subprocess
import sys

from element_db.record import make_record
from element_db.store import Database

SRC = [("elements/counter.cc", "0" * 64)]


def _db(path, records):
    db = Database(str(path), create=True)
    for klass, verdict, kw in records:
        db.write(make_record(klass, SRC, kw.pop("analyzer", "certify-analyzers 0.2.0"),
                             kw.pop("policy", "sha256:" + "a" * 64), verdict, ["no finding on the packet path"], [],
                             certified_at=kw.pop("at", "2026-12-01T00:00:00Z"), **kw))
    return db


def diff(*args):
    return subprocess.run([sys.executable, "-m", "certify", "db", "diff", *args], capture_output=True, text=True,
                          timeout=60)


def test_content_ignores_provenance_and_names_changed_fields(tmp_path):
    old = _db(tmp_path / "old", [("Counter", "kernel", {"cost": {"push": "7"}}),
                                 ("Queue", "kernel", {"cost": {"push": "9"}}),
                                 ("Gone", "userspace", {})])
    new = _db(tmp_path / "new", [("Counter", "kernel", {"cost": {"push": "7"}, "at": "2026-12-03T00:00:00Z",
                                                        "policy": "sha256:" + "b" * 64}),
                                 ("Queue", "kernel", {"cost": {"push": "11"}}),
                                 ("Added", "kernel", {})])
    r = diff("--content", old.path, new.path)
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == ["+ Added: kernel", "- Gone: userspace", "~ Queue: kernel -> kernel (cost)"]
    # without --content, a new certification time or policy is a change too, and the exit status is 0
    r = diff(old.path, new.path)
    assert r.returncode == 0
    assert "~ Counter: kernel -> kernel" in r.stdout.splitlines()


def test_content_of_equal_databases_is_empty_and_exits_0(tmp_path):
    old = _db(tmp_path / "old", [("Counter", "kernel", {"cost": {"push": "7"}})])
    new = _db(tmp_path / "new", [("Counter", "kernel", {"cost": {"push": "7"}, "analyzer": "certify-analyzers 9"})])
    r = diff("--content", old.path, new.path)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
