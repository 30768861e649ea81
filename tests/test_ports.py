"""Port and push/pull checks (merge.ports): exact findings on small graphs, and the merge's last check of its
own output (certify.mergejob), which refuses to write a master whose connections Click would refuse."""

import os

import networkx as nx
import pytest

import merge.pipeline
from certify.mergejob import run_merge
from element_db.store import LayeredDatabase
from merge.lang.stock_classes import stock_elements
from merge.policy import load_policy
from merge.ports import check_ports, resolve_processing
from merge.system import load_system

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def graph(nodes, edges):
    g = nx.MultiDiGraph()
    for i, (n, klass) in enumerate(nodes, 1):
        g.add_node(n, klass=klass, config="", file="t.click", line=i, column=1)
    for u, fp, v, tp in edges:
        g.add_edge(u, v, key=(fp, tp), from_port=fp, to_port=tp)
    return g


def found(g):
    return [(f.rule, f.line, f.element, f.message) for f in check_ports(g, stock_elements(), network="n")]


def test_pull_output_into_push_input():
    g = graph([("s", "InfiniteSource"), ("q1", "Queue"), ("q2", "Queue"), ("u", "Unqueue"), ("d", "Discard")],
              [("s", 0, "q1", 0), ("q1", 0, "q2", 0), ("q2", 0, "u", 0), ("u", 0, "d", 0)])
    assert found(g) == [("MN203", 3, "q2", "pull output q1 [0] is connected to push input [0] q2")]


def test_agnostic_conflict_is_reported_once_at_its_first_agnostic_element():
    g = graph([("u", "Unqueue"), ("b", "Paint"), ("a", "Paint"), ("to", "ToDevice"), ("q", "Queue"),
               ("s", "InfiniteSource")],
              [("s", 0, "q", 0), ("q", 0, "u", 0), ("u", 0, "b", 0), ("b", 0, "a", 0), ("a", 0, "to", 0)])
    assert found(g) == [("MN203", 3, "a", "agnostic 'a' (Paint) is connected to both push and pull ports")]


@pytest.mark.parametrize("sink, pull_input_twice", [("a_to", True), ("z_to", False)])
def test_a_conflicting_group_takes_the_processing_of_its_first_fixed_port(sink, pull_input_twice):
    """Two pushes into an agnostic Null that a ToDevice pulls: the group is push and pull at once; its ports take
    the processing of the group's first fixed port (by element name), here the ToDevice's pull input or the
    Unqueues' push outputs, and only a pull input connected twice is a second error."""
    g = graph([("s", "InfiniteSource"), ("q", "Queue"), ("uq1", "Unqueue"), ("uq2", "Unqueue"), ("p", "Null"),
               (sink, "ToDevice")],
              [("s", 0, "q", 0), ("q", 0, "uq1", 0), ("q", 0, "uq2", 0), ("uq1", 0, "p", 0), ("uq2", 0, "p", 0),
               ("p", 0, sink, 0)])
    conflict = ("MN203", 5, "p", "agnostic 'p' (Null) is connected to both push and pull ports")
    twice = ("MN204", 5, "p", "'p' (Null) pull input 0 is connected more than once")
    assert found(g) == ([conflict, twice] if pull_input_twice else [conflict])
    assert resolve_processing(g, stock_elements())[("p", "i", 0)] == ("l" if pull_input_twice else "h")


def test_the_merge_refuses_to_write_a_master_its_own_edges_break(monkeypatch):
    """A connection the combine adds (here a second one from a dispatch Classifier's push output, as a merger bug
    would add it) is caught by the check of the whole master: nothing is written."""
    combine = merge.pipeline.merge_networks

    def broken(*args, **kw):
        master = combine(*args, **kw)
        g = master.graph
        u, v, d = next((u, v, d) for u, v, d in g.edges(data=True) if u.endswith("/gre") and v.endswith("/inbox"))
        w = next(x for x in g if x.endswith("/inbox") and x != v)
        g.add_edge(u, w, key=(d["from_port"], 0), from_port=d["from_port"], to_port=0)
        master.sections[-1].edges.append((u, d["from_port"], w, 0))
        return master

    monkeypatch.setattr(merge.pipeline, "merge_networks", broken)
    system = load_system(os.path.join(ROOT, "examples", "system.yaml"))
    with pytest.raises(RuntimeError, match="merged configuration fails its port checks: .*MN204.*push output"):
        run_merge(system, load_policy(), LayeredDatabase.open(None, True), "linuxmodule")
