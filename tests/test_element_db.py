"""The certified-element database: records, integrity, the one decision (staleness, sources), concurrent writers."""

import json
import multiprocessing
import os

import pytest

from element_db.decision import Context, decide
from element_db.record import canonical, make_record, sha256_file
from element_db.store import Database, LayeredDatabase


def record(klass="Mirror", src_hash="0" * 64, verdict="kernel", sources=None, **kw):
    return make_record(klass, sources or [("elements/mirror.cc", src_hash)], "0.1.0", "policy-1", verdict,
                       ["no finding on the packet path"], [], certified_at="2026-11-25T18:00:00Z", **kw)


def decided(db, klass, root=None, analyzer="0.1.0", policy="policy-1", cwd="/nonexistent"):
    """The decision on ``klass`` in ``db`` alone, against the given versions, looking for sources only under root."""
    return decide(LayeredDatabase([db]).read(klass), Context(analyzer, policy, root, cwd, None, None))


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
    d = decided(db, "Mirror")
    assert d.state == "invalid" and reason in d.reason
    assert (d.placement, d.verdict) == ("refused", None)


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
    d = decided(db, "Mirror", root)
    assert (d.state, d.placement, d.verdict, d.sources, d.source_tree) == ("fresh", "kernel", "kernel", "checked", root)
    d = decided(db, "Mirror", root, analyzer="0.2.0")
    assert (d.state, d.placement, d.reason) == ("stale", "refused", "certified by analyzer 0.1.0, current is 0.2.0")
    assert d.sources == "unchecked"
    assert decided(db, "Mirror", root, policy="policy-2").state == "stale"
    (src / "mirror.cc").write_text("// v2\n")
    d = decided(db, "Mirror", root)
    assert (d.state, d.reason, d.placement) == ("stale", "source elements/mirror.cc changed since it was certified",
                                                "refused")
    # not one source under any place to look: unavailable, never silently fresh
    os.remove(src / "mirror.cc")
    d = decided(db, "Mirror", root)
    assert (d.state, d.sources, d.placement) == ("fresh", "unavailable", "kernel")
    assert d.sources_reason == f"no source of the record is under {root}, /nonexistent"
    # one of two sources gone from the tree that holds the other: stale
    (src / "mirror.cc").write_text("// v1\n")
    db.write(record(sources=[("elements/mirror.cc", sha256_file(str(src / "mirror.cc"))),
                             ("elements/mirror.hh", "1" * 64)]))
    assert decided(db, "Mirror", root).reason == "source elements/mirror.hh is gone"
    d = decided(db, "Nothing")
    assert (d.state, d.placement, d.layer) == ("missing", "refused", None)


def test_sources_are_found_through_source_base_then_the_current_directory(tmp_path):
    tree = tmp_path / "tree"
    (tree / "elements").mkdir(parents=True)
    (tree / "elements" / "mirror.cc").write_text("// v1\n")
    h = sha256_file(str(tree / "elements" / "mirror.cc"))
    db = Database(str(tmp_path / "db"), create=True)
    db.write(record(src_hash=h, source_base="../tree"))
    d = decided(db, "Mirror")
    assert (d.state, d.sources, d.source_tree) == ("fresh", "checked", os.path.join(str(tmp_path), "tree"))
    # no source_base: the current directory is looked at
    db.write(record(src_hash=h))
    assert decided(db, "Mirror").sources == "unavailable"
    d = decided(db, "Mirror", cwd=str(tree))
    assert (d.sources, d.source_tree) == ("checked", str(tree))
    # --source-root relocates: it is looked at first
    (tree / "elements" / "mirror.cc").write_text("// v2\n")
    other = tmp_path / "other"
    (other / "elements").mkdir(parents=True)
    (other / "elements" / "mirror.cc").write_text("// v1\n")
    assert decided(db, "Mirror", root=str(other), cwd=str(tree)).state == "fresh"
    assert decided(db, "Mirror", cwd=str(tree)).state == "stale"


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
    assert all(decided(db, k).state == "fresh" for k in db.classes())
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]


def test_valid_records_are_remembered_across_processes_and_never_an_invalid_one(tmp_path, monkeypatch):
    """The user's cache of valid record texts: a second process skips the schema check of a record it lists;
    a record changed after it was listed is checked again (and found invalid); a cache another user could
    write is not used."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    env = dict(os.environ, CERTIFY_CACHE=str(cache))
    db = Database(str(tmp_path / "db"), create=True)
    db.write(make_record("Good", [("good.cc", "0" * 64)], "0.1.0", "sha256:" + "1" * 64, "kernel", ["ok"], [],
                         certified_at="2026-11-25T18:00:00Z"))
    probe = ("import sys; from element_db import store; from element_db.store import Database; "
             "r = Database(sys.argv[1]).read('Good'); print(r.state, store._KNOWN_VALID.holds("
             "__import__('hashlib').sha256(open(sys.argv[1] + '/Good.json').read().encode()).hexdigest()))")
    run = lambda: subprocess.run([sys.executable, "-c", probe, db.path], env=env, capture_output=True,  # noqa: E731
                                 text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert run().stdout.split() == ["valid", "True"]  # checked, then listed
    (listed,) = list(cache.iterdir())
    assert len(listed.read_text().split()) == 1
    path = tmp_path / "db" / "Good.json"
    path.write_text(path.read_text().replace('"kernel"', '"kernal"'))
    assert run().stdout.split() == ["invalid", "False"]  # a new text: checked, not listed
    assert len(listed.read_text().split()) == 1
    cache.chmod(0o777)  # anyone could write it: not trusted, not written
    path.write_text(path.read_text().replace('"kernal"', '"kernel"'))
    assert run().stdout.split() == ["valid", "False"]
