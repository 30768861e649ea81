"""Agreement with the real Click: our flattening equals click-flatten's.

Runs only where a Click tree is given (CLICK_SRC) with a built click-flatten
(CLICK_SRC/tools/click-flatten/click-flatten, or click-flatten on PATH); skips
cleanly otherwise.  Every configuration in CLICK_SRC/conf that Click accepts,
and every fixture of ours, must give the same elements (name, class,
configuration string) and connections, with and without --expand-vars.
"""

import glob
import os
import subprocess

import pytest
from conftest import click_flatten_binary

from merge import ClickError, load_file, load_text
from merge.graph import connections

CLICK_SRC = os.environ.get("CLICK_SRC")
FLATTEN = click_flatten_binary()
HERE = os.path.join(os.path.dirname(__file__), "fixtures", "click")
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples", "networks")

pytestmark = pytest.mark.skipif(not FLATTEN, reason="needs a built click-flatten (set CLICK_SRC or put it on PATH)")


def _cases():
    cases = sorted(glob.glob(os.path.join(HERE, "*.click")))
    cases += sorted(glob.glob(os.path.join(EXAMPLES, "*.click")))
    if CLICK_SRC:
        cases += sorted(glob.glob(os.path.join(CLICK_SRC, "conf", "**", "*.click"), recursive=True))
    return cases


def _summary(g):
    return (
        {(n, d["klass"], d["config"]) for n, d in g.nodes(data=True)},
        set(connections(g)),
    )


@pytest.mark.parametrize("path", _cases(), ids=lambda p: os.path.relpath(p, CLICK_SRC or HERE))
@pytest.mark.parametrize("expand_vars", [False, True], ids=["plain", "expand-vars"])
def test_same_as_click_flatten(path, expand_vars):
    cwd = os.path.dirname(path)
    args = [FLATTEN] + (["--expand-vars"] if expand_vars else []) + [os.path.basename(path)]
    ref = subprocess.run(args, capture_output=True, cwd=cwd, timeout=60)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        if ref.returncode != 0:
            with pytest.raises(ClickError):
                load_file(os.path.basename(path), flatten=True, expand_vars=expand_vars)
            return
        ours = load_file(os.path.basename(path), flatten=True, expand_vars=expand_vars).graph
    finally:
        os.chdir(old)
    if not ref.stdout.strip():  # a library of classes only: nothing to instantiate
        assert ours.number_of_nodes() == 0
        return
    theirs = load_text(ref.stdout.decode("utf-8", "surrogateescape"), "click-flatten.out", flatten=False).graph
    assert _summary(ours) == _summary(theirs)
