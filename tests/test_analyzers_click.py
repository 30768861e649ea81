"""Against a real, configured Click tree (CLICK_SRC): classic elements are not rejected, linuxmodule ones are.

Skipped when CLICK_SRC is unset.  Runs through the worker-process engine, as the
command does, over a handful of classic pipeline elements and the whole of
elements/linuxmodule.
"""

from __future__ import annotations

import glob
import os

import pytest

from analyzers.engine import analyze_paths
from analyzers.frontend import ParseOptions

CLICK_SRC = os.environ.get("CLICK_SRC")
pytestmark = pytest.mark.skipif(not CLICK_SRC, reason="CLICK_SRC is not set")

CLASSIC = {
    "EtherMirror": "ethernet/ethermirror.cc",
    "Strip": "standard/strip.cc",
    "Unstrip": "standard/unstrip.cc",
    "Counter": "standard/counter.cc",
    "Discard": "standard/discard.cc",
    "Tee": "standard/tee.cc",
    "Paint": "standard/paint.cc",
    "CheckIPHeader": "ip/checkipheader.cc",
    "DecIPTTL": "ip/decipttl.cc",
    "IPEncap": "ip/ipencap.cc",
    "EtherEncap": "ethernet/etherencap.cc",
    "SimpleQueue": "standard/simplequeue.cc",
}
# kernel-clean by the analysis; Counter is userspace because COUNT_CALL runs another
# element's write handler from simple_action (a true finding, KS203), see docs/analyzers.md
EXPECTED_KERNEL = set(CLASSIC) - {"Counter"}


def _opts() -> ParseOptions:
    assert CLICK_SRC
    return ParseOptions(click_root=CLICK_SRC)


def test_classic_elements_are_not_rejected():
    assert CLICK_SRC
    paths = [os.path.join(CLICK_SRC, "elements", p) for p in CLASSIC.values()]
    results = analyze_paths(paths, _opts(), jobs=2)
    verdicts = {e.cls: e for r in results for e in r.elements}
    for name in CLASSIC:
        assert name in verdicts, f"{name} not discovered"
        e = verdicts[name]
        assert e.verdict != "reject", (name, e.reasons)
        if name in EXPECTED_KERNEL:
            assert e.verdict == "kernel", (name, e.reasons, [str(f) for f in e.findings])
    assert verdicts["Counter"].verdict == "userspace"
    # KS105: the trigger pointer goes through HandlerCall::reset_write(HandlerCall *&), which may store anything
    assert {f.rule for f in verdicts["Counter"].findings} == {"KS203", "KS105"}


def test_every_linuxmodule_element_is_rejected():
    assert CLICK_SRC
    paths = sorted(glob.glob(os.path.join(CLICK_SRC, "elements", "linuxmodule", "*.cc")))
    results = analyze_paths(paths, _opts(), jobs=2)
    elements = [e for r in results for e in r.elements]
    assert len(elements) >= 15
    for e in elements:
        assert e.verdict == "reject", (e.cls, e.reasons)
