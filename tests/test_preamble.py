"""The precompiled preamble (analyzers.frontend.build_preamble): a file is parsed on it only when that parse is
the plain parse's equal, and every analysis result is the same either way."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path

import pytest

from analyzers import engine
from analyzers.analysis import analyze_file
from analyzers.engine import analyze_paths
from analyzers.frontend import ParseOptions, build_preamble, declarations_in, macro_definitions, parse, release
from analyzers.policy import load_policy

CLICK_SRC = os.environ.get("CLICK_SRC")

CONFIG_H = """#ifndef CLICK_CONFIG_H
#define CLICK_CONFIG_H
#define CLICK_CONFIG_LEVEL 2
#endif
"""

ELEMENT_HH = """#ifndef CLICK_ELEMENT_HH
#define CLICK_ELEMENT_HH
class Packet { public: int length() const { return _n; } int _n; };
class Element {
  public:
    virtual ~Element() {}
    virtual Packet *simple_action(Packet *p) { return p; }
#ifdef CERTIFY_FAST
    int fast_member;
#endif
#if CLICK_CONFIG_LEVEL > 1
    int level_member;
#endif
};
#define EXPORT_ELEMENT(x)
#endif
"""

COUNTER = """// a counter
#include <click/config.h>
#include "counter.hh"

Packet *Counter::simple_action(Packet *p) {
    _count += p->length();
    return p;
}
EXPORT_ELEMENT(Counter)
"""

COUNTER_HH = """#ifndef FIXTURE_COUNTER_HH
#define FIXTURE_COUNTER_HH
#include <click/element.hh>
class Counter : public Element {
  public:
    const char *class_name() const { return "Counter"; }
    Packet *simple_action(Packet *p);
    int _count;
};
#endif
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "click"
    for rel, text in {"include/click/config.h": CONFIG_H, "include/click/element.hh": ELEMENT_HH, **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _opts(root: Path, tmp_path: Path) -> tuple[ParseOptions, ParseOptions]:
    plain = ParseOptions(click_root=str(root))
    scratch = tmp_path / "preamble"
    scratch.mkdir()
    manifest = build_preamble(plain, str(scratch))
    assert manifest is not None
    return plain, dataclasses.replace(plain, preamble=manifest)


def _fields(path: Path, opts: ParseOptions) -> tuple[bool, list[str], list[str]]:
    """Whether the parse used the preamble, the fields of Element it sees, and its error diagnostics."""
    parsed = parse(str(path), opts)
    try:
        assert parsed.root is not None
        element = [d for d in parsed.root.children() if d.kind == "CLASS_DECL" and d.spelling == "Element"
                   and d.is_definition()]
        fields = [c.spelling for c in element[0].children() if c.kind == "FIELD_DECL"] if element else []
        return parsed.preamble, fields, [d.message for d in parsed.diagnostics]
    finally:
        release(parsed)


def _macros_as_listed(path: str, opts: ParseOptions) -> tuple[bool, list[tuple[str, str, str, int]], list[str]]:
    """Whether the parse used the preamble, its macro definitions as macro_definitions gives them (name, and the
    cursor's own spelling, file and line), and as every cursor of the unit says them."""
    parsed = parse(path, opts)
    try:
        assert parsed.root is not None
        got = [(name, n.spelling, n.file, n.line) for name, n in macro_definitions(parsed.root)]
        every = [n.spelling for n in parsed.root.children() if n.kind == "MACRO_DEFINITION"]
        return parsed.preamble, got, every
    finally:
        release(parsed)


def _check_macros(path: str, opts: ParseOptions) -> bool:
    served, got, every = _macros_as_listed(path, opts)
    assert [name for name, *_ in got] == every
    assert all(name == spelled for name, spelled, _, _ in got)
    return served


def _result(path: Path, opts: ParseOptions) -> str:
    r = analyze_file(str(path), opts, load_policy())
    return json.dumps({"elements": [e.to_json() for e in r.elements], "findings": [str(f) for f in r.findings],
                       "hits": {k: [str(h) for h in v] for k, v in r.hits.items()}, "edges": sorted(map(str, r.edges)),
                       "writes": r.global_writes}, sort_keys=True, default=str)


def test_a_conventional_file_is_parsed_on_the_preamble_with_the_same_analysis(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"elements/counter.cc": COUNTER, "elements/counter.hh": COUNTER_HH})
    plain, pre = _opts(root, tmp_path)
    path = root / "elements" / "counter.cc"
    assert _fields(path, pre) == (True, ["level_member"], [])
    assert _fields(path, plain) == (False, ["level_member"], [])
    assert _result(path, pre) == _result(path, plain)
    assert _check_macros(str(path), pre) and "CLICK_CONFIG_LEVEL" in _macros_as_listed(str(path), pre)[2]
    parsed = parse(str(path), pre)  # the element's own header is still one of its includes
    assert [os.path.basename(i.path) for i in parsed.includes if i.depth == 1] == ["counter.hh"]
    assert parsed.root is not None
    assert [d.spelling for d in declarations_in(parsed.root, parsed.beside(True) + [parsed.path])
            if d.kind == "CLASS_DECL"] == ["Counter"]
    release(parsed)


