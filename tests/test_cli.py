"""The certify command as a user runs it: exit statuses, one-line errors, no tracebacks."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "click")


def run(*args, stdin=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "certify", *args], input=stdin, capture_output=True, cwd=cwd, timeout=120
    )


def assert_one_line_error(r, where):
    assert r.returncode == 2, r
    err = r.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(where), err
    assert ": error: " in lines[0]
    assert r.stdout == b""


def test_parse_json_contract():
    r = run("parse", "--flatten", "--json", "compound.click", cwd=HERE)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) >= {"elements", "connections"}
    assert doc["elements"][0] == {"name": "a", "class": "Idle", "config": "", "file": "compound.click", "line": 7}
    assert {"from": "a", "from_port": 0, "to": "compound/x", "to_port": 0} in doc["connections"]
    for c in doc["connections"]:
        assert set(c) == {"from", "from_port", "to", "to_port"}


def test_parse_text_is_canonical_click():
    r = run("parse", "--flatten", "compound.click", cwd=HERE)
    assert r.returncode == 0
    with open(os.path.join(HERE, "compound.flat"), "rb") as f:
        assert r.stdout == f.read()


def test_parse_without_flatten_keeps_compounds():
    r = run("parse", "--json", "overload.click", cwd=HERE)
    doc = json.loads(r.stdout)
    classes = {e["name"]: e["class"] for e in doc["elements"]}
    assert classes["MyQueue@2"] == "MyQueue" and classes["t"] == "Two" and classes["Sink@4"] == "Sink"
    # and the text form re-parses to the same flattened graph
    text = run("parse", "overload.click", cwd=HERE).stdout
    again = run("parse", "--flatten", "-", stdin=text, cwd=HERE).stdout
    direct = run("parse", "--flatten", "overload.click", cwd=HERE).stdout
    assert again == direct


def test_stdin_and_expression():
    r = run("parse", "-", stdin=b"Idle -> Discard;")
    assert r.returncode == 0 and b"Idle@1 [0] -> [0] Discard@2;" in r.stdout
    r = run("parse", "-e", "Idle -> Discard;", "--json")
    assert json.loads(r.stdout)["connections"] == [{"from": "Idle@1", "from_port": 0, "to": "Discard@2", "to_port": 0}]


def test_syntax_error(tmp_path):
    p = tmp_path / "bad.click"
    p.write_text("a :: Idle;\nb :: Discard;\na -> -> b;\n")
    assert_one_line_error(run("parse", str(p)), f"{p}:3:6: error: expected an element")


def test_missing_file(tmp_path):
    assert_one_line_error(run("parse", str(tmp_path / "nope.click")), f"{tmp_path / 'nope.click'}:0:0: error: cannot read")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.click"
    p.write_bytes(b"")
    assert_one_line_error(run("parse", str(p)), f"{p}:1:1: error: empty configuration")


def test_binary_garbage(tmp_path):
    p = tmp_path / "garbage.click"
    p.write_bytes(bytes(range(256)) * 4)
    assert_one_line_error(run("parse", "--flatten", str(p)), f"{p}:1:1: error: syntax error near")


def test_ten_megabyte_single_line(tmp_path):
    p = tmp_path / "big.click"
    p.write_bytes(b"x :: Message(" + b"a" * (10 * 1024 * 1024))
    assert_one_line_error(run("parse", str(p)), f"{p}:1:13: error: unterminated configuration string")
    p.write_bytes(b"Idle -> Discard; " * (10 * 1024 * 1024 // 17) + b"oops")
    assert_one_line_error(run("parse", str(p)), f"{p}:1:")


def test_usage_error_is_exit_2():
    r = run("parse")
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    r = run("frobnicate")
    assert r.returncode == 2 and b"Traceback" not in r.stderr


def test_warning_goes_to_stderr_and_parse_succeeds():
    r = run("parse", "-e", "c :: { input -> x :: Discard; -> Paint -> output };\nIdle -> c -> Discard;")
    assert r.returncode == 0
    assert b"warning: suggest 'input ->'" in r.stderr


@pytest.mark.parametrize("module", ["certify", "element_db", "analyzers", "merge", "reports"])
def test_packages_importable(module):
    __import__(module)


def test_console_script_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "certify")
    if not os.path.exists(exe):
        pytest.skip("console script not installed in this environment")
    r = subprocess.run([exe, "--version"], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"certify ")
