"""Reading configurations: files to syntax trees to router graphs.

Decides how bytes become text (UTF-8, with undecodable bytes kept as
surrogate escapes so nothing is lost and positions stay per character), what
is refused before parsing (a file that cannot be read, an ``ar`` archive),
and runs the pipeline parse -> build -> flatten -> graph.  Warnings are
returned, never printed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import networkx as nx

from merge.lang import ast
from merge.lang.build import Builder
from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.flatten import flatten as flatten_router
from merge.lang.flatten import remove_groups
from merge.lang.graph import from_router
from merge.lang.parser import Parser

# Deep nesting is refused by the parser long before this; the walk itself is
# recursive, so leave Python room for it.
if sys.getrecursionlimit() < 10000:
    sys.setrecursionlimit(10000)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Parsing allocates many small, long-lived objects and no garbage cycles:
    the cyclic collector only costs time (about 40% at 100,000 elements)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Parsed:
    graph: nx.MultiDiGraph
    warnings: list[Diagnostic] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def read_config_file(path: str, where: Location | None = None) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        loc = where or Location(path, 0, 0)
        raise ClickError(loc, f"cannot read '{path}': {exc.strerror or exc}") from None
    if data.startswith(b"!<arch>\n"):
        raise ClickError(Location(path, 1, 1), "ar archives are not supported; extract the 'config' member first")
    return decode(data)


def parse_file(path: str, warnings: list[Diagnostic] | None = None) -> ast.Configuration:
    text = read_config_file(path)
    p = Parser(text, path)
    cfg = p.parse()
    if warnings is not None:
        warnings.extend(p.warnings)
    return cfg


def build_graph(
    cfg: ast.Configuration,
    flatten: bool,
    expand_vars: bool,
    known_classes: Iterable[str] | None,
    warnings: list[Diagnostic],
) -> Parsed:
    def load_library(path: str, where: Location) -> ast.Configuration:
        text = read_config_file(path, where)
        p = Parser(text, path)
        lib = p.parse()
        warnings.extend(p.warnings)
        return lib

    if not cfg.statements:
        raise ClickError(Location(cfg.file, 1, 1), "empty configuration: no statements")
    if known_classes is None:
        from merge.lang.stock_classes import stock_classes

        known_classes = stock_classes()
    b = Builder(known_classes, load_library)
    router = b.build(cfg)
    if flatten:
        flatten_router(router, expand_vars=expand_vars, warnings=warnings)
    else:
        remove_groups(router)
    g = from_router(router, cfg.file, flat=flatten)
    return Parsed(g, warnings, b.libraries)


def load_text(
    text: str,
    filename: str = "<config>",
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
) -> Parsed:
    """Parse (and by default flatten) configuration text."""
    with _no_gc():
        p = Parser(text, filename)
        cfg = p.parse()
        return build_graph(cfg, flatten, expand_vars, known_classes, list(p.warnings))


def load_file(
    path: str,
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
) -> Parsed:
    warnings: list[Diagnostic] = []
    with _no_gc():
        cfg = parse_file(path, warnings)
        return build_graph(cfg, flatten, expand_vars, known_classes, warnings)


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
