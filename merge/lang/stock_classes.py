"""The stock Click element classes, their port counts and processing, as data.

The language front end uses the names to tell a class from an element name
the way the Click driver does (it knows every class it was built with), and
to catch a compound class that names itself in its own body when no class of
that name exists.  The merge checks use ``port_count`` and ``processing``
(Click's own notations, e.g. ``1/1-2`` and ``a/ah``) for the port-count and
push/pull checks of click-check.  The certified-element database (issue 6)
will carry the same facts with each certification record; until then this
file is the source.  A class whose port count or processing is computed at
run time, or inherited, has no entry for it: the checks then skip it (and say
so).

Regenerate from a Click source tree (names and these two strings only; no
Click text is copied)::

    python -m merge.lang.stock_classes /path/to/click > merge/lang/data/stock_elements.json

A class is a ``class`` in ``elements/`` or ``include/click/standard/`` whose
``class_name()`` returns a string literal; its ``port_count()`` and
``processing()`` are read when they return a literal or one of Element's
named constants (PORTS_1_1, AGNOSTIC, ...).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from typing import Any

_CLASS_NAME = re.compile(r'class_name\s*\(\s*\)\s*const[^{;]*\{\s*return\s*"([^"]+)"')
# An inline definition "port_count() const { return X; }" (X is read if it is a
# literal or a named constant) or a bare declaration "port_count() const;"
# (defined elsewhere: read from "Class::port_count() const { return X; }").
_PORT_COUNT = re.compile(r"(?<![\w:])port_count\s*\(\s*\)\s*const[^{;]*(?:\{\s*return\s*([^;]+);|;)")
_PROCESSING = re.compile(r"(?<![\w:])processing\s*\(\s*\)\s*const[^{;]*(?:\{\s*return\s*([^;]+);|;)")
_OUT_OF_LINE = re.compile(r"(\w+)::(port_count|processing)\s*\(\s*\)\s*const\s*\{\s*return\s*([^;]+);")
_CLASS_START = re.compile(r"^\s*class\s+\w+[^;]*$", re.M)
_CLASS_HEAD = re.compile(r"class\s+(\w+)\s*(?:final\s*)?(?::\s*public\s+([\w:]+))?")
# Element's named constants (include/click/element.hh, lib/element.cc).
CONSTANTS = {
    "PORTS_0_0": "0",
    "PORTS_0_1": "0/1",
    "PORTS_1_0": "1/0",
    "PORTS_1_1": "1",
    "PORTS_1_1X2": "1/1-2",
    "AGNOSTIC": "a",
    "PUSH": "h",
    "PULL": "l",
    "PUSH_TO_PULL": "h/l",
    "PULL_TO_PUSH": "l/h",
    "PROCESSING_A_AH": "a/ah",
}
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "stock_elements.json")


def _value(token: str | None) -> str:
    """The string a return expression names, or "?" when it is computed."""
    if token is None:
        return "?"
    token = token.strip()
    if re.fullmatch(r'"[^"]*"', token):
        return token[1:-1]
    return CONSTANTS.get(token, "?")


def scan(click_root: str) -> dict[str, dict[str, str]]:
    by_cpp: dict[str, tuple[str | None, str, dict[str, str]]] = {}  # C++ name -> (base, Click name, facts)
    out: dict[str, dict[str, str]] = {}
    out_of_line: dict[tuple[str, str], str] = {}
    roots = [os.path.join(click_root, "elements"), os.path.join(click_root, "include", "click", "standard")]
    for d, _, files in (w for r in roots for w in os.walk(r)):
        for f in sorted(files):
            if not f.endswith((".hh", ".cc", ".h")):
                continue
            with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for om in _OUT_OF_LINE.finditer(text):
                out_of_line[(om.group(1), om.group(2))] = _value(om.group(3))
            starts = [m.start() for m in _CLASS_START.finditer(text)] + [len(text)]
            segments = [text[a:b] for a, b in zip(starts, starts[1:])] or [text]
            for seg in segments:
                head = _CLASS_HEAD.search(seg)
                m = _CLASS_NAME.search(seg)
                facts: dict[str, str] = {}
                for key, rx in (("port_count", _PORT_COUNT), ("processing", _PROCESSING)):
                    pm = rx.search(seg)
                    if pm:
                        facts[key] = _value(pm.group(1))
                if head and head.group(1) not in by_cpp:
                    base = head.group(2).split("::")[-1] if head.group(2) else None
                    by_cpp[head.group(1)] = (base, m.group(1) if m else "", facts)
                elif m:
                    by_cpp.setdefault("?" + m.group(1), (None, m.group(1), facts))

    def resolve(cpp: str, key: str, depth: int = 0) -> str | None:
        base, _, facts = by_cpp[cpp]
        if facts.get(key) == "?" and (cpp, key) in out_of_line:
            facts[key] = out_of_line[(cpp, key)]
        if key in facts:
            return facts[key] if facts[key] != "?" else None  # computed at run time: unknown
        if base == "Element":
            return "0" if key == "port_count" else "a"  # Element's defaults
        if base in by_cpp and depth < 20:
            return resolve(base, key, depth + 1)
        return None  # an unknown base: unknown

    for cpp, (_, name, _) in by_cpp.items():
        if not name or name in out:
            continue
        facts = {}
        for key in ("port_count", "processing"):
            v = resolve(cpp, key)
            if v is not None:
                facts[key] = v
        out[name] = facts
    return dict(sorted(out.items()))


@functools.cache
def stock_elements() -> dict[str, dict[str, str]]:
    with open(DATA, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data["classes"]


def stock_classes() -> frozenset[str]:
    return frozenset(stock_elements())


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not os.path.isdir(os.path.join(argv[0], "elements")):
        print("usage: python -m merge.lang.stock_classes CLICK_SRC", file=sys.stderr)
        return 2
    doc = {"generated_by": "python -m merge.lang.stock_classes CLICK_SRC", "classes": scan(argv[0])}
    print(json.dumps(doc, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
