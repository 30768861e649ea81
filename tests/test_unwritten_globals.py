"""Globals that nothing writes (analyzers/globaluse.py): the library-wide proof, its record, and its staleness.

Fixtures (tests/fixtures/globals/): ``reader`` reads a table declared without const on the packet path;
``writer`` writes it at configuration time; ``escaper`` passes its address to a helper taking a pointer to
non-const slots.  The proof drops the reader's KS102 only when every file of the run is seen and none writes
or leaks the table; the record says what it relied on; adding a writer to the library, or a layer whose
record writes it, makes the reader's verdict come back.
"""

from __future__ import annotations

import os
import shutil

import pytest

from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions
from analyzers.globaluse import relax
from analyzers.policy import load_policy
from certify.library import certify_library
from element_db.decision import Context, Decisions
from element_db.store import Database, LayeredDatabase

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "globals")
STUBS = os.path.join(os.path.dirname(HERE), "examples", "include")
OPTS = ParseOptions(includes=(STUBS,))


def _lib(tmp_path, *names):
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(os.path.join(FIX, n, n + ".cc"), lib / (n + ".cc"))
    return lib


def _run(lib, db_dir):
    db = Database(str(db_dir), create=True)
    # the stub headers stand in for the Click tree (its include/ is examples/include)
    certify_library([str(lib)], db, str(lib), click_root=os.path.dirname(STUBS), jobs=1)
    return db


def _rec(db, klass):
    return db.read(klass).record


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def test_the_uses_each_file_reports(policy):
    r = analyze_file(os.path.join(FIX, "reader", "reader.cc"), OPTS, policy)
    assert (r.global_writes, r.global_defined) == ([], ["g_names"])
    w = analyze_file(os.path.join(FIX, "writer", "writer.cc"), OPTS, policy)
    assert (w.global_writes, w.global_defined) == (["g_names"], [])
    e = analyze_file(os.path.join(FIX, "escaper", "escaper.cc"), OPTS, policy)
    assert e.global_writes == ["g_names"]  # the address escapes to a pointer to non-const slots


def test_one_file_alone_proves_nothing(policy):
    r = analyze_file(os.path.join(FIX, "reader", "reader.cc"), OPTS, policy)
    [rep] = r.elements
    assert [(f.rule, f.line) for f in rep.findings] == [("KS102", 14)]
    assert rep.verdict == "userspace"


def test_relax_drops_the_read_only_when_no_file_of_the_run_writes(policy):
    reader = analyze_file(os.path.join(FIX, "reader", "reader.cc"), OPTS, policy)
    relax([reader], policy)
    [rep] = reader.elements
    assert rep.verdict == "kernel" and rep.findings == []
    assert rep.relies_on == [("g_names", reader.file)]
    for other in ("writer", "escaper"):
        reader = analyze_file(os.path.join(FIX, "reader", "reader.cc"), OPTS, policy)
        w = analyze_file(os.path.join(FIX, other, other + ".cc"), OPTS, policy)
        relax([reader, w], policy)
        assert [(f.rule, f.line) for f in reader.elements[0].findings] == [("KS102", 14)], other
        assert reader.elements[0].relies_on == []
    reader = analyze_file(os.path.join(FIX, "reader", "reader.cc"), OPTS, policy)
    relax([reader], policy, written_elsewhere={"g_names"})  # a file of the library not in this run writes it
    assert reader.elements[0].verdict == "userspace"


def test_the_record_states_what_it_relied_on_and_a_later_writer_makes_it_come_back(tmp_path):
    lib = _lib(tmp_path, "reader")
    db = _run(lib, tmp_path / "db")
    rec = _rec(db, "Reader")
    assert rec["verdict"] == "kernel"
    assert rec["relies_on"] == [{"global": "g_names", "file": "reader.cc"}]
    assert "global_writes" not in rec
    _lib(tmp_path, "writer")  # a later file of the same library writes the table
    db = _run(lib, tmp_path / "db")
    rec = _rec(db, "Reader")
    assert rec["verdict"] == "userspace", "the reader was re-analysed although it did not change"
    assert [(f["rule"], f["line"]) for f in rec["findings"]] == [("KS102", 14)]
    assert "relies_on" not in rec
    assert _rec(db, "Writer")["global_writes"] == ["g_names"]


def test_a_layer_that_writes_the_global_makes_the_record_stale(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    low = _run(_lib(tmp_path / "a", "reader"), tmp_path / "low")  # a library that never writes the table
    up = _run(_lib(tmp_path / "b", "writer"), tmp_path / "up")  # the user's own layer, which does
    ctx = Context.current()
    alone = Decisions(LayeredDatabase([low]), ctx).get("Reader")
    assert (alone.state, alone.verdict) == ("fresh", "kernel")
    layered = Decisions(LayeredDatabase([up, low]), ctx).get("Reader")
    assert layered.state == "stale"
    assert layered.reason == "relied on g_names being written by no source, but class Writer (layer " + up.name + \
        ") writes it"
