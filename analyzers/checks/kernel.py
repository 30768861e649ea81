"""KS301/KS302: kernel symbols used on the packet path.

Decides whether a referenced function or variable belongs to the kernel: its
name is in the policy's ``kernel_apis``, its declaration lies in a kernel header
(``kernel_headers`` path patterns), or the element's own files declare it
``extern "C"`` (KS302: binding to a symbol outside Click).  Member functions are
never kernel symbols, so an element method named ``schedule`` is not flagged.
Unresolved calls (KS303) are decided by the call check, kernel-only code (KS304)
and kernel headers (KS305) by the source scan in :mod:`analyzers.conditionals`.
"""

from __future__ import annotations

from analyzers.frontend import Node
from analyzers.walker import FunctionContext
from certify.core.rules import rule

KERNEL_SYMBOL = rule("KS301")
EXTERN_C = rule("KS302")


class KernelCheck:
    name = "kernel"
    rules = (KERNEL_SYMBOL, EXTERN_C)

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind not in ("FUNCTION_DECL", "VAR_DECL") or decl.spelling.startswith("__builtin_"):
            return
        if decl.kind == "VAR_DECL" and decl.semantic_parent is not None and decl.semantic_parent.kind not in (
            "TRANSLATION_UNIT", "NAMESPACE", "LINKAGE_SPEC", "UNEXPOSED_DECL"):
            return
        if ctx.policy.matches("kernel_apis", decl.spelling) or ctx.in_kernel_header(decl):
            ctx.report(KERNEL_SYMBOL, node, decl.spelling)
        elif decl.is_extern_c() and decl.file in ctx.own_files:
            ctx.report(EXTERN_C, node, decl.spelling)
