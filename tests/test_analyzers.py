"""The analyzers beyond single rules: fail-closed behaviour, call paths, policy, suppressions, CLI, engine."""

from __future__ import annotations

import argparse
import json
import os
import re

import pytest

from analyzers import engine
from analyzers.analysis import analyze_file
from analyzers.checks.state import StateCheck
from analyzers.conditionals import KERNEL_ENV, USER_ENV, evaluate, scan
from analyzers.frontend import ParseOptions, system_include_dirs
from analyzers.policy import PolicyError, load_policy
from analyzers.rules import RULES
from certify.element_cmd import add_parser, run

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "analyzers")
INCLUDE = os.path.join(HERE, "fixtures", "include")  # test-only stubs (asm/)
STUBS = os.path.join(os.path.dirname(HERE), "examples", "include")  # the stub Click headers, shared with the demo
OPTS = ParseOptions(includes=(INCLUDE, STUBS))


def fixture(name: str) -> str:
    return os.path.join(FIX, name)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


# --- rules and policy -------------------------------------------------------------------------

def test_rule_catalog_ids_are_unique_ranged_and_documented(policy):
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert len({r.symbol for r in RULES}) == len(RULES)
    for r in RULES:
        assert re.fullmatch(r"KS[0-5]\d\d", r.id)
        assert r.rationale and r.message
        assert r.id in policy.verdicts, f"{r.id} has no verdict class in the default policy"
        if r.id not in ("KS002",):
            assert r.bad, f"{r.id} has no bad example"


def test_user_policy_extends_default(tmp_path, policy):
    user = tmp_path / "p.yaml"
    user.write_text("version: 1\nverdicts: {KS410: none}\nallowed_api: ['MyLib::*']\n")
    p = load_policy(str(user))
    assert p.verdict_class("KS410") == "none" and p.verdict_class("KS101") == "userspace"
    assert p.matches("allowed_api", "MyLib::f") and p.matches("allowed_api", "Packet::kill")
    r = analyze_file(fixture("KS410/bad_goto.cc"), OPTS, p)
    # KS410 no longer decides the verdict, but is still reported; the goto cycles it found are unbounded loops,
    # and KS502 keeps them out of the kernel (a style choice about gotos never lets one in)
    assert [e.verdict for e in r.elements] == ["userspace"]
    assert r.elements[0].reasons == ["userspace: KS502 unbounded-loop (2 findings)"]
    assert sorted(f.rule for f in r.elements[0].findings) == ["KS410", "KS410", "KS502", "KS502"]


@pytest.mark.parametrize("text, where", [
    ("version: 2\n", "$.version"),
    ("version: 1\nverdicts: {KS101: maybe}\n", "$.verdicts.KS101"),
    ("version: 1\nbogus: 1\n", "$"),
])
def test_bad_policy_is_located(tmp_path, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as e:
        load_policy(str(path))
    assert str(e.value).startswith(f"{path}:1:1: error: policy {where}")


def test_policy_naming_unknown_rule_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"version": 1, "verdicts": {"KS999": "none"}}')
    with pytest.raises(PolicyError, match="unknown rule KS999"):
        load_policy(str(path))


# --- conditionals -----------------------------------------------------------------------------

@pytest.mark.parametrize("expr, kernel, user", [
    ("CLICK_LINUXMODULE", True, False),
    ("defined(__KERNEL__) && !CLICK_USERLEVEL", True, False),
    ("CLICK_USERLEVEL || CLICK_NS", False, True),
    ("HAVE_FOO && CLICK_LINUXMODULE", None, False),
    ("0 && defined(CLICK_LINUXMODULE)", False, False),
    ("LINUX_VERSION_CODE >= KERNEL_VERSION(2, 6, 0)", None, None),
])
def test_conditions_are_three_valued(expr, kernel, user):
    assert evaluate(expr, KERNEL_ENV) is kernel
    assert evaluate(expr, USER_ENV) is user


