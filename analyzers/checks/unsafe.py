"""KS401-KS410: constructs that are unsafe in the kernel, wherever they sit on the packet path.

Decides by cursor kind and, for casts and calls, by types and names: inline
assembly; casts from an integer to a pointer (a literal null is allowed);
``reinterpret_cast`` unless its operand points to raw bytes (``char``,
``unsigned char``, ``uint8_t``, ``void``: the packet-header idiom); ``alloca``
and variable-length arrays; setjmp/longjmp; ``throw`` and ``try``; ``new``,
``delete`` and the C allocator; ``goto``.  C-style casts between pointer types
are not flagged (they are how Click code writes ``static_cast``); that limit is
documented in docs/analyzers.md.  Indirect and virtual calls are decided by the
call check (:mod:`analyzers.checks.calls`).
"""

from __future__ import annotations

from analyzers.frontend import Node
from analyzers.walker import ALLOCA_NAMES, MALLOC_NAMES, SETJMP_NAMES, FunctionContext, unwrap

_ALLOCA = ALLOCA_NAMES
_SETJMP = SETJMP_NAMES
_MALLOC = MALLOC_NAMES | {"operator new", "operator delete", "operator new[]", "operator delete[]"}
_NULLS = frozenset(("GNU_NULL_EXPR", "CXX_NULL_PTR_LITERAL_EXPR"))


def _operand(cast: Node) -> Node | None:
    kids = [k for k in cast.children() if k.kind not in ("TYPE_REF", "TEMPLATE_REF", "NAMESPACE_REF")]
    return kids[-1] if kids else None


def _is_null_constant(expr: Node) -> bool:
    e = unwrap(expr)
    if e.kind in _NULLS:
        return True
    return e.kind == "INTEGER_LITERAL" and e.tokens() in (["0"], ["0L"], ["0UL"])


class UnsafeCheck:
    name = "unsafe"
    rules = ("KS401", "KS402", "KS403", "KS406", "KS407", "KS408", "KS409", "KS410")

    def visit_ASM_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS401", node, "asm")

    visit_MS_ASM_STMT = visit_ASM_STMT

    def _int_to_pointer(self, node: Node, ctx: FunctionContext) -> bool:
        op = _operand(node)
        if op is None or not node.type.is_pointer():
            return False
        if op.type.is_integer() and not _is_null_constant(op):
            ctx.report("KS402", node, node.type.spelling)
            return True
        return False

    def visit_CSTYLE_CAST_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        self._int_to_pointer(node, ctx)

    visit_CXX_FUNCTIONAL_CAST_EXPR = visit_CSTYLE_CAST_EXPR

    def visit_CXX_REINTERPRET_CAST_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if self._int_to_pointer(node, ctx):
            return
        op = _operand(node)
        if op is None:
            return
        toks = node.tokens()
        to_reference = ">" in toks and "&" in toks[: toks.index(">")]  # an expression's type is never a reference
        if (node.type.is_pointer() and not op.type.points_to_bytes()) or to_reference:
            ctx.report("KS403", node, node.type.spelling)

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        name = decl.spelling if decl is not None else node.spelling
        if name in _ALLOCA:
            ctx.report("KS406", node, name)
        elif name in _SETJMP:
            ctx.report("KS407", node, name)
        elif name in _MALLOC and (decl is None or decl.kind == "FUNCTION_DECL"):
            ctx.report("KS409", node, name)

    def visit_VAR_DECL(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if node.type.is_variable_array():
            ctx.report("KS406", node, node.spelling)

    def visit_CXX_THROW_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS408", node, "throw")

    def visit_CXX_TRY_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS408", node, "try")

    def visit_CXX_NEW_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS409", node, "new")

    def visit_CXX_DELETE_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS409", node, "delete")

    def visit_GOTO_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report("KS410", node, "goto")

    visit_INDIRECT_GOTO_STMT = visit_GOTO_STMT
