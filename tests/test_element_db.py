"""The certified-element database: records, integrity, staleness, concurrent writers."""

import json
import multiprocessing
import os

import pytest

from element_db.record import canonical, make_record, sha256_file
from element_db.store import Database


def record(klass="Mirror", src_hash="0" * 64, verdict="kernel", **kw):
    return make_record(klass, [("elements/mirror.cc", src_hash)], "0.1.0", "policy-1", verdict,
                       ["no finding on the packet path"], [], certified_at="2026-11-25T18:00:00Z", **kw)


def test_round_trip(tmp_path):
    db = Database(str(tmp_path), create=True)
    rec = record(port_count="1", processing="a", cost={"push": "12"})
    db.write(rec)
    st = db.read("Mirror")
    assert st.state == "valid" and st.record == rec
    text = (tmp_path / "Mirror.json").read_text()
    assert text == canonical(rec) and text.endswith("\n")
    assert db.classes() == ["Mirror"]


def test_write_is_stable_and_reviewable(tmp_path):
    db = Database(str(tmp_path), create=True)
    db.write(record())
    first = (tmp_path / "Mirror.json").read_bytes()
    db.write(record())
    assert (tmp_path / "Mirror.json").read_bytes() == first
    assert json.loads(first)["sources"] == [{"path": "elements/mirror.cc", "sha256": "0" * 64}]


@pytest.mark.parametrize(
    "damage,reason",
    [
        (lambda t: t.replace('"kernel"', '"userspace"'), "digest mismatch"),
        (lambda t: t[: len(t) // 2], "not JSON (truncated?)"),
        (lambda t: t.replace('"verdict"', '"verdikt"'), "does not fit the record schema"),
        (lambda t: t.replace('"2026-11-25T18:00:00Z"', '"yesterday"'), "does not fit the record schema"),
        (lambda t: t.replace('"class": "Mirror"', '"class": "Other"'), "holds a record for Other"),
        (lambda t: "", "not JSON"),
    ],
)
def test_damaged_records_are_invalid_never_trusted(tmp_path, damage, reason):
    db = Database(str(tmp_path), create=True)
    db.write(record())
    p = tmp_path / "Mirror.json"
    p.write_text(damage(p.read_text()))
    st = db.status("Mirror")
    assert st.state == "invalid" and reason in st.reason
    assert st.verdict is None


def test_invalid_records_are_refused_on_write(tmp_path):
    db = Database(str(tmp_path), create=True)
    rec = record()
    rec["verdict"] = "userspace"  # digest no longer matches
    with pytest.raises(ValueError):
        db.write(rec)
    assert db.classes() == []
    with pytest.raises(ValueError):
        make_record("Bad", [("x.cc", "nothex")], "0.1.0", "p", "kernel", [], [])


def test_staleness(tmp_path):
    src = tmp_path / "src" / "elements"
    src.mkdir(parents=True)
    (src / "mirror.cc").write_text("// v1\n")
    db = Database(str(tmp_path / "db"), create=True)
    db.write(record(src_hash=sha256_file(str(src / "mirror.cc"))))
    root = str(tmp_path / "src")
    assert db.status("Mirror", root, "0.1.0", "policy-1").state == "fresh"
    assert db.status("Mirror", root, "0.1.0", "policy-1").verdict == "kernel"
    assert db.status("Mirror", root, "0.2.0", "policy-1").reason == "certified by analyzer 0.1.0, current is 0.2.0"
    assert db.status("Mirror", root, "0.1.0", "policy-2").state == "stale"
    (src / "mirror.cc").write_text("// v2\n")
    st = db.status("Mirror", root, "0.1.0", "policy-1")
    assert (st.state, st.reason, st.verdict) == ("stale", "source elements/mirror.cc changed since it was certified", None)
    os.remove(src / "mirror.cc")
    assert db.status("Mirror", root).reason == "source elements/mirror.cc is gone"
    assert db.status("Nothing").state == "missing"


def _writer(args):
    path, worker, n = args
    db = Database(path)
    for i in range(n):
        db.write(record(klass=f"C{worker}x{i}"))
        db.write(record(klass="Shared", verdict=["kernel", "userspace"][i % 2]))
    return worker


def test_concurrent_writers_lose_nothing(tmp_path):
    db = Database(str(tmp_path), create=True)
    workers, n = 8, 25
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        assert sorted(pool.map(_writer, [(str(tmp_path), w, n) for w in range(workers)])) == list(range(workers))
    assert len(db.classes()) == workers * n + 1
    assert all(s.state == "fresh" for s in db.verify())
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
