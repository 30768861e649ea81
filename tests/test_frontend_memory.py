"""The front end's memory-saving paths give exactly what the plain ones give.

``load_text`` and ``load_file`` build each file-level statement as soon as it is parsed (the syntax tree of
the whole file is never held) and empty the router into the graph; the router keeps an index of connections
for tunnels only.  These tests pin that the results, errors and warnings are those of the plain pipeline
(parse the whole file, build, flatten, graph).  Memory itself is measured in bench/bench_parse.py.
"""

import glob
import os

import pytest

from merge.lang import ClickError, load_file, load_text, to_json
from merge.lang.build import Builder
from merge.lang.flatten import flatten
from merge.lang.frontend import build_graph
from merge.lang.graph import from_router
from merge.lang.parser import Parser, parse_text
from merge.lang.stock_classes import stock_classes

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "click")
CASES = sorted(glob.glob(os.path.join(HERE, "*.click")))


def everything(g):
    """A graph as comparable data, in its own order: nodes with all attributes, edges with keys."""
    return (
        sorted((k, repr(v)) for k, v in g.graph.items()),
        [(n, list(d.items())) for n, d in g.nodes(data=True)],
        [(u, v, k, list(d.items())) for u, v, k, d in g.edges(keys=True, data=True)],
    )


def outcome(fn):
    try:
        p = fn()
    except ClickError as e:
        return ("error", str(e))
    return (everything(p.graph), [str(w) for w in p.warnings], p.libraries)


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p) for p in CASES])
@pytest.mark.parametrize("flat", [True, False], ids=["flat", "unflat"])
def test_streaming_load_is_build_graph_of_the_whole_tree(path, flat, monkeypatch):
    monkeypatch.chdir(HERE)
    name = os.path.basename(path)
    with open(name) as f:
        text = f.read()

    def plain():
        p = Parser(text, name)
        cfg = p.parse()
        return build_graph(cfg, flat, False, None, list(p.warnings))

    expected = outcome(plain)
    assert outcome(lambda: load_text(text, name, flatten=flat)) == expected
    assert outcome(lambda: load_file(name, flatten=flat)) == expected


BUILD_ERROR_THEN_SYNTAX_ERROR = "Idle -> x;\nIdle -> Discard;\na :: Idle -> ;\n"


def test_a_syntax_error_anywhere_wins_over_an_earlier_build_error(tmp_path):
    # 'x' is undeclared (a build error, line 1), but line 3 does not parse: as when the whole file is parsed first
    with pytest.raises(ClickError) as info:
        parse_text(BUILD_ERROR_THEN_SYNTAX_ERROR, "t.click")
    expected = str(info.value)
    assert "t.click:3:" in expected
    with pytest.raises(ClickError) as info:
        load_text(BUILD_ERROR_THEN_SYNTAX_ERROR, "t.click")
    assert str(info.value) == expected
    path = tmp_path / "t.click"
    path.write_text(BUILD_ERROR_THEN_SYNTAX_ERROR)
    with pytest.raises(ClickError) as info:
        load_file(str(path))
    assert str(info.value) == expected.replace("t.click", str(path))


def test_the_first_build_error_is_reported_when_the_file_parses():
    text = "Idle -> x;\nIdle -> y;\nIdle -> Discard;\n"
    with pytest.raises(ClickError) as info:
        load_text(text, "t.click")
    assert str(info.value) == "t.click:1:9: error: undeclared element 'x'"
    with pytest.raises(ClickError) as info:
        load_text("// only a comment\n", "t.click")
    assert str(info.value) == "t.click:1:1: error: empty configuration: no statements"


def test_warnings_come_in_order_file_library_flattening(tmp_path):
    # a parse warning in the library, one in the file after the require, one from flattening
    (tmp_path / "lib.click").write_text("elementclass L { x :: Idle; -> Paint -> output }\n")
    main = tmp_path / "main.click"
    main.write_text(
        "require(library lib.click);\n"
        "elementclass M { y :: Idle; -> Paint -> output }\n"
        "Idle -> M -> Print($nosuch) -> Discard;\n"
        "Idle -> L -> Discard;\n"
    )
    p = load_file(str(main))
    where = [(w.location.file, w.location.line) for w in p.warnings]
    assert where == [(str(main), 2), (str(tmp_path / "lib.click"), 1), (str(main), 3)]
    assert "suggest 'input ->'" in p.warnings[0].message
    assert "undefined variable '$nosuch'" in p.warnings[2].message
    assert p.libraries == [os.path.realpath(tmp_path / "lib.click")]


def test_build_graph_leaves_the_tree_it_is_given_alone():
    cfg = parse_text("a, b :: Paint(1);\nIdle -> a -> ( input -> c :: Counter -> output ) -> b -> Discard;\n", "t.click")
    before = repr(cfg)
    first = build_graph(cfg, True, False, None, [])
    assert repr(cfg) == before
    second = build_graph(cfg, True, False, None, [])
    assert everything(first.graph) == everything(second.graph)


def test_iter_statements_gives_the_statements_of_parse():
    with open(os.path.join(HERE, CASES[0])) as f:
        text = f.read()
    assert repr(list(Parser(text, "t.click").iter_statements())) == repr(Parser(text, "t.click").parse().statements)


def test_a_shared_declaration_makes_one_class():
    # "a, b :: {...}": both elements are instances of the one anonymous compound class
    g = load_text("a, b :: { input -> Paint(7) -> output };\nIdle -> a -> b -> Discard;\n", "t.click", flatten=False).graph
    assert g.nodes["a"]["compound"] == g.nodes["b"]["compound"]
    flat = load_text("a, b :: { input -> Paint(7) -> output };\nIdle -> a -> b -> Discard;\n", "t.click").graph
    assert [(n, d["klass"], d["config"]) for n, d in flat.nodes(data=True)] == [
        ("Idle@3", "Idle", ""), ("Discard@4", "Discard", ""), ("a/Paint@1", "Paint", "7"), ("b/Paint@1", "Paint", "7")]


def _router(text):
    b = Builder(stock_classes())
    r = b.build(parse_text(text, "t.click"))
    return flatten(r)


def test_consuming_the_router_gives_the_same_graph_and_empties_it():
    text = "Idle -> t :: Tee -> ( input -> output ) -> Discard;\nt [1] -> c :: { input -> Counter -> output } -> Discard;\n"
    plain = from_router(_router(text), "t.click")
    r = _router(text)
    consumed = from_router(r, "t.click", consume=True)
    assert everything(consumed) == everything(plain)
    assert to_json(consumed) == to_json(plain)
    assert r.elements == [] and r.connections == [] and r.names == {}


def test_connections_of_any_element_after_flattening():
    r = _router("t :: Tee;\nIdle -> t;\nt [0] -> Discard;\nt [1] -> c :: { input -> Counter -> output } -> Discard;\n")
    by_name = {e.name: e for e in r.live_elements()}
    tee = by_name["t"]
    assert sorted((c.src_port, c.dst.name) for c in r.connections_from(tee)) == [(0, "Discard@3"), (1, "c/Counter@1")]
    assert [c.src.name for c in r.connections_to(tee)] == ["Idle@2"]
    counter = by_name["c/Counter@1"]
    assert [c.dst.name for c in r.connections_from(counter)] == ["Discard@5"]
    assert [(c.src.name, c.src_port) for c in r.connections_to(counter)] == [("t", 1)]
