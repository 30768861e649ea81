"""certify library: certify a directory of elements into a database, incrementally; the shipped stock database."""

import os
import shutil
import subprocess
import sys

from element_db.decision import ANALYZER_VERSION, Context, Decisions, policy_version
from element_db.store import STOCK_DB, Database, LayeredDatabase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")


def library(*args):
    return subprocess.run([sys.executable, "-m", "certify", "library", *args, "--no-progress"], capture_output=True,
                          timeout=300)


def tree(tmp_path, files, subs=("mine",)):
    """``tmp_path/elements/<sub>/`` holding copies of KS101 fixtures, for each sub; the database and the
    arguments of a library run over them."""
    for sub in subs:
        src = tmp_path / "elements" / sub
        src.mkdir(parents=True)
        for f in files:
            shutil.copy(os.path.join(FIX, "analyzers", "KS101", f), src / f)
    db = tmp_path / "db"
    return db, [str(tmp_path / "elements"), "--db", str(db), "--click-root", os.path.join(ROOT, "examples"),
                "--root", str(tmp_path)]


def test_library_certifies_and_is_incremental(tmp_path):
    db, args = tree(tmp_path, ("bad_global_write.cc", "good_member_state.cc", "helper.hh"))
    src = tmp_path / "elements" / "mine"
    r = library(*args)
    assert r.returncode == 0, r.stderr.decode()
    d = Database(str(db))
    recs = {k: d.read(k).record for k in d.classes()}
    verdicts = {k: r["verdict"] for k, r in recs.items()}
    assert set(verdicts.values()) == {"kernel", "userspace"}, verdicts
    bad = next(r for r in recs.values() if r["verdict"] == "userspace")
    assert {f["rule"] for f in bad["findings"]} >= {"KS101"}
    assert all(not os.path.isabs(f["file"]) for r in recs.values() for f in r["findings"])
    assert all(s["path"].startswith("elements/mine/") for r in recs.values() for s in r["sources"])
    assert {r["source_base"] for r in recs.values()} == {".."}  # the tree, relative to the database directory
    out = library(*args)
    assert "0 files analyzed, 2 unchanged, 0 records written" in out.stderr.decode()
    (src / "good_member_state.cc").write_text((src / "good_member_state.cc").read_text() + "\n// edited\n")
    decisions = Decisions(LayeredDatabase([Database(str(db))]), Context.current())
    d = decisions.get(next(k for k, v in verdicts.items() if v == "kernel"))
    assert (d.state, d.source_tree) == ("stale", str(tmp_path))  # found through source_base, no option needed
    out = library(*args)
    assert "1 files analyzed, 1 unchanged" in out.stderr.decode()
    decisions = Decisions(LayeredDatabase([Database(str(db))]), Context.current())
    assert all(d.state == "fresh" and d.sources == "checked" for d in decisions.all())


def test_the_shipped_stock_database_records_no_source_base(tmp_path, monkeypatch):
    """Writing the shipped stock database (regenerating it) records no source_base: its tree is only ever found
    through --source-root or CLICK_SRC, and a record must not carry the path of the machine that made it."""
    from certify import library as lib

    src = tmp_path / "elements"
    src.mkdir()
    shutil.copy(os.path.join(FIX, "analyzers", "KS101", "good_member_state.cc"), src / "good_member_state.cc")
    shutil.copy(os.path.join(FIX, "analyzers", "KS101", "helper.hh"), src / "helper.hh")
    stock = tmp_path / "stock"
    monkeypatch.setattr(lib, "STOCK_DB", str(stock))
    db = Database(str(stock), create=True)
    lib.certify_library([str(src)], db, str(tmp_path), os.path.join(ROOT, "examples"), None, 1)
    recs = [db.read(k).record for k in db.classes()]
    assert recs and all("source_base" not in r for r in recs)
    assert all(r["packet_layout"] == {"moves_data": False, "sets_network_header": False, "reads_network_header": False,
                                      "makes_packets": False} for r in recs)