def test_kernel_only_regions_nested_and_elif():
    text = "\n".join([
        "#if CLICK_USERLEVEL",   # 1
        "int u;",               # 2
        "#elif CLICK_LINUXMODULE",  # 3
        "int k;",               # 4
        "# if HAVE_X",          # 5
        "int kx;",              # 6
        "# endif",              # 7
        "#endif",               # 8
        "#ifndef CLICK_USERLEVEL",  # 9
        "#include <linux/skbuff.h>",  # 10
        "#endif",               # 11
        "EXPORT_ELEMENT(A B)",  # 12
    ])
    facts = scan("f.cc", text)
    assert [(r.first, r.last, r.code) for r in facts.kernel_only] == [(3, 8, True), (9, 11, False)]
    assert facts.exports == [("A", 12), ("B", 12)]
    assert [(i.name, i.kernel, i.user) for i in facts.includes] == [("linux/skbuff.h", True, False)]


# --- fail-closed behaviour and call paths -----------------------------------------------------

def test_call_path_leads_from_packet_method_to_the_line(policy):
    r = analyze_file(fixture("KS101/bad_global_write.cc"), OPTS, policy)
    by_line = {(os.path.basename(f.file), f.line): f for f in r.elements[0].findings}
    assert by_line[("helper.hh", 6)].path == ("BadWrite::simple_action", "bump_total")
    assert by_line[("bad_global_write.cc", 39)].path == ("BadWrite::simple_action", "Tick::Tick")
    r = analyze_file(fixture("KS101/bad_virtual_override.cc"), OPTS, policy)
    (f,) = r.elements[0].findings
    assert f.path == ("HookBase::simple_action", "BadHook::hook") and f.element == "BadHook"


def test_crash_in_a_check_makes_that_element_error_and_the_run_goes_on(policy, monkeypatch):
    def boom(self, node, parents, ctx):
        raise RuntimeError("injected")

    monkeypatch.setattr(StateCheck, "visit_DECL_REF_EXPR", boom)
    crashed = analyze_file(fixture("KS102/bad_global_read.cc"), OPTS, policy)
    assert [e.verdict for e in crashed.elements] == ["error"]
    assert any(f.rule == "KS002" and "injected" in f.message for f in crashed.elements[0].findings)
    clean = analyze_file(fixture("KS410/good_no_goto.cc"), OPTS, policy)
    assert [e.verdict for e in clean.elements] == ["error"]  # it references a local: the check ran and crashed too
    monkeypatch.undo()
    assert [e.verdict for e in analyze_file(fixture("KS410/good_no_goto.cc"), OPTS, policy).elements] == ["kernel"]


def test_dead_worker_is_an_error_for_its_file_only(monkeypatch):
    real = engine.analyze_file

    def dying(path, *a, **k):
        if path.endswith("bad_goto.cc"):
            os._exit(9)  # what a libclang segfault looks like to the pool
        return real(path, *a, **k)

    monkeypatch.setattr(engine, "analyze_file", dying)  # inherited by the forked workers
    paths = [fixture("KS410/good_no_goto.cc"), fixture("KS410/bad_goto.cc"), fixture("KS101/good_member_state.cc")]
    results = engine.analyze_paths(paths, OPTS, jobs=2)
    verdicts = [[e.verdict for e in r.elements] for r in results]
    assert verdicts == [["kernel"], ["error"], ["kernel"]]
    assert "died" in results[1].elements[0].findings[0].message


def test_userlevel_mode_ignores_kernel_only_code(policy):
    r = analyze_file(fixture("KS304/bad_kernel_only.cc"), OPTS, policy, kernel_mode=False)
    assert [e.verdict for e in r.elements] == ["kernel"]
    assert any("user-level mode" in n for n in r.elements[0].notes)


def test_suppressions_are_listed_with_their_reasons(policy):
    r = analyze_file(fixture("KS003/good_used_suppression.cc"), OPTS, policy)
    (e,) = r.elements
    assert e.verdict == "kernel" and not e.findings
    assert sorted((s["rule"], s["reason"]) for s in e.suppressed) == [
        ("KS101", "per-CPU statistics, audited"), ("KS102", "read of a statistic only")]


def test_element_info_strings(policy):
    r = analyze_file(fixture("KS101/bad_global_write.cc"), OPTS, policy)
    info = r.elements[0].info
    assert info["class_name"] == "BadWrite" and info["port_count"] == "1/1" and info["processing"] == "a/a"


# --- front end --------------------------------------------------------------------------------

