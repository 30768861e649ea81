"""KS401-KS410: constructs that are unsafe in the kernel, wherever they sit on the packet path.

Decides by cursor kind and, for casts and calls, by types and names: inline
assembly (except a register multiply, :mod:`analyzers.checks.asm`); casts
from an integer to a pointer (a literal null is allowed);
``reinterpret_cast`` unless its operand points to raw bytes (``char``,
``unsigned char``, ``uint8_t``, ``void``: the packet-header idiom) or, for a
cast to a pointer to an integer, a byte or a plain header struct, unless its
operand is proven packet data (decided per element by the origin analysis,
:mod:`analyzers.pointsto`: such a cast is recorded, not reported, here); ``alloca``
and variable-length arrays; setjmp/longjmp; ``throw`` and ``try``; ``new``,
``delete`` and the C allocator; ``goto``.  C-style casts between pointer types
are not flagged (they are how Click code writes ``static_cast``); that limit is
documented in docs/analyzers.md.  Indirect and virtual calls are decided by the
call check (:mod:`analyzers.checks.calls`).
"""

from __future__ import annotations

from analyzers.checks.alias_terms import Evaluator, plain_target
from analyzers.checks.asm import register_multiply
from analyzers.frontend import Node, walk_preorder
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


_LOOPS = frozenset(("FOR_STMT", "WHILE_STMT", "DO_STMT", "GOTO_STMT", "INDIRECT_GOTO_STMT"))


def _outputs_stay_local(asm: Node, ctx: FunctionContext) -> bool:
    """The two outputs of a register multiply are integer locals or parameters of a function without loops.

    An ``asm`` output is a write no other analysis models (loop bounds, growth, origins see only C++
    writes), so it may only land where those analyses need not see it: an integer variable of this
    function, which has no loop to bound, or a reference parameter -- whose caller passes its
    argument by non-const reference, a write every analysis already counts."""
    outputs = asm.children()[:2]
    if len(outputs) != 2 or any(n.kind in _LOOPS for n in walk_preorder(ctx.function)):
        return False
    for out in outputs:
        var = out.referenced if out.kind == "DECL_REF_EXPR" else None
        if var is None or var.kind not in ("VAR_DECL", "PARM_DECL") or not out.type.is_integer():
            return False
        if var.kind == "VAR_DECL" and var.storage() == "STATIC":
            return False
        if var.semantic_parent is None or var.semantic_parent.usr != ctx.function.usr:
            return False
    return True


class UnsafeCheck:
    name = "unsafe"
    rules = (INLINE_ASM, INT_TO_POINTER, REINTERPRET_CAST, STACK_ALLOCATION, NON_LOCAL_JUMP, EXCEPTION, DYNAMIC_ALLOCATION, GOTO)

    def visit_ASM_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if not (register_multiply(node.tokens()) and _outputs_stay_local(node, ctx)):
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
            if not to_reference and plain_target(node.type):
                # a plain header view: allowed when the operand is proven packet data (decided per element
                # by the origins, analyzers.pointsto: KS403 otherwise)
                ctx.alias.append(("cast", node.file, node.line, node.column, Evaluator(ctx).val(op),
                                  node.type.spelling))
                return
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
        if not closes_a_cycle(node, ctx.function):
            return
        ctx.report(GOTO, node, "goto")

    def visit_INDIRECT_GOTO_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        ctx.report(GOTO, node, "goto")  # a computed goto may go anywhere: always a possible cycle


_LOOPS = frozenset(("FOR_STMT", "WHILE_STMT", "DO_STMT", "CXX_FOR_RANGE_STMT"))
_BREAKABLE = _LOOPS | {"SWITCH_STMT"}
_PLACE = tuple[str, int, int]


def _place(n: Node) -> _PLACE:
    return (n.file, n.line, n.column)


def _find(function: Node, where: _PLACE) -> tuple[Node, list[Node]] | None:
    """The LABEL_STMT at ``where`` in ``function`` and its ancestors (outermost first), or None."""
    stack: list[tuple[Node, list[Node]]] = [(function, [])]
    while stack:
        n, up = stack.pop()
        for k in n.children():
            if k.kind == "LABEL_STMT" and _place(k) == where:
                return (k, up + [n])
            stack.append((k, up + [n]))
    return None