def test_shipped_stock_database():
    db = LayeredDatabase([Database(STOCK_DB)])
    # made by this analyzer under the shipped policy; its Click tree is not shipped, so sources are unavailable
    statuses = Decisions(db, Context(ANALYZER_VERSION, policy_version(None), None, ROOT, ROOT, None)).all()
    assert len(statuses) > 450 and all(s.state == "fresh" and s.layer == "stock" for s in statuses)
    assert {s.sources for s in statuses} == {"unavailable"}
    verdict = {s.klass: s.record["verdict"] for s in statuses}
    for k in ("EtherMirror", "Strip", "Unstrip", "Discard", "Tee", "Paint", "CheckIPHeader", "DecIPTTL", "IPEncap",
              "EtherEncap", "SimpleQueue", "Classifier"):
        assert verdict[k] == "kernel", k
    for k in ("ToHost", "FromHost"):
        assert verdict[k] == "reject", k
    # no source text: findings name files relative to the Click tree, sources carry hashes only
    for s in statuses[:50]:
        assert all(not os.path.isabs(x["path"]) and len(x["sha256"]) == 64 for x in s.record["sources"])


def test_a_class_with_variants_in_several_files_is_unchanged_until_one_of_them_changes(tmp_path):
    """One record for a class exported by two files (as FromDevice is, per driver): a re-run over the unchanged
    tree analyzes neither; editing one variant re-analyzes both, and the record is made from both again."""
    db, args = tree(tmp_path, ("good_member_state.cc", "helper.hh"), ("linuxish", "userish"))
    r = library(*args)
    assert r.returncode == 0, r.stderr.decode()
    d = Database(str(db))
    (klass,) = d.classes()
    assert sorted(s["path"] for s in d.read(klass).record["sources"]) == [
        "elements/linuxish/good_member_state.cc", "elements/userish/good_member_state.cc"]
    assert "0 files analyzed, 2 unchanged, 0 records written" in library(*args).stderr.decode()
    edited = tmp_path / "elements" / "userish" / "good_member_state.cc"
    edited.write_text(edited.read_text() + "\n// edited\n")
    assert "2 files analyzed, 0 unchanged, 1 records written" in library(*args).stderr.decode()
    decisions = Decisions(LayeredDatabase([Database(str(db))]), Context.current())
    assert [(x.klass, x.state) for x in decisions.all()] == [(klass, "fresh")]


def test_a_file_that_exports_no_element_is_analyzed_once_until_it_changes(tmp_path):
    """Its globals matter to the others' records (analyzers.globaluse), so it is analyzed, then listed with its
    sources in the database's .library-elementless.json; an unchanged tree analyzes nothing."""
    db, args = tree(tmp_path, ("good_member_state.cc", "helper.hh"))
    src = tmp_path / "elements" / "mine"
    # named like an element file (it mentions EXPORT_ELEMENT), but exports none, as Click's indextreesiplookup.cc
    (src / "tables.cc").write_text("// EXPORT_ELEMENT(Tables): not yet\nint click_table_size;\nvoid set_size(int n) { click_table_size = n; }\n")
    assert "2 files analyzed, 0 unchanged, 1 records written" in library(*args).stderr.decode()
    import json

    listed = json.loads((db / ".library-elementless.json").read_text())["files"]
    assert list(listed) == ["elements/mine/tables.cc"] and listed["elements/mine/tables.cc"]["global_writes"] == [
        "click_table_size"]
    assert len(Database(str(db)).classes()) == 1
    assert "0 files analyzed, 2 unchanged, 0 records written" in library(*args).stderr.decode()
    (src / "tables.cc").write_text("// EXPORT_ELEMENT(Tables): not yet\nint click_table_size;\nvoid set_size(int n) { click_table_size = 2 * n; }\n")
    assert "1 files analyzed, 1 unchanged, 0 records written" in library(*args).stderr.decode()
