"""Reading configurations: files to syntax trees to router graphs.

Decides how bytes become text (UTF-8, with undecodable bytes kept as
surrogate escapes so nothing is lost and positions stay per character), what
is refused before parsing (a file that cannot be read, an ``ar`` archive),
and runs the pipeline parse -> build -> flatten -> graph.  Warnings are
returned, never printed.  The graph is a networkx MultiDiGraph
(:func:`load_text`, :func:`load_file`), or the same content as plain data
(:func:`load_plain_text`, :func:`load_plain_file`) for a caller that only
prints it and should not pay for importing networkx.

Memory (a generated configuration of 110,000 elements): :func:`load_text`
and :func:`load_file` never hold the syntax tree of the whole file (each
file-level statement is built as soon as it is parsed, then dropped), and the
router is emptied into the graph as the graph is made.  With ``__slots__`` on
the tree and router classes and shared strings and line numbers, the peak is
under twice click-flatten's (``bench/bench_parse.py`` measures both).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from merge.lang import ast
from merge.lang.build import Builder
from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.flatten import flatten as flatten_router
from merge.lang.flatten import remove_groups
from merge.lang.graph import PlainGraph, from_router, plain_from_router
from merge.lang.limits import DEFAULT_LIMITS, LimitError, Limits
from merge.lang.parser import Parser
from merge.lang.router import Router

if TYPE_CHECKING:  # networkx is imported where a graph is made: `certify install` and `certify parse` never need it
    import networkx as nx

_NO_LIMIT = 1 << 40  # a limit this large is none (Limits.none())

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


# The form of the graph: a networkx MultiDiGraph or a PlainGraph
G = TypeVar("G")

# How a router becomes a graph: from_router or plain_from_router
GraphMaker = Callable[[Router, str, bool, bool], G]


@dataclass
class Parsed(Generic[G]):
    graph: G
    warnings: list[Diagnostic] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _too_large(data: bytes, size: int, filename: str, limits: Limits) -> LimitError:
    """The error for a configuration of ``size`` bytes starting with ``data``, at the first byte past the limit."""
    most = limits.max_config_bytes
    before = decode(data[:most])
    loc = Location(filename, before.count("\n") + 1, len(before) - before.rfind("\n"))
    return LimitError(loc, "max_config_bytes", most, f"the configuration is {size:,} bytes long")


def check_text_size(text: str, filename: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse configuration text (decoded as :func:`decode` does) longer than ``limits.max_config_bytes``."""
    if len(text) * 4 <= limits.max_config_bytes:  # cannot be too long, whatever its characters
        return
    data = text.encode("utf-8", errors="surrogateescape")
    if len(data) > limits.max_config_bytes:
        raise _too_large(data, len(data), filename, limits)


def read_config_file(path: str, where: Location | None = None, limits: Limits = DEFAULT_LIMITS) -> str:
    """A configuration file's text; a file longer than ``limits.max_config_bytes`` is refused, not read whole."""
    try:
        with open(path, "rb") as f:
            # at most one byte past the limit (a huge file is never read whole); no limit: the whole file
            data = f.read(limits.max_config_bytes + 1) if limits.max_config_bytes < _NO_LIMIT else f.read()
            size = max(len(data), os.fstat(f.fileno()).st_size)
    except OSError as exc:
        loc = where or Location(path, 0, 0)
        raise ClickError(loc, f"cannot read '{path}': {exc.strerror or exc}") from None
    if data.startswith(b"!<arch>\n"):
        raise ClickError(Location(path, 1, 1), "ar archives are not supported; extract the 'config' member first")
    if len(data) > limits.max_config_bytes:
        raise _too_large(data, size, path, limits)
    return decode(data)


def parse_file(
    path: str, warnings: list[Diagnostic] | None = None, limits: Limits = DEFAULT_LIMITS
) -> ast.Configuration:
    text = read_config_file(path, limits=limits)
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
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed[nx.MultiDiGraph]:
    """Build (and flatten) a parsed configuration, within ``limits`` (see :mod:`merge.lang.limits`)."""
    if not cfg.statements:
        raise ClickError(Location(cfg.file, 1, 1), "empty configuration: no statements")
    b = _builder(known_classes, warnings, limits)
    router = b.build(cfg)
    return _graph(b, router, cfg.file, flatten, expand_vars, warnings, limits, from_router)


