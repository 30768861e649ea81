"""``certify bounds`` through its ``run()``: JSON shape, text, whole-program, annotations, bad input."""

from __future__ import annotations

import argparse
import json
import os

import pytest

from certify import bounds_cmd

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "bounds")
CLI = os.path.join(HERE, "cli")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="certify")
    bounds_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bounds", *argv])
    code = args.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([os.path.join(HERE, "nested.c"), "--json"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) >= {"loops", "functions"}
    for lp in doc["loops"]:
        assert set(lp) >= {"file", "line", "column", "function", "kind", "bound", "bound_symbolic", "status"}
        assert lp["status"] in ("exact", "upper", "annotated", "unbounded")
        assert lp["kind"] in ("for", "while", "do", "goto")
    first = doc["loops"][0]
    assert (first["line"], first["column"], first["kind"], first["function"]) == (4, 3, "for", "nests")
    assert first["bound"] == "Max(0, n)" and first["bound_symbolic"] == "Max(0, n)"
    assert [f["name"] for f in doc["functions"]] == ["nests"]
    assert doc["functions"][0]["line"] == 2


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([os.path.join(HERE, "hazards.c")], capsys)
    assert code == 0
    assert "hazards.c:7:3: for in hazards: bound - [unbounded]: unsigned variable compared '>= 0' is always true" in out
    assert "function recursive: cost oo" in out
    assert "KS502" in out


def test_define_and_whole_program(capsys: pytest.CaptureFixture[str]) -> None:
    path = os.path.join(CLI, "defined.c")
    code, out, _ = run([path, "-D", "LIMIT=12", "--json"], capsys)
    assert code == 0
    loops = json.loads(out)["loops"]
    assert loops[0]["bound"] == "12" and loops[0]["status"] == "exact"
    assert loops[1]["status"] == "unbounded"
    code, out, _ = run([path, "-DLIMIT=n*2", "--whole-program", "--json"], capsys)
    loop = json.loads(out)["loops"][0]
    assert (loop["bound"], loop["bound_symbolic"]) == ("6", "Max(0, 2*n)")


def test_external_annotations(capsys: pytest.CaptureFixture[str]) -> None:
    path = os.path.join(CLI, "defined.c")
    code, out, _ = run([path, "-DLIMIT=4", "--annotations", os.path.join(CLI, "external.yaml"), "--json"], capsys)
    assert code == 0
    loop = json.loads(out)["loops"][1]
    assert (loop["line"], loop["bound"], loop["status"]) == (5, "64", "annotated")


@pytest.mark.parametrize("argv, where", [
    (["missing.c"], "missing.c:1:1: error:"),
    ([os.path.join(CLI, "broken.c")], "broken.c:2:33: error:"),
    ([os.path.join(CLI, "defined.c"), "--annotations", os.path.join(CLI, "defined.c")], "defined.c:1:1: error:"),
    ([os.path.join(CLI, "defined.c"), "--annotations", "nope.yaml"], "nope.yaml:1:1: error:"),
])
def test_bad_input(argv: list[str], where: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and where in err and "Traceback" not in err


def test_symbols_record_what_fills_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([os.path.join(HERE, "members.cc"), "--json"], capsys)
    assert code == 0
    symbols = json.loads(out)["symbols"]
    assert symbols["_burst"] == "configuration argument BURST"
    assert symbols["p_length"] == "packet length"
    assert "_len" not in symbols  # fills no bound or cost
