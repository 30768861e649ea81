"""Points-to facts of one function, for the origin analysis (:mod:`analyzers.pointsto`).

Records, during the one shared walk, plain facts into ``ctx.alias``: which variable, member, parameter or
return value may hold which pointer value (a *flow*), pointers written through pointers (a *store*), what
a variable nobody assigns holds by its type (a *seed*), the parameters of the walked function with what an
unknown caller may pass (entry points: the Element virtuals the Click runtime calls, functions whose address
is taken, functions no walked call binds; a virtual method is also bound by every call of its name), the
functions a call binds (defaulted arguments included), a deferred ``reinterpret_cast`` (from
:mod:`analyzers.checks.unsafe`), and every *dereference*: ``*p``, ``p->m`` (a member call
through ``p`` too), ``p[i]`` over a pointer, and each use of a reference variable or reference member.
Values are described by terms (:mod:`analyzers.checks.alias_terms` builds them): the origin of a value is taken from its syntax
(address-of, array decay, pointer arithmetic, casts, copies, references bound to storage, calls: their
return values, parameters bound at the call site, the trusted API's results), never from its type alone.
Nothing here decides a finding: the origins are solved per element class over every function its code
reaches, and the dereferences on its packet path then become KS101/KS102 (a global), KS202 (another
element), KS201 (the router) or KS105 (a target not proven to be own storage, packet data or a constant).
"""

from __future__ import annotations

from analyzers.checks.alias_terms import (
    ARRAYS,
    CASTS,
    RUNTIME_METHODS,
    UNEVALUATED,
    Evaluator,
    arrow_base,
    call_arguments,
    call_object,
    callee_usr,
    init_of,
    is_pointerish,
    is_record,
    is_reference_var,
    operand,
    params_of,
    seed_of,
    trusted,
    type_kind,
)
from analyzers.checks.state import is_write
from analyzers.frontend import Node, TypeView
from analyzers.pointsto import NULL, UNPROVEN_TARGET, Terms, atom, cell, var
from analyzers.walker import FUNCTION_KINDS, WRAPPERS, FunctionContext, unwrap
from certify.core.rules import rule


