"""The names of the stock Click element classes, shipped as data.

The language front end uses the list to tell a class from an element name
the way the Click driver does (it knows every class it was built with), and
to catch a compound class that names itself in its own body when no class of
that name exists (Click's classes are not recursive: the inner name would be
an unknown primitive).  The certified-element database (issue 6) will carry
the same names with their certification records; until then this list is the
source.

Regenerate from a Click source tree (names only; no Click text is copied)::

    python -m element_db.stock_classes /path/to/click > element_db/data/stock_classes.txt

A class is an element source whose ``class_name()`` returns a string literal.
"""

from __future__ import annotations

import functools
import os
import re
import sys

_CLASS_NAME = re.compile(r'class_name\s*\(\s*\)\s*const[^{;]*\{\s*return\s*"([^"]+)"')
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "stock_classes.txt")


def scan(click_root: str) -> list[str]:
    names: set[str] = set()
    for d, _, files in os.walk(os.path.join(click_root, "elements")):
        for f in files:
            if f.endswith((".hh", ".cc", ".h")):
                with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                    names.update(_CLASS_NAME.findall(fh.read()))
    return sorted(names)


@functools.cache
def stock_classes() -> frozenset[str]:
    with open(DATA, encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip() and not line.startswith("#"))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not os.path.isdir(os.path.join(argv[0], "elements")):
        print("usage: python -m element_db.stock_classes CLICK_SRC", file=sys.stderr)
        return 2
    names = scan(argv[0])
    print("# Stock Click element class names, from 'python -m element_db.stock_classes CLICK_SRC'.")
    for n in names:
        print(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
