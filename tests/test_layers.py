"""Layered databases over the stock one, the one decision on a record (sources checked by default), certification
by default in merge and serve."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from test_coordinator import Daemon, install, write_system

from element_db.decision import ANALYZER_VERSION, policy_version
from element_db.record import make_record, sha256_file
from element_db.store import Database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUBS = os.path.join(ROOT, "examples")  # examples/include: stub Click headers
SYSTEM = """version: 1
platform: {task_budget: 20000, max_packet_length: 1514}
physical:
  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}
networks:
  n00:
    uid: %d
    cpu_share: 0.5
    config: net.click
    devices:
      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.20, key: 7}, inner: ethernet}
"""
STOCK_NOTE = ("certify: note: the sources of {n} stock record{s} are unavailable (the stock database ships without the "
              "Click tree it was certified from), so edits to them are not detected; give --source-root or set "
              "CLICK_SRC to a Click tree to check them")


def stock_note(n):
    return STOCK_NOTE.format(n=n, s="s" if n != 1 else "")


def env(**extra):
    e = {k: v for k, v in os.environ.items() if k not in ("CERTIFY_DB", "CLICK_SRC")}
    e.update(extra)
    return e


def certify(*args, cwd=ROOT, **extra):
    return subprocess.run([sys.executable, "-m", "certify", *args], capture_output=True, cwd=cwd, env=env(**extra),
                          timeout=300)


def network(tmp_path, config):
    (tmp_path / "system.yaml").write_text(SYSTEM % os.getuid())
    (tmp_path / "net.click").write_text(config)
    return str(tmp_path / "system.yaml"), str(tmp_path / "net.click")


def write(db_dir, klass, verdict="kernel", analyzer=ANALYZER_VERSION, src=None, **kw):
    """A record as certify library writes it: its source in ``src``, found through source_base."""
    db = Database(str(db_dir), create=True)
    src = src or db_dir.parent / "src"
    src.mkdir(exist_ok=True)
    f = src / f"{klass.lower()}.cc"
    if not f.exists():
        f.write_text(f"// {klass}\n")
    db.write(make_record(klass, [(f.name, sha256_file(str(f)))], analyzer, policy_version(None), verdict,
                         [f"{klass} is {verdict}"], [], source_base=os.path.relpath(src, db_dir),
                         port_count="1/1", processing="a/a", cost={"push": "10", "pull": "10"}, **kw))
    return db


# -- certify library, then the gate, with nothing but --db ------------------------------------------------------


def test_library_then_gate_passes_and_an_edited_source_fails(tmp_path):
    (tmp_path / "mine").mkdir()
    shutil.copy(os.path.join(ROOT, "examples", "elements", "ttlguard.cc"), tmp_path / "mine")
    r = certify("library", "mine", "--db", "mydb", "--click-root", STUBS, "--root", ".", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    rec = json.loads((tmp_path / "mydb" / "TTLGuard.json").read_text())
    assert (rec["verdict"], rec["source_base"], rec["sources"][0]["path"]) == ("kernel", "..", "mine/ttlguard.cc")
    system, net = network(tmp_path, "FromDevice(eth1) -> TTLGuard -> Queue(100) -> ToDevice(eth1);\n")
    r = certify("gate", "--system", "system.yaml", "--db", "mydb", cwd=tmp_path)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert r.stdout == b""  # Queue from the stock layer, TTLGuard from mydb, its source checked
    assert r.stderr.decode().splitlines() == [
        stock_note(1), "certify gate passed: 1 networks, 2 element classes, 0 errors, 0 warnings"]
    (tmp_path / "mine" / "ttlguard.cc").write_text((tmp_path / "mine" / "ttlguard.cc").read_text() + "// edited\n")
    for cwd in (tmp_path, ROOT):  # found through the record's source_base, wherever the gate runs
        r = certify("gate", "--system", system, "--db", str(tmp_path / "mydb"), cwd=cwd)
        assert r.returncode == 1
        assert r.stdout.decode() == (f"{net}:1:21: GA102: the record of class TTLGuard is stale: source "
                                     "mine/ttlguard.cc changed since it was certified [TTLGuard]\n")
        assert r.stderr.decode().splitlines()[-1] == "certify gate FAILED: 1 networks, 2 element classes, 1 errors, 0 warnings"
    # the merge refuses it the same way
    r = certify("merge", "--system", system, "--db", str(tmp_path / "mydb"), "--out", str(tmp_path / "out"))
    assert r.returncode == 1
    assert (f"{net}:1:21: MN301: element 'TTLGuard@2' of network n00: class TTLGuard cannot run anywhere: stale record: "
            "source mine/ttlguard.cc changed since it was certified [TTLGuard]") in r.stderr.decode().splitlines()


def test_sources_that_cannot_be_found_are_a_warning_and_relocatable(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    write(tree / "db", "Mine")
    moved = tmp_path / "elsewhere" / "db"
    shutil.copytree(tree / "db", moved)  # the records' source_base no longer leads to the tree
    system, net = network(tmp_path, "FromDevice(eth1) -> Mine -> Queue -> ToDevice(eth1);\n")
    r = certify("gate", "--system", system, "--db", str(moved))
    assert r.returncode == 0
    assert r.stdout.decode() == (
        f"{net}:1:21: GA107: the sources of class Mine (record from layer {moved}) cannot be found, so an edit since "
        f"certification would go unnoticed: no source of the record is under {tmp_path / 'elsewhere' / 'src'}, {ROOT} [Mine]\n")
    assert r.stderr.decode().splitlines()[-1] == "certify gate passed: 1 networks, 2 element classes, 0 errors, 1 warnings"
    r = certify("gate", "--system", system, "--db", str(moved), "--source-root", str(tree / "src"))
    assert (r.returncode, r.stdout) == (0, b"")
    r = certify("db", "verify", "--db", str(moved), "--no-stock")
    assert r.returncode == 0
    assert r.stdout.decode() == (f"{moved}/Mine.json: sources unavailable: no source of the record is under "
                                 f"{tmp_path / 'elsewhere' / 'src'}, {ROOT}\n")
    assert r.stderr.decode() == (f"certify db verify: 1 records in 1 layer ({moved}), 0 not fresh, "
                                 "1 with sources unavailable\n")
    r = certify("merge", "--system", system, "--db", str(moved), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr.decode()
    assert (f"{net}:1:21: MN305: element 'Mine@2' of network n00: the sources of class Mine (record from layer {moved}) "
            "cannot be found, so an edit since certification would go unnoticed: no source of the record is under "
            f"{tmp_path / 'elsewhere' / 'src'}, {ROOT} [Mine]") in r.stderr.decode().splitlines()


# -- layers -----------------------------------------------------------------------------------------------------


@pytest.fixture
def two_layers(tmp_path):
    """Team database A over project database B: both certify Counter (stock: userspace) and Mine1; only B Mine2."""
    a, b = tmp_path / "A", tmp_path / "B"
    write(a, "Counter", "kernel")
    write(a, "Mine1", "kernel")
    write(b, "Counter", "userspace")
    write(b, "Mine1", "reject")
    write(b, "Mine2", "kernel")
    return str(a), str(b)


def _line(klass, verdict, layer, width, state="fresh"):
    return f"{klass:<28} {verdict:<10} {layer:<{width}} {state}"


def test_db_list_shows_layers_in_the_order_given(two_layers):
    a, b = two_layers
    width = len(a)
    r = certify("db", "list", "--db", a, "--db", b)
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    assert len(lines) > 450  # the stock layer is under both
    got = {line.split()[0]: line for line in lines}
    assert got["Counter"] == _line("Counter", "kernel", a, width)
    assert got["Mine1"] == _line("Mine1", "kernel", a, width)
    assert got["Mine2"] == _line("Mine2", "kernel", b, width)
    assert got["Queue"] == _line("Queue", "kernel", "stock", width)
    assert r.stderr.decode().splitlines() == [
        f"certify: note: class Counter: record from layer {a} overrides the record from layer {b} and the stock record",
        f"certify: note: class Mine1: record from layer {a} overrides the record from layer {b}",
        stock_note(len(lines) - 3),
    ]
    r = certify("db", "list", "--db", b, "--db", a, "--no-stock")  # B on top now; no stock layer
    assert r.stdout.decode().splitlines() == [
        _line("Counter", "userspace", b, width), _line("Mine1", "reject", b, width), _line("Mine2", "kernel", b, width)]
    assert r.stderr.decode().splitlines() == [
        f"certify: note: class Counter: record from layer {b} overrides the record from layer {a}",
        f"certify: note: class Mine1: record from layer {b} overrides the record from layer {a}",
    ]


def test_db_show_names_the_layer_and_defaults_to_certify_db_over_stock(two_layers):
    a, b = two_layers
    doc = json.loads(certify("db", "show", "Counter", "--db", a, "--db", b).stdout)
    assert (doc["layer"], doc["verdict"], doc["status"]) == (a, "kernel", "fresh")
    assert doc["decision"]["overrides"] == [b, "stock"]
    assert (doc["decision"]["placement"], doc["decision"]["sources"]) == ("kernel", "checked")
    doc = json.loads(certify("db", "show", "Counter").stdout)  # no --db, no $CERTIFY_DB: the stock layer
    assert (doc["layer"], doc["verdict"], doc["decision"]["sources"]) == ("stock", "userspace", "unavailable")
    doc = json.loads(certify("db", "show", "Counter", CERTIFY_DB=b).stdout)
    assert (doc["layer"], doc["verdict"]) == (b, "userspace")
    doc = json.loads(certify("db", "show", "Queue", CERTIFY_DB=b).stdout)
    assert doc["layer"] == "stock"
    r = certify("db", "show", "Queue", "--db", b, "--no-stock")
    assert (r.returncode, r.stderr.decode()) == (2, "certify: error: Queue: missing: no record\n")
    r = certify("db", "list", "--no-stock")
    assert r.returncode == 2
    assert r.stderr.decode() == ("certify: error: no database: give --db DIR or set CERTIFY_DB (--no-stock turned "
                                 "the stock database off)\n")


def test_gate_and_merge_report_the_override(two_layers, tmp_path):
    a, b = two_layers
    system, net = network(tmp_path, "FromDevice(eth1) -> c :: Counter -> Mine2 -> Queue -> ToDevice(eth1);\n")
    r = certify("gate", "--system", system, "--db", a, "--db", b)
    assert (r.returncode, r.stdout) == (0, b"")  # Counter is kernel in A, which overrides the stock userspace record
    assert r.stderr.decode().splitlines() == [
        f"certify: note: class Counter: record from layer {a} overrides the record from layer {b} and the stock record",
        stock_note(1),
        "certify gate passed: 1 networks, 3 element classes, 0 errors, 0 warnings",
    ]
    r = certify("gate", "--system", system, "--db", b, "--db", a)  # B on top: Counter is userspace
    assert r.returncode == 0
    assert r.stdout.decode() == (f"{net}:1:21: GA106: class Counter will run in network n00's user-level container: "
                                 "Counter is userspace [Counter]\n")
    out = tmp_path / "out"
    r = certify("merge", "--system", system, "--db", a, "--db", b, "--out", str(out))
    assert r.returncode == 0, r.stderr.decode()
    assert (f"certify: note: class Counter: record from layer {a} overrides the record from layer {b} and the stock "
            "record") in r.stderr.decode().splitlines()
    plan = json.loads((out / "plan.json").read_text())
    assert plan["database_layers"] == [a, b, "stock"] and "certification" not in plan
    assert plan["placements"]["n00"]["c"] == {"side": "kernel",
                                              "reason": f"class Counter is certified for the kernel (record from layer {a})"}
    assert plan["decisions"]["Counter"]["layer"] == a and plan["decisions"]["Queue"]["layer"] == "stock"


def test_no_stock_by_option_and_by_policy(two_layers, tmp_path):
    a, _ = two_layers
    system, net = network(tmp_path, "FromDevice(eth1) -> Counter -> Queue -> ToDevice(eth1);\n")
    missing = f"{net}:1:32: GA101: class Queue has no certification record in the database [Queue]\n"
    r = certify("gate", "--system", system, "--db", a, "--no-stock")
    assert (r.returncode, r.stdout.decode()) == (1, missing)
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nstock_database: false\n")
    r = certify("gate", "--system", system, "--db", a, "--policy", str(policy))
    assert (r.returncode, r.stdout.decode()) == (1, missing)
    r = certify("merge", "--system", system, "--db", a, "--policy", str(policy), "--out", str(tmp_path / "out"))
    assert r.returncode == 1
    assert (f"{net}:1:32: MN301: element 'Queue@3' of network n00: class Queue cannot run anywhere: missing record: "
            "no record [Queue]") in r.stderr.decode().splitlines()
    assert certify("gate", "--system", system, "--db", a).returncode == 0  # the stock layer has Queue


def test_library_writes_into_exactly_one_database(tmp_path):
    (tmp_path / "mine").mkdir()
    shutil.copy(os.path.join(ROOT, "examples", "elements", "ttlguard.cc"), tmp_path / "mine")
    r = certify("library", "mine", "--click-root", STUBS, "--no-progress", cwd=tmp_path)
    assert (r.returncode, r.stderr.decode()) == (2, "certify: error: no database: give --db DIR or set CERTIFY_DB\n")
    r = certify("library", "mine", "--click-root", STUBS, "--root", ".", "--no-progress", cwd=tmp_path,
                CERTIFY_DB=str(tmp_path / "envdb"))
    assert r.returncode == 0, r.stderr.decode()
    assert sorted(f for f in os.listdir(tmp_path / "envdb") if not f.startswith(".")) == ["TTLGuard.json"]


# -- certification by default -----------------------------------------------------------------------------------


def test_merge_certifies_against_stock_by_default(tmp_path):
    system, net = network(tmp_path, "FromDevice(eth1) -> c :: Counter -> Queue -> ToDevice(eth1);\n")
    out = tmp_path / "out"
    r = certify("merge", "--system", system, "--out", str(out))
    assert r.returncode == 0, r.stderr.decode()
    plan = json.loads((out / "plan.json").read_text())
    assert plan["database_layers"] == ["stock"] and "certification" not in plan
    # the stock record of Counter says userspace for the class, kernel unless COUNT_CALL or BYTE_COUNT_CALL is
    # given: this instance gives neither, so it is kernel, and costed (its handler calls cost 0 here)
    assert plan["decisions"]["Counter"]["placement"] == "user"
    assert plan["placements"]["n00"]["c"]["side"] == "kernel"
    assert plan["placements"]["n00"]["c"]["condition"] == {"given": [], "keywords": ["COUNT_CALL", "BYTE_COUNT_CALL"],
                                                          "verdict": "kernel"}
    r = certify("merge", "--system", system, "--out", str(out), "--no-certify")
    assert r.returncode == 0
    assert r.stderr.decode() == ("certify: warning: certification is off (--no-certify): the networks' elements are "
                                 "placed in the master without any certification record\n")
    assert json.loads((out / "plan.json").read_text())["certification"] == "none"


def test_serve_with_an_empty_database_accepts_stock_classes(tmp_path, monkeypatch):
    monkeypatch.delenv("CLICK_SRC", raising=False)  # the daemon inherits it: with a Click tree, no stock note
    monkeypatch.delenv("CERTIFY_DB", raising=False)
    write_system(tmp_path, 2, os.getuid())
    empty = tmp_path / "empty"
    empty.mkdir()
    dm = Daemon(tmp_path, "--db", str(empty)).start()
    try:
        p = install(tmp_path, dm.sock, tmp_path / "n00.click", "n00")
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert out.decode() == "accepted: installed network n00\n"
        plan = json.loads((tmp_path / "state" / "installed" / "current" / "plan.json").read_text())
        # stock Counter: kernel for this instance (no COUNT_CALL), and costed: its handler calls cost 0 without
        # the keywords, and RateEWMA's update has a declared cost
        assert err.decode().splitlines() == [stock_note(len(plan["decisions"]))]
        assert plan["database_layers"] == [str(empty), "stock"]
        assert plan["placements"]["n00"]["c"]["side"] == "kernel"
        bad = tmp_path / "bad.click"
        bad.write_text("FromDevice(eth1) -> Mine -> Queue -> ToDevice(eth1);\n")
        p = install(tmp_path, dm.sock, bad, "n01")
        _, err = p.communicate(timeout=120)
        assert p.returncode == 1
        assert err.decode().splitlines() == [
            f"{bad}:1:21: MN103: class Mine is not a stock Click element class; it needs a certification record before "
            "it can be merged", "certify: merge refused: network n01 failed the checks",
            "certify: refused: network n01 was not installed"]
    finally:
        dm.stop()


def test_serve_no_certify_is_explicit_and_warned_on_every_install(tmp_path):
    write_system(tmp_path, 1, os.getuid())
    dm = Daemon(tmp_path, "--no-certify").start()
    try:
        p = install(tmp_path, dm.sock, tmp_path / "n00.click", "n00")
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0
        assert err.decode() == ("certify: warning: certification is off (--no-certify): the networks' elements are "
                                "placed in the master without any certification record\n")
        plan = json.loads((tmp_path / "state" / "installed" / "current" / "plan.json").read_text())
        assert plan["certification"] == "none"
    finally:
        dm.stop()
    assert ("certify: warning: certification is off (--no-certify): every install is merged without any "
            "certification record") in (tmp_path / "daemon.log").read_text().splitlines()
    r = certify("serve", "--system", str(tmp_path / "system.yaml"), "--state", str(tmp_path / "s2"), "--no-certify",
                "--db", str(tmp_path))
    assert (r.returncode, r.stderr.decode()) == (2, "certify serve: error: --no-certify reads no database: drop --db, "
                                                    "--no-stock, --source-root and --analyzer-policy, or drop "
                                                    "--no-certify\n")


# -- one decision: a record of another analyzer version is refused by gate, merge and serve alike --------------


STALE = f"certified by analyzer certify-analyzers 0.1.0, current is {ANALYZER_VERSION}"


def test_stale_analyzer_version_is_refused_by_gate_merge_and_serve(tmp_path):
    db = write(tmp_path / "db", "Mine", analyzer="certify-analyzers 0.1.0")
    system, net = network(tmp_path, "FromDevice(eth1) -> m :: Mine -> Queue -> ToDevice(eth1);\n")
    r = certify("gate", "--system", system, "--db", db.path)
    assert r.returncode == 1
    assert r.stdout.decode() == f"{net}:1:21: GA102: the record of class Mine is stale: {STALE} [Mine]\n"
    refusal = f"{net}:1:21: MN301: element 'm' of network n00: class Mine cannot run anywhere: stale record: {STALE} [Mine]"
    r = certify("merge", "--system", system, "--db", db.path, "--out", str(tmp_path / "out"))
    assert r.returncode == 1 and not (tmp_path / "out").exists()
    assert refusal in r.stderr.decode().splitlines()
    dm = Daemon(tmp_path, "--db", db.path).start()
    try:
        p = install(tmp_path, dm.sock, net, "n00")
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1 and out == b""
        assert refusal in err.decode().splitlines()
        assert err.decode().splitlines()[-1] == "certify: refused: network n00 was not installed"
    finally:
        dm.stop()
    r = certify("db", "verify", "--db", db.path)
    assert r.returncode == 1 and r.stdout.decode() == f"{db.path}/Mine.json: stale: {STALE}\n"


def test_records_certified_under_another_analyzer_policy(tmp_path):
    extra = tmp_path / "analyzer-policy.yaml"
    extra.write_text("version: 1\n")
    db = Database(str(tmp_path / "db"), create=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mine.cc").write_text("// Mine\n")
    db.write(make_record("Mine", [("mine.cc", sha256_file(str(tmp_path / "src" / "mine.cc")))], ANALYZER_VERSION,
                         policy_version(str(extra)), "kernel", ["no finding"], [], source_base="../src",
                         port_count="1/1", processing="a/a"))
    system, net = network(tmp_path, "FromDevice(eth1) -> Mine -> Queue -> ToDevice(eth1);\n")
    r = certify("gate", "--system", system, "--db", db.path)
    assert r.returncode == 1
    assert r.stdout.decode() == (f"{net}:1:21: GA102: the record of class Mine is stale: certified under policy "
                                 f"{policy_version(str(extra))[:19]}, current is {policy_version(None)[:19]} [Mine]\n")
    r = certify("gate", "--system", system, "--db", db.path, "--analyzer-policy", str(extra))
    assert (r.returncode, r.stdout) == (0, b"")


def test_gate_merge_and_serve_ask_the_one_decision_function(tmp_path, monkeypatch):
    """In process: every caller reaches element_db.decision.decide, and nothing else decides."""
    import element_db.decision as decision
    from certify.coordinator import Coordinator
    from certify.gate import run_gate
    from certify.mergejob import run_merge
    from element_db.store import LayeredDatabase
    from merge.policy import load_policy
    from merge.system import load_system

    db = write(tmp_path / "db", "Mine", analyzer="certify-analyzers 0.1.0")
    system, net = network(tmp_path, "FromDevice(eth1) -> m :: Mine -> Queue -> ToDevice(eth1);\n")
    calls = []
    real = decision.decide

    def spy(found, ctx, *rest):
        d = real(found, ctx)
        calls.append((d.klass, d.state, d.reason))
        return d

    monkeypatch.setattr(decision, "decide", spy)
    monkeypatch.delenv("CLICK_SRC", raising=False)
    want = ("Mine", "stale", STALE)
    res = run_gate(load_system(system), LayeredDatabase.open([db.path]), load_policy())
    assert not res.passed and want in calls and [f.rule for f in res.findings] == ["GA102"]
    calls.clear()
    out = run_merge(load_system(system), load_policy(), LayeredDatabase.open([db.path]), "linuxmodule")
    assert not out.ok and out.refused == ["n00"] and want in calls
    calls.clear()
    co = Coordinator(system, str(tmp_path / "state"), str(tmp_path / "installed"), db=db.path)
    reply = co.handle(os.getuid(), {"version": 1, "op": "install", "network": "n00", "config": open(net).read()})
    assert reply["verdict"] == "refused" and want in calls
    assert any(f"MN301: element 'm' of network n00: class Mine cannot run anywhere: stale record: {STALE}" in m
               for m in reply["messages"])
