"""plan.json's writer (certify.core.jsontext): the standard library's text, byte for byte, on any document."""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from certify.core.jsontext import dumps_sorted

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=8))
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=4)
                   | st.dictionaries(st.integers(-3, 3) | st.text(max_size=2), inner, max_size=3)),
    max_leaves=30,
)


def _same(doc, indent):
    try:
        want = json.dumps(doc, indent=indent, sort_keys=True)
    except TypeError as exc:  # keys that do not sort together: the same error
        try:
            dumps_sorted(doc, indent)
        except TypeError as got:
            assert str(got) == str(exc)
            return
        raise AssertionError("dumps_sorted wrote keys json.dumps refuses to sort") from None
    assert dumps_sorted(doc, indent) == want


@settings(max_examples=500, deadline=None)
@given(DOCUMENTS, st.integers(0, 3))
def test_same_text_as_json_dumps(doc, indent):
    _same(doc, indent)


def test_unusual_values_fall_back_to_json_dumps():
    class Name(str):
        pass

    for doc in ({"a": math.nan, "b": [math.inf, -math.inf]}, {1: "x", 2.5: None, False: 1, None: 2},
                {"s": Name("x")}, {"deep": [[[[{"k": ""}]]]]}, [], {}, "é\u2028\n", -0.0, 10**30):
        _same(doc, 1)
    cycle: list = []
    cycle.append(cycle)
    try:
        dumps_sorted(cycle, 1)
    except ValueError as exc:  # json.dumps's own error
        assert "Circular reference" in str(exc)
    else:
        raise AssertionError("a cycle was written")


def test_a_plan_like_document():
    doc = {"elements": {f"n{i}/e": {"network": f"n{i}", "line": i, "origin": "network", "cost": i / 3,
                                    "replaces": None, "fits": i % 2 == 0} for i in range(50)},
           "tasks": [{"task": "t", "path": ["a", "b"], "costs": [1.5, 2]}], "splits": []}
    _same(doc, 1)