def _builder(known_classes: Iterable[str] | None, warnings: list[Diagnostic], limits: Limits) -> Builder:
    """A builder whose ``require(library ...)`` files are read within ``limits``, their warnings added to ``warnings``."""

    def load_library(path: str, where: Location) -> ast.Configuration:
        text = read_config_file(path, where, limits)
        p = Parser(text, path)
        lib = p.parse()
        warnings.extend(p.warnings)
        return lib

    if known_classes is None:
        from merge.lang.stock_classes import stock_classes

        known_classes = stock_classes()
    return Builder(known_classes, load_library)


def _graph(
    b: Builder,
    router: Router,
    file: str,
    flatten: bool,
    expand_vars: bool,
    warnings: list[Diagnostic],
    limits: Limits,
    make: GraphMaker[G],
) -> Parsed[G]:
    if flatten:
        flatten_router(router, expand_vars=expand_vars, warnings=warnings, limits=limits)
    else:
        remove_groups(router)
    # the router is emptied into the graph: the two are not held whole at once
    g = make(router, file, flatten, True)
    return Parsed(g, warnings, b.libraries)


def _load(
    text: str,
    filename: str,
    flatten: bool,
    expand_vars: bool,
    known_classes: Iterable[str] | None,
    limits: Limits,
    warnings: list[Diagnostic],
    make: GraphMaker[G],
) -> Parsed[G]:
    """``build_graph(parse(text))`` without the syntax tree of the whole file: each file-level statement is built
    as soon as it is parsed, then dropped.  The result, warnings and errors are the same: a syntax error anywhere
    in the file is reported before any error of building (one found earlier is kept until the whole file has
    parsed), and the warnings come in the same order (the file's, its libraries', flattening's)."""
    library_warnings: list[Diagnostic] = []
    b = _builder(known_classes, library_warnings, limits)
    p = Parser(text, filename)
    failed: Exception | None = None
    empty = True
    for s in p.iter_statements():
        empty = False
        if failed is None:
            try:
                b.add(s)
            except Exception as exc:  # raised once the rest of the file is known to parse
                failed = exc
    if empty:
        raise ClickError(Location(filename, 1, 1), "empty configuration: no statements")
    if failed is not None:
        raise failed
    router = b.finish()
    warnings.extend(p.warnings)
    warnings.extend(library_warnings)
    del p  # and its lexer's tables
    return _graph(b, router, filename, flatten, expand_vars, warnings, limits, make)


def load_text(
    text: str,
    filename: str = "<config>",
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed[nx.MultiDiGraph]:
    """Parse (and by default flatten) configuration text."""
    check_text_size(text, filename, limits)
    with _no_gc():
        return _load(text, filename, flatten, expand_vars, known_classes, limits, [], from_router)


def load_file(
    path: str,
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed[nx.MultiDiGraph]:
    text = read_config_file(path, limits=limits)
    with _no_gc():
        return _load(text, path, flatten, expand_vars, known_classes, limits, [], from_router)


def load_plain_text(
    text: str,
    filename: str = "<config>",
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed[PlainGraph]:
    """:func:`load_text` with the graph as a :class:`PlainGraph`: the same warnings and errors, and the same
    output from :func:`~merge.lang.graph.to_json` and :func:`~merge.lang.unparse.unparse`, without networkx."""
    check_text_size(text, filename, limits)
    with _no_gc():
        return _load(text, filename, flatten, expand_vars, known_classes, limits, [], plain_from_router)


def load_plain_file(
    path: str,
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed[PlainGraph]:
    """:func:`load_file` with the graph as a :class:`PlainGraph` (see :func:`load_plain_text`)."""
    text = read_config_file(path, limits=limits)
    with _no_gc():
        return _load(text, path, flatten, expand_vars, known_classes, limits, [], plain_from_router)


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