def _label_of(goto: Node) -> _PLACE | None:
    refs = [k for k in goto.children() if k.kind == "LABEL_REF"]
    target = refs[0].referenced if refs else None
    return _place(target) if target is not None else None


def _within(n: Node, place: _PLACE) -> bool:
    f, a, b = n.extent
    return f == place[0] and a <= place[1] <= b


def closes_a_cycle(goto: Node, function: Node) -> bool:
    """Whether ``goto`` may close a cycle of control flow (only then does it need a bound, as a loop would).

    Loop statements are the loop analysis's; every other statement moves forward, so a cycle made by jumps
    needs a backward jump.  A jump to a label after it (a forward ``goto``: error exits, shared cleanup) closes
    none.  A backward jump closes none either when, from its label, control runs through the label's own block
    to a ``return``, or to a ``continue``/``break`` of a loop or switch that holds the ``goto`` too (the cycle,
    if any, is then that loop's, which the loop analysis bounds).  On the way: no other backward jump, no jump
    out of the run (a ``goto`` whose label is outside it, a ``break``/``continue`` of a statement that does not
    hold the ``goto``), and a forward jump inside the run means the run must go on past its label.  Anything
    else (the label not found, in a macro or another file, running off the end of the block) counts as a
    cycle: fail closed."""
    target = _label_of(goto)
    if target is None or target[0] != goto.file:
        return True
    if target[1:] > (goto.line, goto.column):
        return False  # forward
    found = _find(function, target)
    if found is None:
        return True
    label, ancestors = found
    block = ancestors[-1]
    holders = [a for a in ancestors if a.kind in _BREAKABLE and _within(a, _place(goto))]
    stmts = block.children()
    at = next(i for i, x in enumerate(stmts) if x == label)
    run = [label] + stmts[at + 1:]
    must_pass = 0  # the run may end only at or after this statement: forward jumps inside it land there
    for i, stmt in enumerate(run):
        ends = _ends(stmt, i == 0)
        for n, owner in _jumps(stmt, holders):
            if n.kind == "INDIRECT_GOTO_STMT":
                return True
            if n.kind == "GOTO_STMT":
                dest = _label_of(n)
                if dest is None or dest[1:] <= (n.line, n.column):
                    return True  # another backward jump on the way
                landing = next((j for j, x in enumerate(run) if _within(x, dest)), None)
                if landing is None:
                    return True  # a jump out of the run
                must_pass = max(must_pass, landing)
            elif owner is None:
                return True  # a break/continue of a statement that does not hold the goto
        if ends and i >= must_pass:
            return False
    return True


def _ends(stmt: Node, is_label: bool) -> bool:
    """The statement always leaves the run: a return, or a break/continue (its owner holds the goto, checked by
    the caller)."""
    if is_label:
        kids = [k for k in stmt.children() if k.kind != "LABEL_REF"]
        return bool(kids) and _ends(kids[-1], False)
    return stmt.kind in ("RETURN_STMT", "BREAK_STMT", "CONTINUE_STMT")


def _jumps(stmt: Node, holders: list[Node]) -> list[tuple[Node, Node | None]]:
    """Every jump in ``stmt``: (the jump, for a break/continue leaving ``stmt`` the holder it belongs to or
    None when it belongs to no statement holding the goto); a break/continue of a loop or switch inside
    ``stmt`` stays inside it and is not listed."""
    out: list[tuple[Node, Node | None]] = []
    stack: list[tuple[Node, bool, bool]] = [(stmt, False, False)]  # (node, inside a loop, inside a switch)
    while stack:
        n, in_loop, in_switch = stack.pop()
        if n.kind in ("GOTO_STMT", "INDIRECT_GOTO_STMT"):
            out.append((n, None))
        elif n.kind == "CONTINUE_STMT" and not in_loop:
            loops = [h for h in holders if h.kind in _LOOPS]
            out.append((n, loops[-1] if loops else None))
        elif n.kind == "BREAK_STMT" and not (in_loop or in_switch):
            out.append((n, holders[-1] if holders else None))
        if n.kind in ("LAMBDA_EXPR", "CLASS_DECL", "STRUCT_DECL"):
            continue  # their own bodies
        loop = in_loop or n.kind in _LOOPS
        switch = in_switch or n.kind == "SWITCH_STMT"
        stack.extend((k, loop, switch) for k in n.children())
    return out
