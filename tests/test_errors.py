"""Malformed configurations: one ClickError with file:line:column, never anything else."""

import pytest

from certify.core.findings import Finding, position
from merge.lang import ClickError, Diagnostic, Location, load_text

CASES = [
    # (configuration, "line:col", message fragment)
    ("a :: Idle;\nb :: Idle;\na -> -> b;\n", "3:6", "expected an element after the connection arrow"),
    ("a :: Idle\n  -> Discard;\n}\n", "3:1", "syntax error near '}'"),
    ("a :: Idle -> ;", "1:14", "expected an element after the connection arrow"),
    ("x :: Idle;\nx [1 -> Discard;", "2:6", "expected ',' or ']' in port list"),
    ("x :: Idle;\nx [a] -> Discard;", "2:4", "port number should be integer"),
    ("x :: Idle -> [0] ;", "1:14", "stranded port"),
    ("a :: Message(\"never closed);\n", "1:14", "unterminated quoted string"),
    ("a :: Message(never closed;\n", "1:13", "unterminated configuration string"),
    ("a :: Idle; /* never\nclosed", "1:12", "unterminated '/*' comment"),
    ("Idle -> x;\n", "1:9", "undeclared element 'x'"),
    ("a :: Idle;\na :: Discard;\n", "2:1", "redeclaration of element 'a'"),
    ("elementclass C { $a | input -> Paint($a) -> output }\nIdle -> C(1, 2) -> Discard;\n", "2:9", "no match for 'C[2 arguments, 1 input, 1 output]'"),
    ("elementclass C { $a, $b | input -> Paint($a) -> output }\nIdle -> C(1) -> Discard;\n", "2:9", "no match"),
    ("elementclass C { COUNT $c | input -> Paint($c) -> output }\nIdle -> C(1) -> Discard;\n", "2:9", "(missing keyword COUNT)"),
    # an unknown compound parameter
    ("elementclass C { $a, COLOR $c | input -> Paint($c) -> output }\nIdle -> C(1, COLOR 2, SIZE 3) -> Discard;\n", "2:9", "(unknown keyword SIZE)"),
    ("elementclass C { $a | input -> Paint($a) -> output || $a, $b | input -> Paint($b) -> output }\nIdle -> C -> Discard;\n", "2:9", "candidates are: C(<arg>)[1 input, 1 output] (takes 1 argument, got 0) at t.click:1:16; C(<arg>, <arg>)[1 input, 1 output] (takes 2 arguments, got 0) at t.click:1:52"),
    ("elementclass C { input -> Paint -> output || input -> Paint -> output; input [1] -> [1] output }\nIdle -> [2] C -> Discard;\n", "2:13", "C[1 input, 1 output] (has 1 input and 1 output)"),
    ("elementclass C { $a, $a | input -> output }", "1:22", "parameter '$a' multiply defined"),
    ("elementclass C { COUNT $c, $a | input -> output }", "1:28", "parameters out of order"),
    ("c :: { input -> Paint -> output };\nIdle -> c -> Discard;\nIdle -> [1] c;\n", "1:1", "'c' has no input 1"),
    ("c :: { input -> Paint -> output };\nIdle -> c;\n", "1:1", "'c' output 0 unused"),
    ("c :: { input [1] -> Paint -> output };\n", "1:6", "'<anonymous1>' input 0 missing"),
    ("c :: { Idle -> input };\n", "1:6", "pseudoelement 'input' may only be used as output"),
    ("Idle -> input;\n", "1:9", "undeclared element 'input'"),
    ("elementclass A { $x | ... }\n", "1:23", "syntax error near '...'"),
    ("elementclass A { ... }\n", "1:18", "'...' should occur last"),
    ("elementclass { input -> output }\n", "1:14", "expected element type name"),
    ("a :: Idle -> b :: Discard;\nb(3) -> a;\n", "2:3", "configuration string ignored on element reference"),
    ("Queue :: Queue;\n", "1:1", "class 'Queue' used as element name"),
    ("x :: Idle;\nelementclass x { input -> output }\n", "2:14", "'x' already used as an element name"),
    ("define($a 1, $a 2);\n", "1:8", "parameter '$a' multiply defined"),
    ("define(a 1);\n", "1:8", "bad 'define' declaration"),
    ("s :: Tee; s [0,1] -> [0,1] d :: Discard;\n", "1:19", "many-to-many connections require '=>'"),
    ("s :: Tee; s [0,1] => d :: Discard, Discard, Discard;\n", "1:19", "connection mismatch: 2 outputs connected to 3 inputs"),
    ("s :: Tee; s [0-] => [0-] d :: Discard;\n", "1:18", "at most one expandable port"),
    ("1 :: Idle;\n", "1:1", "all-digit component"),
    ("Idle -> (input -> x :: Paint) -> Discard;\n", "1:9", "'@2' has no output 0"),
    ("Idle -> (input -> output);\n", "1:9", "output ports ignored at end of chain"),
    ("Idle -> Discard [0];\n", "1:17", "output ports ignored at end of chain"),
    ("[0] Idle -> Discard;\n", "1:1", "input ports ignored at start of chain"),
    ("#!/bin/click\nIdle -> Discard;\n", "1:1", "unknown preprocessor directive"),
    ("provide(x);\n", "1:1", "syntax error near 'provide'"),
    ("a :: Idle; a, b", "1:15", "undeclared element 'b'"),
    ("x :: { input -> output", "1:6", "is never closed"),
    ("Idle -> (Paint", "1:9", "is never closed"),
    ("Idle -> Paint(1)(2);", "1:17", "syntax error"),
    ("x :: Idle; x [1] -> [99999999] Discard;", "1:22", "port number 99999999 too large"),
    ("Idle -> Discard;\n\x00\x01garbage", "2:1", "syntax error near"),
    ("a :: Idle\n# 40 \"other.click\"\n-> b;\n", "40:4", "undeclared element 'b'"),
]


