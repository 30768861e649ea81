"""The call check: builds the call graph and decides KS303, KS404 and KS405.

For every call, constructor call, local object destructor and function whose
address is taken, it decides where control may go:
- a callee the policy or another check judges (allowed Click API, router,
  handler, kernel and extern "C" symbols) is not followed;
- a virtual call on ``this`` becomes a ``vthis:<name>`` edge, resolved per
  element class against that class's own overrides (the dynamic type is known);
- a virtual call on another object, unless the method or class is final, is
  KS405 (not every override can be seen);
- a call through a variable, member or parameter (a function pointer) is KS404;
- a callee with a visible definition becomes an edge and is walked next;
- anything else (no definition, no resolvable callee) is KS303.
Implicit special members (compiler-generated constructors and destructors) are
followed into the constructors or destructors of the bases and members; a
temporary's destructor and a local object's destructor are edges too.
"""

from __future__ import annotations

from analyzers.frontend import Node
from analyzers.walker import FUNCTION_KINDS, WRAPPERS, FunctionContext, is_this, member_call_object, unwrap
from certify.core.rules import rule

UNRESOLVED_SYMBOL = rule("KS303")
INDIRECT_CALL = rule("KS404")
VIRTUAL_CALL = rule("KS405")

_VALUE_DECLS = frozenset(("VAR_DECL", "FIELD_DECL", "PARM_DECL"))
_INDIRECT_CALLEES = frozenset(("MEMBER_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR", "BINARY_OPERATOR", "UNARY_OPERATOR",
                               "CONDITIONAL_OPERATOR"))


def _implicit_special(decl: Node) -> bool:
    """A compiler-generated constructor, destructor or assignment operator (no tokens of its own)."""
    if decl.kind not in ("CONSTRUCTOR", "DESTRUCTOR", "CXX_METHOD"):
        return False
    if decl.kind == "CXX_METHOD" and decl.spelling != "operator=":
        return False
    cls = decl.semantic_parent
    if cls is not None and (decl.file, decl.line, decl.column) == (cls.file, cls.line, cls.column):
        return True  # libclang places an implicit member at its class
    toks = decl.tokens()
    return not toks or decl.spelling.split("(")[0].lstrip("~") not in " ".join(toks)


def _qualified_call(call: Node) -> bool:
    """``Base::method(...)``: a call that names its class, so no virtual dispatch."""
    kids = call.children()
    return bool(kids) and "::" in unwrap(kids[0]).tokens()[:4]


class CallCheck:
    name = "calls"
    rules = (UNRESOLVED_SYMBOL, INDIRECT_CALL, VIRTUAL_CALL)

    def _to(self, decl: Node, node: Node, ctx: FunctionContext, depth: int = 0) -> None:
        if ctx.tracked_elsewhere(decl):
            return
        defn = decl.definition
        if defn is None and decl.kind == "FUNCTION_TEMPLATE":
            defn = decl if decl.is_definition() else None
        if _implicit_special(decl):  # implicitly defined when used: no body of its own to walk
            self._members(decl, node, ctx, depth)
        elif defn is not None:
            ctx.follow(defn, node)
        else:
            ctx.report(UNRESOLVED_SYMBOL, node, decl.qualified_name(), usr=decl.usr)  # may be linked to another file later

    def _members(self, decl: Node, node: Node, ctx: FunctionContext, depth: int) -> None:
        """An implicit constructor or destructor runs those of the bases and members: follow them all."""
        cls = decl.semantic_parent
        cls = cls.definition if cls is not None else None
        if cls is None or depth > 8:
            return
        for c in cls.children():
            if c.kind == "CXX_BASE_SPECIFIER":
                part = c.referenced
            elif c.kind == "FIELD_DECL" and not (c.type.is_pointer() or c.type.is_reference()):
                part = c.type.declaration()
            else:
                continue
            part = part.definition if part is not None else None
            if part is None or part.kind not in ("CLASS_DECL", "STRUCT_DECL"):
                continue
            for m in part.children():
                if m.kind == decl.kind and (decl.kind != "CXX_METHOD" or m.spelling == decl.spelling):
                    self._to(m, node, ctx, depth + 1)

    def _destructor_of(self, cls: Node | None, node: Node, ctx: FunctionContext) -> None:
        d = cls.definition if cls is not None else None
        if d is None or d.kind not in ("CLASS_DECL", "STRUCT_DECL"):
            return
        found = [m for m in d.children() if m.kind == "DESTRUCTOR"]
        for m in found:
            self._to(m, node, ctx)
        if not found:  # the implicit destructor: those of the members and bases
            for c in d.children():
                if c.kind == "FIELD_DECL" and not (c.type.is_pointer() or c.type.is_reference()):
                    self._destructor_of(c.type.declaration(), node, ctx)
                elif c.kind == "CXX_BASE_SPECIFIER":
                    self._destructor_of(c.referenced, node, ctx)

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None:
            kids = node.children()
            if not kids:
                return  # a trivial construction: nothing runs
            callee = unwrap(kids[0])
            if callee.kind in ("TYPE_REF", "TEMPLATE_REF", "NAMESPACE_REF"):
                return  # T(): value-initialization of a type with a trivial constructor
            if callee.type.is_function_pointer() or callee.kind in _INDIRECT_CALLEES:
                ctx.report(INDIRECT_CALL, node, " ".join(callee.tokens()[:6]))
            elif len(kids) == 1 and callee.type.canonical.spelling == node.type.canonical.spelling:
                return  # an implicit copy or move construction: no code of the element's runs
            else:
                ctx.report(UNRESOLVED_SYMBOL, node, node.spelling or " ".join(callee.tokens()[:6]))
            return
        if decl.kind in _VALUE_DECLS:
            ctx.report(INDIRECT_CALL, node, decl.spelling)
            return
        if decl.kind not in FUNCTION_KINDS:
            return
        if decl.kind == "CONSTRUCTOR" and not (parents and parents[-1].kind == "VAR_DECL"):
            self._destructor_of(decl.semantic_parent, node, ctx)  # a temporary is destroyed at the end of the statement
        if decl.is_virtual() and not decl.is_final() and not _qualified_call(node):
            is_member, obj = member_call_object(node)
            if ctx.tracked_elsewhere(decl):
                return
            if is_member and is_this(obj):
                ctx.call("vthis:" + decl.spelling, node)
                return
            cls = decl.semantic_parent
            if cls is None or not cls.is_final():
                ctx.report(VIRTUAL_CALL, node, decl.qualified_name())
                return
        self._to(decl, node, ctx)

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind not in FUNCTION_KINDS:
            return
        for p in reversed(parents):  # the callee of a call is handled by visit_CALL_EXPR
            if p.kind in WRAPPERS:
                continue
            if p.kind == "CALL_EXPR" and p.referenced == decl:
                return
            break
        if not ctx.tracked_elsewhere(decl) and decl.definition is not None:
            ctx.follow(decl.definition, node)  # address taken: may be called from anywhere

    def visit_VAR_DECL(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        """A local object's destructor runs at the end of its scope: an edge to it."""
        if node.storage() == "STATIC" or node.type.is_reference() or node.type.is_pointer():
            return
        cls = node.type.declaration()
        if cls is None or cls.kind not in ("CLASS_DECL", "STRUCT_DECL"):
            return
        self._destructor_of(cls, node, ctx)
