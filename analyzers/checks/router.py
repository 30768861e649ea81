"""KS2xx: router state reached from the packet path.

Decides whether a call or a reference reaches beyond the element: the Router,
the Master and their threads (``router_api`` in the policy, e.g.
``Element::router``, ``Router::*``), handlers (``handler_api``), another element
object (``element_api`` such as ``Element::Port::element``, and any member call
on an object of an Element-derived class that is not ``this``).  Because every
call on the packet path is followed through the call graph, helpers, macros and
templates that hide such a call are caught where the call is written.
"""

from __future__ import annotations

from analyzers.frontend import Node
from analyzers.walker import FunctionContext, is_this, member_call_object, unwrap
from certify.core.rules import rule

ROUTER_ACCESS = rule("KS201")
ELEMENT_ACCESS = rule("KS202")
HANDLER_ACCESS = rule("KS203")

_CLASS_KINDS = frozenset(("CLASS_DECL", "STRUCT_DECL", "CLASS_TEMPLATE"))


_DERIVES: dict[str, bool] = {}  # by class USR, within one worker process


def derives_from_element(cls: Node | None, depth: int = 0) -> bool:
    """True when ``cls`` is Element or derives from it (through visible bases)."""
    if cls is None or depth > 30 or cls.kind not in _CLASS_KINDS:
        return False
    if cls.spelling == "Element":
        return True
    key = cls.usr
    if key and key in _DERIVES:
        return _DERIVES[key]
    result = _derives(cls, depth)
    if key:
        _DERIVES[key] = result
    return result


def _derives(cls: Node, depth: int) -> bool:
    d = cls.definition or cls
    for c in d.children():
        if c.kind == "CXX_BASE_SPECIFIER":
            base = c.referenced
            if base is not None and base.kind == "TYPEDEF_DECL":
                base = base.type.canonical.declaration()
            if derives_from_element(base.definition if base is not None and base.definition else base, depth + 1):
                return True
    return False


class RouterCheck:
    name = "router"
    rules = (ROUTER_ACCESS, ELEMENT_ACCESS, HANDLER_ACCESS)

    def _by_list(self, node: Node, decl: Node, ctx: FunctionContext) -> bool:
        qn = decl.qualified_name()
        for lst, r in (("router_api", ROUTER_ACCESS), ("element_api", ELEMENT_ACCESS), ("handler_api", HANDLER_ACCESS)):
            if ctx.policy.matches(lst, qn):
                ctx.report(r, node, qn)
                return True
        return False

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind not in ("CXX_METHOD", "FUNCTION_DECL", "CONVERSION_FUNCTION"):
            return
        if self._by_list(node, decl, ctx):
            return
        is_member, obj = member_call_object(node)
        if decl.kind == "CXX_METHOD" and is_member and not is_this(obj) and not decl.is_static_method():
            assert obj is not None
            if derives_from_element(decl.semantic_parent) or derives_from_element(unwrap(obj).type.declaration()):
                ctx.report(ELEMENT_ACCESS, node, decl.qualified_name())

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is not None and decl.kind in ("CXX_METHOD", "FUNCTION_DECL"):
            self._by_list(node, decl, ctx)
