"""Every fixture configuration flattens to exactly its golden output.

The goldens were checked against the real click-flatten (see
test_against_click.py, which re-checks them whenever a Click tree is
available).  Regenerate with ``pytest --update-golden`` after a reviewed change.
"""

import glob
import os

import pytest

from merge.lang import load_file, load_text, same_graph, unparse

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "click")
CASES = sorted(glob.glob(os.path.join(HERE, "*.click")))


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p) for p in CASES])
@pytest.mark.parametrize("expand_vars", [False, True], ids=["plain", "expand-vars"])
def test_flatten_matches_golden(path, expand_vars, update_golden, monkeypatch):
    monkeypatch.chdir(HERE)
    rel = os.path.basename(path)
    text = unparse(load_file(rel, flatten=True, expand_vars=expand_vars).graph)
    golden = path[: -len(".click")] + (".flatx" if expand_vars else ".flat")
    if update_golden or not os.path.exists(golden):
        if not update_golden:
            pytest.fail(f"missing golden file {golden}; run pytest --update-golden")
        with open(golden, "w") as f:
            f.write(text)
    with open(golden) as f:
        assert text == f.read()


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p) for p in CASES])
def test_round_trip(path, monkeypatch):
    """parse -> flatten -> unparse -> parse gives the identical graph."""
    monkeypatch.chdir(HERE)
    g1 = load_file(os.path.basename(path), flatten=True).graph
    text = unparse(g1)
    g2 = load_text(text, "again.click", flatten=True).graph
    assert same_graph(g1, g2)
    assert unparse(g2) == text
    assert g1.graph["defines"] == g2.graph["defines"]
    assert g1.graph["requirements"] == g2.graph["requirements"]