class AliasCheck:
    name = "alias"
    rules = (UNPROVEN_TARGET, rule("KS101"), rule("KS102"), rule("KS201"), rule("KS202"))

    # --- the walked function itself: its parameters ----------------------------------------------------------
    def _function(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if parents or node != ctx.function:
            return
        fn = callee_usr(node)
        virtual = node.is_virtual()
        entry = virtual and node.spelling in RUNTIME_METHODS
        for i, p in enumerate(params_of(node)):
            t = p.type
            if is_pointerish(t) or t.is_reference() or is_record(t):
                vname = node.spelling if virtual else ""
                ctx.alias.append(("param", fn, f"param:{fn}#{i}", (atom(seed_of(t)),), entry, vname))
            if node.usr != fn:  # a template: its parameters' own key too
                ctx.alias.append(("flow", f"param:{node.usr}#{i}", (var(f"param:{fn}#{i}"),)))
        if node.kind == "CONSTRUCTOR":
            self._initializers(node, ctx)

    visit_FUNCTION_DECL = _function
    visit_CXX_METHOD = _function
    visit_FUNCTION_TEMPLATE = _function
    visit_CONVERSION_FUNCTION = _function

    def visit_CONSTRUCTOR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        self._function(node, parents, ctx)

    def _initializers(self, ctor: Node, ctx: FunctionContext) -> None:
        """``: _p(&g), _r(g)``: a member-initializer is an assignment of the member."""
        kids = ctor.children()
        terms = Evaluator(ctx)
        for i, k in enumerate(kids[:-1]):
            if k.kind != "MEMBER_REF":
                continue
            field = k.referenced
            if field is None or field.kind != "FIELD_DECL":
                continue
            init = kids[i + 1]
            self._assign_named(field, init, terms, ctx)

    def _assign_named(self, decl: Node, init: Node, terms: Evaluator, ctx: FunctionContext) -> None:
        t = decl.type
        key = terms._named(decl)
        if t.is_reference():
            self._bind_ref(init, terms, t)
            ctx.alias.append(("flow", key, terms.loc(init)))
        elif is_pointerish(t):
            ctx.alias.append(("flow", key, terms.val(init)))
        elif is_record(t):
            ctx.alias.append(("flow", key, terms.val(init) + (atom(NULL),)))

    def _raw_write(self, arg: Node, terms: Evaluator, ctx: FunctionContext) -> None:
        """An address passed as ``void *`` to code we do not follow: if it is a pointer variable's (or a
        pointer array's), that code may write any pointer there."""
        u = unwrap(arg)
        inner = operand(u) if u.kind in CASTS else None
        while inner is not None:
            u = unwrap(inner)
            inner = operand(u) if u.kind in CASTS else None
        if u.kind == "UNARY_OPERATOR" and u.operator() == "&" and u.children():
            u = unwrap(u.children()[0])
        elif type_kind(u.type) not in ARRAYS:
            return
        decl = u.referenced if u.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
        if decl is None or decl.kind not in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") or decl.type.is_reference():
            return
        t = decl.type
        el = t.element_type()
        if is_pointerish(t) and (el is None or is_pointerish(el)):
            key = terms._named(decl)
            if el is None:
                terms.merge(key, terms.loc(u))
            ctx.alias.append(("store", terms.loc(u), (atom(seed_of(t if el is None else el)),)))

    def _bind_ref(self, arg: Node, terms: Evaluator, ref_type: TypeView) -> None:
        """A reference bound to a pointer variable may write it: merge the variable with its cell."""
        p = ref_type.pointee()
        if p is None or p.is_const() or not is_pointerish(p):
            return
        u = unwrap(arg)
        if u.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
            decl = u.referenced
            if decl is not None and decl.kind in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") and not decl.type.is_reference():
                terms.merge(terms._named(decl), terms.loc(u))

    # --- assignments -------------------------------------------------------------------------------------------
    def visit_VAR_DECL(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        t = node.type
        if not (is_pointerish(t) or t.is_reference() or is_record(t)):
            return
        terms = Evaluator(ctx)
        if parents and parents[-1].kind == "CXX_FOR_RANGE_STMT":
            kids = parents[-1].children()
            rng = next((c for c in kids[1:] if c != node and c.kind != "COMPOUND_STMT"), None)
            if rng is None:
                return
            inside = terms.into(rng, 0)
            key = terms._named(node)
            if t.is_reference():
                ctx.alias.append(("flow", key, inside))
            elif is_pointerish(t):
                ctx.alias.append(("flow", key, (cell(inside),)))
            else:
                ctx.alias.append(("flow", key, inside + (atom(NULL),)))
            return
        init = init_of(node)
        if init is None or init.kind in ("TYPE_REF", "TEMPLATE_REF"):
            return
        self._assign_named(node, init, terms, ctx)

    def visit_BINARY_OPERATOR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        kids = node.children()
        if len(kids) != 2:
            return
        lhs, rhs = kids
        if not is_pointerish(unwrap(lhs).type):
            return
        # an assignment of a pointer: told by its operator, or (inside a macro expansion, where the operator's
        # token is unreliable) by a pointer result with two pointer operands
        if node.operator() != "=" and not (node.type.is_pointer() and is_pointerish(rhs.type)
                                           and node.operator() not in (",", "-", "+")):
            return
        self._store(lhs, Evaluator(ctx).val(rhs), ctx)

    def _store(self, lhs: Node, value: Terms, ctx: FunctionContext) -> None:
        terms = Evaluator(ctx)
        u = unwrap(lhs)
        decl = u.referenced if u.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
        if decl is not None and decl.kind in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") and not decl.type.is_reference() \
                and type_kind(decl.type) not in ARRAYS:
            ctx.alias.append(("flow", terms._named(decl), value))
        else:
            ctx.alias.append(("store", terms.loc(u), value))

    def visit_RETURN_STMT(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        if any(p.kind == "LAMBDA_EXPR" for p in parents):
            return
        kids = node.children()
        fn = ctx.function
        if not kids or fn.kind not in FUNCTION_KINDS:
            return
        rt = fn.result_type
        terms = Evaluator(ctx)
        key = f"ret:{callee_usr(fn)}"
        if rt.is_reference():
            ctx.alias.append(("flow", key, terms.loc(kids[0])))
        elif is_pointerish(rt):
            ctx.alias.append(("flow", key, terms.val(kids[0])))
        elif is_record(rt):
            ctx.alias.append(("flow", key, terms.val(kids[0]) + (atom(NULL),)))

    def visit_CALL_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None or decl.kind not in FUNCTION_KINDS and decl.kind != "CONSTRUCTOR":
            return
        terms = Evaluator(ctx)
        args = call_arguments(node, decl)
        params = params_of(decl)
        if decl.kind == "CXX_METHOD" and decl.spelling == "operator=" and args:
            obj = call_object(node, decl)
            if obj is not None and is_record(unwrap(obj).type):
                self._store(obj, terms.val(args[0]) + (atom(NULL),), ctx)
        if trusted(decl, ctx) or ctx.tracked_elsewhere(decl) or decl.definition is None:
            # not followed: what it may keep (a store into its object) or write (through a reference)
            obj = call_object(node, decl) if decl.kind == "CXX_METHOD" and not decl.is_static_method() else None
            where = terms.into(obj, 0) if obj is not None or decl.kind == "CXX_METHOD" else None
            for i, a in enumerate(args):
                pt = params[i].type if i < len(params) else unwrap(a).type
                if is_pointerish(unwrap(a).type) and where is not None and not ctx.policy.matches(
                        "router_api", decl.qualified_name()):
                    ctx.alias.append(("store", where, terms.val(a)))
                pointee = pt.pointee()
                if pointee is not None and not pointee.is_const() and type_kind(pointee) == "VOID":
                    self._raw_write(a, terms, ctx)  # memcpy(&_p, ...): the bytes of a pointer variable
                if pointee is None or pointee.is_const() or not is_pointerish(pointee):
                    continue
                # a pointer it may write: anything of its type
                if pt.is_reference():
                    self._bind_ref(a, terms, pt)
                    ctx.alias.append(("store", terms.loc(a), (atom(seed_of(pointee)),)))
                else:
                    ctx.alias.append(("store", terms.val(a), (atom(seed_of(pointee)),)))
            return
        fn = callee_usr(decl)
        ctx.alias.append(("bind", fn))
        virtual = decl.is_virtual()
        if virtual:
            ctx.alias.append(("bind", "v:" + decl.spelling))
        args = args[:len(params)]
        for p in params[len(args):]:  # defaulted arguments: the parameter's default value
            default = init_of(p)
            if default is None:
                break
            args.append(default)
        for i, a in enumerate(args):
            if a.kind == "UNEXPOSED_EXPR" and not a.children() and not a.file:  # a default argument, written
                args[i] = init_of(params[i]) or a                           # at the declaration
        for i, a in enumerate(args):
            pt = params[i].type
            if pt.is_reference():
                self._bind_ref(a, terms, pt)
                value = terms.loc(a)
            elif is_pointerish(pt):
                value = terms.val(a)
            elif is_record(pt):
                value = terms.val(a) + (atom(NULL),)
            else:
                continue
            ctx.alias.append(("flow", f"param:{fn}#{i}", value))
            if virtual:
                ctx.alias.append(("flow", f"vparam:{decl.spelling}#{i}", value))

    # --- dereferences ------------------------------------------------------------------------------------------
    def _deref(self, node: Node, parents: list[Node], target: Terms, write: bool, ctx: FunctionContext) -> None:
        if any(p.kind in UNEVALUATED for p in parents):
            return
        for p in reversed(parents):  # &p->m, &p[i]: an address computed, nothing accessed yet
            if p.kind in WRAPPERS:
                continue
            if p.kind == "UNARY_OPERATOR" and p.operator() == "&":
                return
            break
        text = " ".join(node.tokens()[:8])
        ctx.alias.append(("deref", node.file, node.line, node.column, target, write, text))

    def visit_UNARY_OPERATOR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        kids = node.children()
        if not kids:
            return
        op = node.operator()
        if op == "*" and unwrap(kids[0]).type.is_pointer() and not unwrap(kids[0]).type.is_function_pointer():
            self._deref(node, parents, Evaluator(ctx).val(kids[0]), is_write(node, parents), ctx)
        elif op == "&":
            Evaluator(ctx).addr(kids[0], 0)

    def visit_ARRAY_SUBSCRIPT_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        kids = node.children()
        if len(kids) != 2:
            return
        terms = Evaluator(ctx)
        target = terms.loc(node)
        base = unwrap(kids[0])
        if type_kind(base.type) in ARRAYS and base.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
            decl = base.referenced
            if decl is not None and not decl.type.is_reference() and (
                    decl.kind == "VAR_DECL" or (decl.kind == "FIELD_DECL" and not base.children())):
                return  # a named array (the state check judges globals), or an own member array
        self._deref(node, parents, target, is_write(node, parents), ctx)

    def visit_MEMBER_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None:
            return
        terms = Evaluator(ctx)
        if is_reference_var(decl):
            self._deref(node, parents, terms.loc(node), is_write(node, parents), ctx)
        base = arrow_base(node)
        if base is None or decl.kind == "VAR_DECL" or (decl.kind == "CXX_METHOD" and decl.is_static_method()):
            return
        if decl.kind == "CXX_METHOD":
            write = not decl.is_const_method()
        else:
            write = is_write(node, parents)
        self._deref(node, parents, terms.val(base), write, ctx)

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = node.referenced
        if decl is None:
            return
        if decl.kind in FUNCTION_KINDS:
            for p in reversed(parents):
                if p.kind in WRAPPERS:
                    continue
                if p.kind == "CALL_EXPR" and p.referenced == decl:
                    return
                break
            ctx.alias.append(("escape", callee_usr(decl)))  # address taken: callers we do not see
            return
        if is_reference_var(decl):
            self._deref(node, parents, Evaluator(ctx).loc(node), is_write(node, parents), ctx)
