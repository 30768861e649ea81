"""KS1xx: mutable global state on the packet path.

Decides, for every reference to a variable, whether it is mutable global state:
a namespace-scope variable, a static data member or a function-local static
whose type is not const (arrays of const elements, i.e. constant tables, are
allowed).  A reference is a write (KS101) when it is the left operand of an
assignment, the operand of ``++``/``--``/``&``, or the object of a non-const
member call or operator; any other reference is a read (KS102).  An access that
does not name the global (through a pointer or reference aimed at it elsewhere)
is found by the origin analysis (:mod:`analyzers.pointsto`), at the dereference.  Function-local
statics are reported once, at their declaration (KS103), and ``const_cast`` over
an expression naming a global is KS104.  Limits: a global passed by non-const
reference counts as a read (same verdict class, so the verdict is unaffected).
"""

from __future__ import annotations

from analyzers.frontend import Node, walk_preorder
from analyzers.walker import FUNCTION_KINDS, FunctionContext
from certify.core.rules import rule

GLOBAL_WRITE = rule("KS101")
GLOBAL_READ = rule("KS102")
STATIC_LOCAL = rule("KS103")
CONST_CAST_GLOBAL = rule("KS104")

_ASSIGN_OPS = frozenset(("=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="))
_SCOPES = frozenset(("TRANSLATION_UNIT", "NAMESPACE", "LINKAGE_SPEC", "UNEXPOSED_DECL"))
_CLASSES = frozenset(("CLASS_DECL", "STRUCT_DECL", "UNION_DECL", "CLASS_TEMPLATE", "CLASS_TEMPLATE_PARTIAL_SPECIALIZATION"))


def global_kind(var: Node) -> str:
    """'global', 'static-member', 'static-local' or '' for a VAR_DECL."""
    if var.kind != "VAR_DECL":
        return ""
    parent = var.semantic_parent
    pk = parent.kind if parent is not None else "TRANSLATION_UNIT"
    if pk in _SCOPES:
        return "global"
    if pk in _CLASSES:
        return "static-member"
    if pk in FUNCTION_KINDS and var.storage() == "STATIC":
        return "static-local"
    return ""


def is_mutable_global(var: Node) -> bool:
    return bool(global_kind(var)) and not var.type.is_const() and not var.type.is_reference()


def is_write(node: Node, parents: list[Node]) -> bool:
    child = node
    for p in reversed(parents):
        k = p.kind
        kids = p.children()
        first = kids[0] if kids else None
        if k in ("UNEXPOSED_EXPR", "PAREN_EXPR"):
            child = p
            continue
        if k == "ARRAY_SUBSCRIPT_EXPR" and first == child:
            child = p
            continue
        if k == "MEMBER_REF_EXPR":
            ref = p.referenced
            if ref is not None and ref.kind == "CXX_METHOD":
                return not ref.is_const_method()
            child = p
            continue
        if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
            return first == child and (k == "COMPOUND_ASSIGNMENT_OPERATOR" or p.operator() in _ASSIGN_OPS)
        if k == "UNARY_OPERATOR":
            return p.operator() in ("++", "--", "&")
        if k in ("ASM_STMT", "MS_ASM_STMT"):
            return True  # an operand of inline assembly: the assembly may write it
        if k == "CALL_EXPR":
            ref = p.referenced
            return (ref is not None and ref.spelling.startswith("operator") and first == child
                    and not ref.is_const_method())
        return False
    return False


class StateCheck:
    name = "state"
    rules = (GLOBAL_WRITE, GLOBAL_READ, STATIC_LOCAL, CONST_CAST_GLOBAL)

    def _ref(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        var = node.referenced
        if var is None or not is_mutable_global(var) or global_kind(var) == "static-local":
            return
        if is_write(node, parents):
            ctx.report(GLOBAL_WRITE, node, var.qualified_name())
        else:
            ctx.report(GLOBAL_READ, node, var.qualified_name())

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        self._ref(node, parents, ctx)

    def visit_MEMBER_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        self._ref(node, parents, ctx)

    def visit_VAR_DECL(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if global_kind(node) == "static-local" and not node.type.is_const():
            ctx.report(STATIC_LOCAL, node, node.qualified_name())

    def visit_CXX_CONST_CAST_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        for n in walk_preorder(node):
            if n.kind == "DECL_REF_EXPR":
                var = n.referenced
                if var is not None and global_kind(var):
                    ctx.report(CONST_CAST_GLOBAL, node, var.qualified_name())
                    return