@pytest.mark.parametrize("text,where,message", CASES)
def test_error_location_and_message(text, where, message):
    with pytest.raises(ClickError) as info:
        load_text(text, "t.click")
    err = info.value
    line, col = where.split(":")
    assert (err.location.line, err.location.column) == (int(line), int(col)), str(err)
    assert message in err.message, str(err)
    assert str(err).count("\n") == 0


def test_error_reports_virtual_file_from_line_directive():
    with pytest.raises(ClickError) as info:
        load_text("a :: Idle\n# 40 \"other.click\"\n-> b;\n", "t.click")
    assert info.value.location.file == "other.click"


def test_recursive_compound_is_refused():
    # Classes are not recursive: inside its own body 'A' could only mean an
    # earlier class A; there is none, so Click would take it for an unknown
    # primitive.  certify refuses it where it is written.
    with pytest.raises(ClickError) as info:
        load_text("elementclass A {\n  input -> A -> output\n}\nIdle -> A -> Discard;", "t.click")
    assert (info.value.location.line, info.value.location.column) == (2, 12)
    assert "recursive compound element class 'A'" in info.value.message


def test_mutually_recursive_compounds_are_refused():
    text = "elementclass A { input -> B -> output }\nelementclass B { input -> A -> output }\nIdle -> B -> Discard;"
    with pytest.raises(ClickError) as info:
        load_text(text, "t.click")
    # A's body uses B before any B exists, so that B could only be an unknown
    # primitive; defining B afterwards (in terms of A) is the mistake.
    assert (info.value.location.line, info.value.location.column) == (2, 14)
    assert "class 'B' is defined here but was used before, at t.click:1:27" in info.value.message


def test_wrapping_a_stock_class_of_the_same_name_is_not_recursion():
    # click(5)'s own example: the inner Queue is the stock Queue.
    g = load_text("elementclass Queue { input -> Queue -> Shaper(1000) -> output }\nIdle -> Queue -> Discard;", "t.click").graph
    assert {(n, d["klass"]) for n, d in g.nodes(data=True)} >= {("Queue@2/Queue@1", "Queue"), ("Queue@2/Shaper@2", "Shaper")}


def test_class_names_from_a_given_list():
    # A lower-case class of one's own package is a class when listed.
    g = load_text("Idle -> mycounter -> Discard;", "t.click", known_classes={"mycounter"}).graph
    assert "mycounter@2" in g


def test_empty_configuration_is_refused():
    for text in ("", "   \n\t", "// just a comment\n/* and another */\n"):
        with pytest.raises(ClickError) as info:
            load_text(text, "empty.click")
        assert "empty configuration" in info.value.message


def test_undefined_variables_are_warned_where_written():
    text = "elementclass C { $a |\n  input -> Paint($a, $b, ${c-1}, \"$d\", '$e') -> output }\nIdle -> C(1) -> Discard;"
    parsed = load_text(text, "t.click")
    got = [(w.location.line, w.location.column, w.message) for w in parsed.warnings]
    assert got == [
        (2, 12, "undefined variable '$b' in the configuration of 'C@2/Paint@1' is kept as written"),
        (2, 12, "undefined variable '$d' in the configuration of 'C@2/Paint@1' is kept as written"),
    ]
    cfg = {n: d["config"] for n, d in parsed.graph.nodes(data=True)}
    assert cfg["C@2/Paint@1"] == "1, $b, 1, \"$d\", '$e'"


# --- positions are printed as compilers print them: an unknown line or column is left out, never ":0" ---

@pytest.mark.parametrize("line, column, text", [
    (3, 6, "t.click:3:6"),
    (3, 0, "t.click:3"),
    (0, 0, "t.click"),
    (0, 7, "t.click"),  # a column without a line means nothing
])
def test_position_leaves_out_what_is_unknown(line, column, text):
    assert position("t.click", line, column) == text
    assert str(Location("t.click", line, column)) == text


def test_error_without_position_reads_file_colon_error():
    assert str(ClickError(Location("router.click", 0, 0), "cannot read")) == "router.click: error: cannot read"
    assert str(ClickError(Location("router.click", 4, 0), "bad line")) == "router.click:4: error: bad line"
    assert str(ClickError(Location("certify", 0, 0), "no database")) == "certify: error: no database"
    assert str(Diagnostic(Location("t.click", 2, 0), "warning", "w")) == "t.click:2: warning: w"


def test_finding_without_position_reads_file_colon_rule():
    assert str(Finding("e.cc", 0, 0, "KS001", "error: x")) == "e.cc: KS001: error: x"
    assert str(Finding("e.cc", 9, 0, "KS101", "writes g", symbol="g")) == "e.cc:9: KS101: writes g [g]"
    assert str(Finding("e.cc", 9, 5, "KS101", "writes g", symbol="g")) == "e.cc:9:5: KS101: writes g [g]"