@pytest.mark.parametrize("text, fields", [
    # a macro the held headers test, defined before they are reached: they would read differently
    ('#include <click/config.h>\n#define CERTIFY_FAST 1\n#include "counter.hh"\n', ["fast_member", "level_member"]),
    # a macro they use, undefined before: the same
    ('#include <click/config.h>\n#undef CLICK_CONFIG_LEVEL\n#define CLICK_CONFIG_LEVEL 0\n#include "counter.hh"\n',
     []),
    # its own header defines one before including theirs
    ('#include <click/config.h>\n#include "early.hh"\n', ["fast_member", "level_member"]),
    # something before <click/config.h>
    ('#include <stddef.h>\n#include <click/config.h>\n#include "counter.hh"\n', ["level_member"]),
    # <click/element.hh> is never included: the preamble would add declarations the file does not have
    ('#include <click/config.h>\nint x;\n', []),
])
def test_a_file_the_preamble_would_change_is_parsed_plainly(tmp_path: Path, text: str, fields: list[str]) -> None:
    early = "#ifndef EARLY_HH\n#define EARLY_HH\n#define CERTIFY_FAST 1\n#include <click/element.hh>\n#endif\n"
    root = _tree(tmp_path, {"elements/f.cc": text, "elements/counter.hh": COUNTER_HH, "elements/early.hh": early})
    plain, pre = _opts(root, tmp_path)
    path = root / "elements" / "f.cc"
    assert _fields(path, pre) == (False, fields, [])
    assert _fields(path, plain) == (False, fields, [])


def test_a_defined_macro_the_headers_never_name_keeps_the_preamble(tmp_path: Path) -> None:
    text = '#include <click/config.h>\n#define MY_OWN_LIMIT 4\n#include "counter.hh"\n'
    root = _tree(tmp_path, {"elements/f.cc": text, "elements/counter.hh": COUNTER_HH})
    plain, pre = _opts(root, tmp_path)
    assert _fields(root / "elements" / "f.cc", pre) == (True, ["level_member"], [])


def test_parse_errors_are_the_plain_parses(tmp_path: Path) -> None:
    text = '#include <click/config.h>\n#include "counter.hh"\nint broken(\n'
    root = _tree(tmp_path, {"elements/f.cc": text, "elements/counter.hh": COUNTER_HH})
    plain, pre = _opts(root, tmp_path)
    path = root / "elements" / "f.cc"
    served, _, errors = _fields(path, pre)
    assert not served
    assert errors == _fields(path, plain)[2] and errors


def test_no_preamble_without_a_click_tree_or_with_a_compilation_database(tmp_path: Path) -> None:
    assert build_preamble(ParseOptions(), str(tmp_path)) is None
    root = _tree(tmp_path, {})
    assert build_preamble(ParseOptions(click_root=str(root), build_dir=str(tmp_path)), str(tmp_path)) is None
    (root / "include" / "click" / "element.hh").write_text("class Element { int broken( };\n")
    assert build_preamble(ParseOptions(click_root=str(root)), str(tmp_path)) is None


def test_a_library_run_uses_the_preamble_and_cleans_it_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"elements/counter.hh": COUNTER_HH}
    for i in range(engine.PREAMBLE_FROM):
        files[f"elements/c{i}.cc"] = COUNTER.replace("Counter", f"Counter{i}").replace('"counter.hh"', f'"c{i}.hh"')
        files[f"elements/c{i}.hh"] = COUNTER_HH.replace("Counter", f"Counter{i}").replace("COUNTER", f"C{i}")
    root = _tree(tmp_path, files)
    paths = [str(root / "elements" / f"c{i}.cc") for i in range(engine.PREAMBLE_FROM)]
    built: list[tuple[str, str | None]] = []
    real = engine._preamble

    def spy(ctx: object, opts: ParseOptions, directory: str) -> str | None:
        manifest = real(ctx, opts, directory)
        built.append((directory, manifest))
        return manifest

    monkeypatch.setattr(engine, "_preamble", spy)
    got = analyze_paths(paths, ParseOptions(click_root=str(root)), jobs=1)
    assert len(built) == 1 and built[0][1] is not None and not os.path.exists(built[0][0])
    plain = analyze_paths(paths[:1], ParseOptions(click_root=str(root)), jobs=1)  # below PREAMBLE_FROM: none
    assert len(built) == 1
    assert [e.to_json() for e in got[0].elements] == [e.to_json() for e in plain[0].elements]
    assert [e.cls for r in got for e in r.elements] == [f"Counter{i}" for i in range(engine.PREAMBLE_FROM)]


@pytest.mark.skipif(not CLICK_SRC, reason="CLICK_SRC is not set")
def test_click_elements_analyze_the_same_on_the_preamble(tmp_path: Path) -> None:
    from certify.library import element_files

    assert CLICK_SRC is not None
    files = element_files([os.path.join(CLICK_SRC, "elements")])
    sample = random.Random(17).sample(files, 12)
    plain = ParseOptions(click_root=CLICK_SRC)
    manifest = build_preamble(plain, str(tmp_path))
    assert manifest is not None
    pre = dataclasses.replace(plain, preamble=manifest)
    served = 0
    for f in sample:
        parsed = parse(f, pre)
        served += parsed.preamble
        release(parsed)
        assert _check_macros(f, pre) == bool(parsed.preamble)
        assert _result(Path(f), pre) == _result(Path(f), plain), f
    assert served >= 9
