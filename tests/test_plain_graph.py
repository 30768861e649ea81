"""The plain graph (what ``certify parse`` prints from, without networkx) is the networkx graph's content.

``load_plain_text`` and ``load_plain_file`` run the same pipeline as ``load_text`` and ``load_file`` and
differ only in the form of the graph: these tests pin that the nodes, attributes, connections, graph
attributes, warnings and errors are the same, and so are ``to_json`` and ``unparse`` of the two, for every
Click fixture, flattened or not.  That ``certify parse`` does not import networkx is in test_cli.py.
"""

import glob
import os

import pytest

from merge.lang import ClickError, PlainGraph, load_file, load_plain_file, load_plain_text, load_text, to_json, unparse
from merge.lang.graph import connections

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CASES = sorted(glob.glob(os.path.join(FIXTURES, "click", "*.click")) + glob.glob(os.path.join(FIXTURES, "merge", "*.click"))
               + glob.glob(os.path.join(FIXTURES, "merge", "*", "*.click")))
MODES = {"unflat": (False, False), "flat": (True, False), "flat-vars": (True, True)}


def content(g):
    """A graph of either form as comparable data, in its own order."""
    if isinstance(g, PlainGraph):
        nodes = [(n, list(d.items())) for n, d in g.nodes.items()]
        edges = sorted(g.edges)
    else:
        nodes = [(n, list(d.items())) for n, d in g.nodes(data=True)]
        edges = sorted((u, d["from_port"], v, d["to_port"]) for u, v, d in g.edges(data=True))
    return list(g.graph.items()), nodes, edges, connections(g), to_json(g), unparse(g)


def outcome(fn):
    try:
        p = fn()
    except ClickError as e:
        return ("error", str(e))
    return (content(p.graph), [str(w) for w in p.warnings], p.libraries)


@pytest.mark.parametrize("path", CASES, ids=[os.path.relpath(p, FIXTURES) for p in CASES])
@pytest.mark.parametrize("mode", list(MODES))
def test_plain_graph_has_the_content_of_the_networkx_graph(path, mode):
    flat, expand_vars = MODES[mode]
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    expected = outcome(lambda: load_file(path, flatten=flat, expand_vars=expand_vars))
    assert outcome(lambda: load_plain_file(path, flatten=flat, expand_vars=expand_vars)) == expected
    assert outcome(lambda: load_plain_text(text, path, flatten=flat, expand_vars=expand_vars)) == outcome(
        lambda: load_text(text, path, flatten=flat, expand_vars=expand_vars))


def test_a_repeated_connection_is_one_and_ports_keep_connections_apart():
    text = "i :: Idle; d :: Discard;\ni -> d; i -> d; i [1] -> d; i [0] -> [1] d;\n"
    plain = load_plain_text(text, "t.click").graph
    assert sorted(plain.edges) == [("i", 0, "d", 0), ("i", 0, "d", 1), ("i", 1, "d", 0)]
    assert content(plain) == content(load_text(text, "t.click").graph)


@pytest.mark.parametrize("flat", [False, True], ids=["unflat", "flat"])
def test_warnings_are_the_same(flat):
    text = "c :: { input -> x :: Discard; -> Paint -> output };\nIdle -> c -> Discard;\n"
    plain = outcome(lambda: load_plain_text(text, "t.click", flatten=flat))
    assert plain[1] and plain == outcome(lambda: load_text(text, "t.click", flatten=flat))
