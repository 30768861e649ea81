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
from merge.lang.limits import DEFAULT_LIMITS, LimitError, Limits
from merge.lang.parser import Parser

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


@dataclass
class Parsed:
    graph: nx.MultiDiGraph
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
) -> Parsed:
    """Build (and flatten) a parsed configuration, within ``limits`` (see :mod:`merge.lang.limits`)."""

    def load_library(path: str, where: Location) -> ast.Configuration:
        text = read_config_file(path, where, limits)
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
        flatten_router(router, expand_vars=expand_vars, warnings=warnings, limits=limits)
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
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed:
    """Parse (and by default flatten) configuration text."""
    check_text_size(text, filename, limits)
    with _no_gc():
        p = Parser(text, filename)
        cfg = p.parse()
        return build_graph(cfg, flatten, expand_vars, known_classes, list(p.warnings), limits)


def load_file(
    path: str,
    flatten: bool = True,
    expand_vars: bool = False,
    known_classes: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Parsed:
    warnings: list[Diagnostic] = []
    with _no_gc():
        cfg = parse_file(path, warnings, limits)
        return build_graph(cfg, flatten, expand_vars, known_classes, warnings, limits)


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel
