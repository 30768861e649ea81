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
from certify.core.rules import rule

INLINE_ASM = rule("KS401")
INT_TO_POINTER = rule("KS402")
REINTERPRET_CAST = rule("KS403")
STACK_ALLOCATION = rule("KS406")
NON_LOCAL_JUMP = rule("KS407")
EXCEPTION = rule("KS408")
DYNAMIC_ALLOCATION = rule("KS409")
GOTO = rule("KS410")

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
    rules = (INLINE_ASM, INT_TO_POINTER, REINTERPRET_CAST, STACK_ALLOCATION, NON_LOCAL_JUMP, EXCEPTION, DYNAMIC_ALLOCATION, GOTO)

    def visit_ASM_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(INLINE_ASM, node, "asm")

    visit_MS_ASM_STMT = visit_ASM_STMT

    def _int_to_pointer(self, node: Node, ctx: FunctionContext) -> bool:
        op = _operand(node)
        if op is None or not node.type.is_pointer():
            return False
        if op.type.is_integer() and not _is_null_constant(op):
            ctx.report(INT_TO_POINTER, node, node.type.spelling)
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
            ctx.report(REINTERPRET_CAST, node, node.type.spelling)

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        name = decl.spelling if decl is not None else node.spelling
        if name in _ALLOCA:
            ctx.report(STACK_ALLOCATION, node, name)
        elif name in _SETJMP:
            ctx.report(NON_LOCAL_JUMP, node, name)
        elif name in _MALLOC and (decl is None or decl.kind == "FUNCTION_DECL"):
            ctx.report(DYNAMIC_ALLOCATION, node, name)

    def visit_VAR_DECL(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if node.type.is_variable_array():
            ctx.report(STACK_ALLOCATION, node, node.spelling)

    def visit_CXX_THROW_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(EXCEPTION, node, "throw")

    def visit_CXX_TRY_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(EXCEPTION, node, "try")

    def visit_CXX_NEW_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(DYNAMIC_ALLOCATION, node, "new")

    def visit_CXX_DELETE_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(DYNAMIC_ALLOCATION, node, "delete")

    def visit_GOTO_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(GOTO, node, "goto")

    visit_INDIRECT_GOTO_STMT = visit_GOTO_STMT
