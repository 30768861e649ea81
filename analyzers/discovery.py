"""Element discovery: which classes of a file are Click elements, and where their packet path starts.

An element class is a class defined in the element's own files (the ``.cc`` and
the headers beside it that it includes) deriving, directly or through visible
bases, from ``Element``; it is reported when ``EXPORT_ELEMENT`` names it.  Its
lookup order (the class, then its bases depth first, ``Element`` itself left out
since its methods are Click's trusted API) decides which definition of each
packet-path method (push, pull, simple_action, smaction, run_task, run_timer)
and configuration-time method runs, and resolves virtual calls on ``this``.
The strings returned by class_name(), port_count(), processing() and
flow_code() are read from their return statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from analyzers.checks.router import derives_from_element
from analyzers.cost.methods import PACKET_METHODS as PACKET_METHODS  # what the checks follow (re-exported)
from analyzers.frontend import Node, walk_preorder

CONFIG_METHODS = ("configure", "initialize", "add_handlers", "cleanup", "take_state", "live_reconfigure",
                  "can_live_reconfigure", "configure_phase")
INFO_METHODS = ("class_name", "port_count", "processing", "flow_code")
_CLASS_KINDS = ("CLASS_DECL", "STRUCT_DECL")
_METHOD_KINDS = ("CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE", "CONVERSION_FUNCTION")


@dataclass
class ElementClass:
    name: str
    node: Node
    mro: list[Node]
    info: dict[str, str] = field(default_factory=dict)


def element_classes(declarations: Iterable[Node]) -> dict[str, Node]:
    """The class definitions among ``declarations`` (see frontend.declarations_in) deriving from Element, by name."""
    found: dict[str, Node] = {}
    for n in declarations:
        if n.kind in _CLASS_KINDS and n.is_definition() and n.spelling != "Element" and derives_from_element(n):
            found.setdefault(n.spelling, n)
    return found


def lookup_order(cls: Node) -> list[Node]:
    """The class and its bases, depth first, without Element and without repeats."""
    out: list[Node] = []
    seen: set[str] = set()

    def visit(c: Node, depth: int) -> None:
        d = c.definition or c
        if depth > 30 or d.spelling == "Element" or d.usr in seen:
            return
        seen.add(d.usr)
        out.append(d)
        for b in d.children():
            if b.kind == "CXX_BASE_SPECIFIER":
                base = b.referenced
                if base is not None and base.kind == "TYPEDEF_DECL":
                    base = base.type.canonical.declaration()
                if base is not None and base.kind in (*_CLASS_KINDS, "CLASS_TEMPLATE"):
                    visit(base, depth + 1)

    visit(cls, 0)
    return out


def methods(cls: Node) -> list[Node]:
    """The method declarations written in a class body."""
    return [c for c in cls.children() if c.kind in _METHOD_KINDS]


def resolve(order: list[Node], name: str) -> tuple[list[Node], list[Node]]:
    """(definitions, declarations without a visible definition) of ``name`` in the first class of
    ``order`` that declares it: what a call of ``name`` on an object of the class runs."""
    for cls in order:
        declared = [m for m in methods(cls) if m.spelling == name and not m.is_pure_virtual()]
        if declared:
            defs = [d for d in (m.definition for m in declared) if d is not None]
            missing = [m for m in declared if m.definition is None]
            return defs, missing
    return [], []


def definitions_named(order: list[Node], name: str) -> list[Node]:
    """The visible definitions of ``name`` that a call on the class runs (see :func:`resolve`)."""
    return resolve(order, name)[0]


def declares(order: list[Node], name: str) -> bool:
    return any(m.spelling == name for cls in order for m in methods(cls))


def _returned_string(defn: Node) -> str | None:
    for n in walk_preorder(defn):
        if n.kind == "RETURN_STMT":
            for m in walk_preorder(n):
                s = m.string_literal()
                if s is not None:
                    return s
                if m.kind == "DECL_REF_EXPR" and m.referenced is not None:
                    for k in walk_preorder(m.referenced):
                        s = k.string_literal()
                        if s is not None:
                            return s
                    return m.spelling
            return None
    return None


# Element's named port-count and processing constants (element.hh), and Element's defaults
_CONSTANTS = {"PORTS_0_0": "0/0", "PORTS_0_1": "0/1", "PORTS_1_0": "1/0", "PORTS_1_1": "1/1", "PORTS_1_1X2": "1/1-2",
              "AGNOSTIC": "a/a", "PUSH": "h/h", "PULL": "l/l", "PUSH_TO_PULL": "h/l", "PULL_TO_PUSH": "l/h",
              "PROCESSING_A_AH": "a/ah", "COMPLETE_FLOW": "x/x"}
_DEFAULTS = {"port_count": "0/0", "processing": "a/a", "flow_code": "x/x"}


def element_info(order: list[Node]) -> dict[str, str]:
    """class_name, port_count, processing and flow_code as the element returns them."""
    info: dict[str, str] = dict(_DEFAULTS)
    for name in INFO_METHODS:
        for d in definitions_named(order, name):
            s = _returned_string(d)
            if s is not None:
                info[name] = _CONSTANTS.get(s, s)
                break
    return info


def all_method_definitions(order: list[Node]) -> list[Node]:
    out = []
    for cls in order:
        for m in methods(cls):
            d = m.definition
            if d is not None:
                out.append(d)
    return out
