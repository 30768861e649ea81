"""The trust check: records the routines a function calls on trust, for the element's assumptions.

It reports no rule.  For every call and every function whose address is taken
it records, into ``FunctionContext.trusted``, a
:class:`analyzers.assumptions.TrustedCall` when the callee is

* trusted by the policy's ``allowed_api`` (as ``FunctionContext.tracked_elsewhere``
  decides: the call check does not follow it, so its body is not analysed);
  callees judged by the router, element, handler or kernel lists, or by name
  (``malloc``, ``alloca``, ``setjmp``) are not recorded: those are findings;
* or followed and analysed for safety, but costed by a declaration: it is not
  defined beside the element (the cost model costs only the element's own
  files and the headers beside it), or ``api_costs.yaml`` names it, and an
  entry of ``api_costs.yaml`` applies to this call (a caller-specific entry,
  such as CheckIPHeader's ``find``).

The packet path's union of these (:mod:`analyzers.analysis`) becomes the
element's ``assumptions`` (:func:`analyzers.assumptions.describe`).
"""

from __future__ import annotations

import os

from analyzers import apicost
from analyzers.assumptions import DECLARED_COST, TRUSTED_API, TrustedCall
from analyzers.frontend import Node
from analyzers.walker import FUNCTION_KINDS, JUDGED_BY_NAME, FunctionContext, address_taken, unwrap

_JUDGING_LISTS = ("router_api", "element_api", "handler_api")


def _trusted_by_allowed_api(decl: Node, ctx: FunctionContext) -> bool:
    """``decl`` is not followed because ``allowed_api`` trusts it (not because a check or another list judges it)."""
    if not ctx.tracked_elsewhere(decl) or decl.spelling in JUDGED_BY_NAME:
        return False
    qn = decl.qualified_name()
    p = ctx.policy
    if any(p.matches(k, qn) for k in _JUDGING_LISTS):
        return False
    if decl.kind == "FUNCTION_DECL" and (p.matches("kernel_apis", decl.spelling) or ctx.in_kernel_header(decl)):
        return False
    return p.matches("allowed_api", qn) and decl.file not in ctx.own_files


def _caller(ctx: FunctionContext) -> str:
    fn = ctx.function
    return fn.spelling if fn.kind == "FUNCTION_DECL" else fn.qualified_name()


def _signature(decl: Node) -> str:
    qn = decl.qualified_name()
    shown = decl.displayname
    return qn + shown[shown.index("("):] if "(" in shown else qn


class TrustedCheck:
    name = "trusted"
    rules = ()

    def _record(self, decl: Node, nargs: int, ctx: FunctionContext) -> None:
        qn = decl.qualified_name()
        if _trusted_by_allowed_api(decl, ctx):
            ctx.trusted.add(TrustedCall(qn, TRUSTED_API, _signature(decl), nargs, _caller(ctx)))
            return
        if ctx.tracked_elsewhere(decl):
            return
        defn = decl.definition
        if defn is None or decl.file == ctx.function.file:
            return  # unresolved (a finding), or the caller's own file: costed from its body
        beside = {os.path.dirname(f) for f in ctx.own_files}
        costs = apicost.load()
        if os.path.dirname(defn.file) in beside and not costs.declares(qn):
            return  # defined beside the element: the cost model costs its body
        sig = _signature(decl)
        if costs.entry_for(qn, sig, nargs, _caller(ctx)) is not None:
            ctx.trusted.add(TrustedCall(qn, DECLARED_COST, sig, nargs, _caller(ctx)))

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind not in FUNCTION_KINDS:
            return
        kids = node.children()
        callee = kids[0] if kids else None
        if callee is not None:
            callee = unwrap(callee)
        nargs = len(kids) - (1 if callee is not None and callee.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else 0)
        self._record(decl, nargs, ctx)

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = address_taken(node, parents)
        if decl is None:
            return
        self._record(decl, sum(1 for c in decl.children() if c.kind == "PARM_DECL"), ctx)  # address taken
