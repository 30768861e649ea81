"""The syntax tree of a Click configuration, with a location on every node.

The tree records what was written, nothing resolved: whether an identifier in
a connection names an element or a class is decided later, by
:mod:`merge.lang.build`, in source order and with Click's scoping rules.  Port
lists are kept in Click's own encoding: a tuple of port numbers where a final
``-1`` marks an *expandable* list (``[]`` is ``(0, -1)``, ``[2,]`` is
``(2, -1)``, ``[0-2]`` is ``(0, 1, 2)``).

A large configuration has hundreds of thousands of nodes, so every node class
has ``__slots__`` (no per-node ``__dict__``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from merge.lang.errors import Location


@dataclass(slots=True)
class Ports:
    values: tuple[int, ...]
    location: Location


@dataclass(slots=True)
class ClassSpec:
    """A class written after ``::`` or in ``elementclass X Y``: a name or a body."""

    location: Location
    name: str | None = None
    compound: ClassDef | None = None


@dataclass(slots=True)
class Formal:
    keyword: str  # "" for a positional parameter, "__REST__" for the rest
    name: str  # without the dollar sign
    location: Location


@dataclass(slots=True)
class CompoundBody:
    """One overloaded definition inside ``{ ... || ... }``."""

    location: Location
    formals: list[Formal]
    statements: list[Statement]


@dataclass(slots=True)
class ClassDef:
    """A compound element class ``{ ... }``; ``name`` is "" when anonymous."""

    location: Location
    name: str
    bodies: list[CompoundBody]
    extends: bool = False  # ends with "|| ..."
    end: Location | None = None
    source: str = ""  # the text from '{' to '}' inclusive


@dataclass(slots=True)
class Group:
    """An element group ``( statements )``."""

    location: Location
    statements: list[Statement]
    end: Location | None = None


@dataclass(slots=True)
class ElementRef:
    """One element in a connection or declaration.

    ``kind`` is ``ident`` (a name or a class name), ``compound`` (an inline
    anonymous class ``{...}``), ``group`` (``(...)``) or ``implicit`` (the
    ``input``/``output`` Click infers at the ends of a chain inside a compound
    or group).
    """

    location: Location
    kind: str
    name: str = ""
    compound: ClassDef | None = None
    group: Group | None = None
    decl: ClassSpec | None = None
    config: str | None = None
    config_location: Location | None = None
    inports: Ports | None = None
    outports: Ports | None = None
    bare: bool = False


@dataclass(slots=True)
class Connection:
    """A chain ``set -> set => set``; a lone set is a declaration statement."""

    location: Location
    sets: list[list[ElementRef]]
    connectors: list[str] = field(default_factory=list)
    connector_locations: list[Location] = field(default_factory=list)


@dataclass(slots=True)
class ElementClassStmt:
    location: Location
    name: str
    name_location: Location
    synonym: ClassSpec | None = None
    definition: ClassDef | None = None


@dataclass(slots=True)
class Require:
    location: Location
    config: str
    config_location: Location


@dataclass(slots=True)
class Define:
    location: Location
    config: str
    config_location: Location


Statement = Union[Connection, ElementClassStmt, Require, Define]


@dataclass(slots=True)
class Configuration:
    file: str
    statements: list[Statement]
    warnings: list = field(default_factory=list)
