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

from merge.lang import ClickError, load_file, load_text
from merge.lang.graph import connections

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


def _check(cwd, name, expand_vars):
    """Flatten ``name`` (relative to ``cwd``) with click-flatten and with certify; compare."""
    args = [FLATTEN] + (["--expand-vars"] if expand_vars else []) + [name]
    ref = subprocess.run(args, capture_output=True, cwd=cwd, timeout=60)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        if ref.returncode != 0:  # Click refuses it: so must we, with a location
            with pytest.raises(ClickError):
                load_file(name, flatten=True, expand_vars=expand_vars)
            return
        ours = load_file(name, flatten=True, expand_vars=expand_vars).graph
    finally:
        os.chdir(old)
    if not ref.stdout.strip():  # a library of classes only: nothing to instantiate
        assert ours.number_of_nodes() == 0
        return
    theirs = load_text(ref.stdout.decode("utf-8", "surrogateescape"), "click-flatten.out", flatten=False).graph
    assert _summary(ours) == _summary(theirs), (name, expand_vars)


@pytest.mark.parametrize("path", _cases(), ids=lambda p: os.path.relpath(p, CLICK_SRC or HERE))
@pytest.mark.parametrize("expand_vars", [False, True], ids=["plain", "expand-vars"])
def test_same_as_click_flatten(path, expand_vars):
    _check(os.path.dirname(path), os.path.basename(path), expand_vars)


# -- configurations embedded in Click's own tests (CLICK_SRC/test/**/*.clicktest) -------------

_TOOL_ARG = r"\bclick(?:-[a-z]+)?\b[^\n;|&]*?(?<![\w./-]){name}(?![\w.-])|<\s*{name}(?![\w.-])"


def _clicktest_sections(text):
    """(header, body) pairs of a .clicktest file; '\\%' at a line start escapes a percent sign."""
    sections = []
    header, body = None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("%"):
            if header is not None:
                sections.append((header, "".join(body)))
            header, body = line.strip(), []
        else:
            body.append(line[1:] if line.startswith("\\%") else line)
    if header is not None:
        sections.append((header, "".join(body)))
    return sections


def _clicktest_cases():
    """(test id, files, config name): every %file a Click tool in the %script reads as a configuration."""
    if not CLICK_SRC:
        return []
    import re

    out = []
    for path in sorted(glob.glob(os.path.join(CLICK_SRC, "test", "**", "*.clicktest"), recursive=True)):
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            sections = _clicktest_sections(f.read())
        script = "".join(b for h, b in sections if h.startswith("%script"))
        files = {}
        for h, b in sections:
            words = h.split()
            if words[0] == "%file" and len(words) >= 2 and not any(w.startswith("+") for w in words[1:]):
                for fname in words[1:]:
                    files[fname] = b
        for name in files:
            # An empty %file is a placeholder the script writes; certify refuses an
            # empty configuration on purpose (tested in test_errors.py).
            if files[name].strip() and re.search(_TOOL_ARG.format(name=re.escape(name)), script):
                out.append((f"{os.path.relpath(path, CLICK_SRC)}:{name}", files, name))
    return out


@pytest.mark.parametrize("case", _clicktest_cases(), ids=lambda c: c[0])
def test_clicktest_configuration_same_as_click_flatten(case, tmp_path):
    _, files, name = case
    for fname, body in files.items():
        p = tmp_path / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body, encoding="utf-8", errors="surrogateescape")
    for expand_vars in (False, True):
        _check(tmp_path, name, expand_vars)