def test_system_include_dirs_found():
    dirs = system_include_dirs()
    assert dirs and all(os.path.isdir(d) for d in dirs)


def test_compile_commands_database(tmp_path, policy):
    src = fixture("KS201/good_router_lookalike.cc")
    (tmp_path / "compile_commands.json").write_text(json.dumps([{
        "directory": str(tmp_path), "file": src,
        "arguments": ["c++", "-c", "-I", INCLUDE, "-I", STUBS, "-DCLICK_USERLEVEL=1", "-o", "x.o", src]}]))
    r = analyze_file(src, ParseOptions(build_dir=str(tmp_path)), policy)
    assert r.errors == 0 and [e.verdict for e in r.elements] == ["kernel"]
    no_db = analyze_file(src, ParseOptions(), policy)
    assert no_db.errors > 0 and [e.verdict for e in no_db.elements] != ["kernel"]


# --- the command ------------------------------------------------------------------------------

def _run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="certify")
    add_parser(p.add_subparsers(dest="command"))
    return run(p.parse_args(["element", *argv]))


def test_cli_exit_codes_and_text(capsys):
    assert _run([fixture("KS410/good_no_goto.cc"), "-I", INCLUDE, "-I", STUBS]) == 0
    out = capsys.readouterr().out
    assert out.endswith("verdict: GoodNoGoto: kernel\n")
    assert _run([fixture("KS410/bad_goto.cc"), fixture("KS410/good_no_goto.cc"), "-I", INCLUDE, "-I", STUBS]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r".*bad_goto\.cc:15:13: KS410: backward goto that may close a cycle no loop bound covers \[goto\]", lines[0])


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert _run([str(tmp_path / "missing.cc")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("certify: error:")
    bad = tmp_path / "p.yaml"
    bad.write_text("version: [\n")
    assert _run([fixture("KS410/bad_goto.cc"), "--policy", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.match(rf"{re.escape(str(bad))}:\d+:\d+: error: ", err)
    assert _run([fixture("KS410/bad_goto.cc"), "--click-root", str(tmp_path)]) == 2


def test_cli_json_and_sarif(capsys):
    assert _run([fixture("KS201/bad_router.cc"), "-I", INCLUDE, "-I", STUBS, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (e,) = doc["elements"]
    assert {"class", "file", "verdict", "reasons", "findings", "loops", "cost", "ports", "processing"} <= set(e)
    assert e["verdict"] == "userspace" and e["file"].endswith("bad_router.cc")
    f = e["findings"][0]
    assert set(f) >= {"rule", "severity", "message", "file", "line", "column", "symbol", "path"}
    assert _run([fixture("KS201/bad_router.cc"), "-I", INCLUDE, "-I", STUBS, "--sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0" and {r["ruleId"] for r in results} == {"KS201"}


def test_include_guard_is_not_a_condition():
    text = "#ifndef X_HH\n#define X_HH\n#include <net/x.h>\n#if CLICK_LINUXMODULE\nint k;\n#endif\n#endif\n"
    facts = scan("x.hh", text)
    assert [(i.name, i.kernel, i.user) for i in facts.includes] == [("net/x.h", True, True)]
    assert [(r.first, r.last) for r in facts.kernel_only] == [(4, 6)]


def test_inherited_packet_method_in_another_file_of_the_run_is_followed():
    d = os.path.join(FIX, "crossfile")
    alone = engine.analyze_paths([os.path.join(d, "linkderived.cc")], OPTS, jobs=1)
    (e,) = alone[0].elements
    assert e.verdict == "userspace" and [(f.rule, f.symbol) for f in e.findings] == [("KS303", "LinkBase::push")]
    both = engine.analyze_paths([os.path.join(d, "linkderived.cc"), os.path.join(d, "linkbase.cc")], OPTS, jobs=2)
    derived = both[0].elements[0]
    got = sorted((f.rule, os.path.basename(f.file), f.line, f.path) for f in derived.findings)
    assert got == [
        ("KS101", "linkbase.cc", 9, ("LinkBase::push",)),
        ("KS101", "linkderived.cc", 11, ("LinkBase::push", "LinkDerived::note")),
    ]
    base = both[1].elements[0]
    assert [(f.rule, f.line) for f in base.findings] == [("KS101", 9)]  # its own hook writes nothing
