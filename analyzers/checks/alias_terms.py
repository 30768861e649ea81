"""Expressions to origin terms: the syntax-directed half of the points-to analysis.

:class:`Evaluator` turns an expression of one walked function into the terms (:mod:`analyzers.pointsto`) of
where its value points (:meth:`Evaluator.val`: address-of, array decay, pointer arithmetic, casts, copies,
loads through pointers, calls: their return values, the Packet API, the router and element API, the trusted
Click API) or of where its storage is (:meth:`Evaluator.loc`: a variable's own storage, a member through its
object, ``*p``, ``p[i]``, a reference's referent, a call returning a reference).  On the way it records the
side facts a term relies on into ``ctx.alias``: a variable's seed (what it holds when nothing we see assigns
it), a global's initializer (tables of pointers and of structs with pointer members), and the merge of a
pointer variable with its memory cell when its storage is reached another way (its address, an array).
Also here: the type facts the check and the casts rule use (:func:`plain_target`: a plain header type).
"""

from __future__ import annotations

from typing import Any

from analyzers.checks.layout import PACKET_CLASSES
from analyzers.checks.router import derives_from_element
from analyzers.checks.state import global_kind
from analyzers.cost.methods import PACKET_METHODS
from analyzers.frontend import Node, TypeView
from analyzers.pointsto import (
    CONST,
    ELEMENT,
    GLOBAL,
    NULL,
    OWN,
    PACKET,
    ROUTER,
    UNKNOWN,
    Terms,
    atom,
    cell,
    var,
)
from analyzers.walker import FUNCTION_KINDS, MALLOC_NAMES, FunctionContext, member_call_object, unwrap

CASTS = frozenset(("CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR", "CXX_REINTERPRET_CAST_EXPR", "CXX_CONST_CAST_EXPR",
                    "CXX_DYNAMIC_CAST_EXPR", "CXX_FUNCTIONAL_CAST_EXPR"))
ARRAYS = frozenset(("CONSTANTARRAY", "INCOMPLETEARRAY", "VARIABLEARRAY", "DEPENDENTSIZEDARRAY"))
_RECORDS = frozenset(("STRUCT_DECL", "UNION_DECL", "CLASS_DECL"))
_RVALUES = frozenset(("INTEGER_LITERAL", "FLOATING_LITERAL", "CHARACTER_LITERAL", "CXX_BOOL_LITERAL_EXPR",
                      "CXX_NULL_PTR_LITERAL_EXPR", "GNU_NULL_EXPR", "CXX_UNARY_EXPR", "INIT_LIST_EXPR",
                      "CXX_NEW_EXPR", "LAMBDA_EXPR", "CXX_SCALAR_VALUE_INIT_EXPR"))
_OWNED = frozenset(("Task", "Timer"))  # run_task's Task, run_timer's Timer: the element's own
UNEVALUATED = frozenset(("CXX_UNARY_EXPR",))  # sizeof, alignof
# Element's virtual methods the Click runtime calls (with arguments no walked call shows)
RUNTIME_METHODS = frozenset(PACKET_METHODS) | {
    "configure", "initialize", "add_handlers", "cleanup", "take_state", "live_reconfigure", "can_live_reconfigure",
    "configure_phase", "cast", "port_cast", "llrpc", "local_llrpc", "port_active", "notifier", "hotswap_element",
    "class_name", "port_count", "processing", "flow_code", "flags"}
MAX_DEPTH = 40
_SEEN: list[Any] = [None, set()]  # (the function context, the variable keys it has noted): one walk at a time

UNKNOWN_T: Terms = (atom(UNKNOWN),)
OWN_T: Terms = (atom(OWN),)


def type_kind(t: TypeView) -> str:
    return t.canonical.kind



def is_pointerish(t: TypeView) -> bool:
    """A type whose values the analysis tracks: pointers and arrays (which decay to pointers)."""
    return type_kind(t) == "POINTER" or type_kind(t) in ARRAYS


def is_record(t: TypeView) -> bool:
    return type_kind(t) == "RECORD"


def seed_of(t: TypeView) -> str:
    """What a pointer or reference of type ``t`` holds when nothing we see assigns it."""
    if is_record(t):
        return NULL  # an object: nothing beyond its own storage
    p = t.pointee()
    el = t.element_type()
    if p is None and el is not None:
        p = el.pointee()
    decl = p.declaration() if p is not None else None
    if decl is None:
        return UNKNOWN
    if decl.spelling in PACKET_CLASSES:
        return PACKET
    if decl.spelling in _OWNED:
        return OWN
    return ELEMENT if derives_from_element(decl.definition or decl) else UNKNOWN


def var_key(decl: Node) -> str:
    """The key of a variable, member or parameter: fields are per member (of any object), parameters per
    function and position (the key a call binds)."""
    if decl.kind == "FIELD_DECL":
        return "field:" + (decl.usr or decl.qualified_name())
    if decl.kind == "PARM_DECL":
        fn = decl.semantic_parent
        if fn is not None and fn.kind in FUNCTION_KINDS:
            parms = [c for c in fn.children() if c.kind == "PARM_DECL"]
            for i, c in enumerate(parms):
                if c == decl:
                    return f"param:{fn.usr}#{i}"
    return "var:" + (decl.usr or f"{decl.file}:{decl.line}:{decl.spelling}")


def _storage(decl: Node) -> str:
    """The origin of a (non-reference) variable's own storage."""
    if global_kind(decl):
        return CONST if decl.type.is_const() else GLOBAL + decl.qualified_name()
    return OWN


def init_of(decl: Node) -> Node | None:
    kids = [k for k in decl.children() if k.kind not in ("TYPE_REF", "TEMPLATE_REF", "NAMESPACE_REF", "PARM_DECL")
            and not k.kind.endswith("_ATTR")]
    return kids[-1] if kids else None


def arrow_base(node: Node) -> Node | None:
    """The object expression of ``p->m`` (a pointer), None for ``o.m`` and implicit ``this->m``."""
    kids = node.children()
    if not kids:
        return None
    base = kids[0]
    return base if base.type.is_pointer() else None


def is_reference_var(decl: Node | None) -> bool:
    return decl is not None and decl.kind in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") and decl.type.is_reference()


def plain_target(t: TypeView) -> bool:
    """A pointer to an integer, a byte or ``void``, or to a plain header struct or union (no bases, no virtual
    methods, no pointer or reference members, plain members all the way down)."""
    p = t.pointee() if t.is_pointer() else None
    return p is not None and _plain(p, 0)


def _plain(t: TypeView, depth: int) -> bool:
    if depth > 8:
        return False
    kind = type_kind(t)
    if t.is_integer() or kind in ("VOID", "FLOAT", "DOUBLE"):
        return True
    el = t.element_type()
    if el is not None:
        return _plain(el, depth + 1)
    if kind != "RECORD":
        return False
    d = t.declaration()
    d = d.definition if d is not None else None
    if d is None or d.kind not in _RECORDS:
        return False
    for c in d.children():
        if c.kind == "CXX_BASE_SPECIFIER" or (c.kind in ("CXX_METHOD", "DESTRUCTOR") and c.is_virtual()):
            return False
        if c.kind == "FIELD_DECL" and (c.type.is_reference() or c.type.is_pointer() or not _plain(c.type, depth + 1)):
            return False
    return True


class Evaluator:
    """Evaluates expressions to terms for one function's walk, recording the side facts it meets (seeds,
    the initializers of globals, the merge of address-taken pointer variables with their memory cell)."""

    def __init__(self, ctx: FunctionContext) -> None:
        self.ctx = ctx

    def fact(self, *f: object) -> None:
        self.ctx.alias.append(tuple(f))

    # --- variables -------------------------------------------------------------------------------------
    def _named(self, decl: Node) -> str:
        """The key of a variable, noting (once per function) its seed and, for a global, its initializer."""
        key = var_key(decl)
        if _SEEN[0] is not self.ctx:
            _SEEN[0], _SEEN[1] = self.ctx, set()
        if key in _SEEN[1]:
            return key
        _SEEN[1].add(key)
        t = decl.type
        if is_pointerish(t) or t.is_reference() or is_record(t):
            self.fact("seed", key, seed_of(t))
        el = t.element_type()
        if el is not None and is_pointerish(el) and decl.kind in ("VAR_DECL", "FIELD_DECL"):
            self.merge(key, self._storage_terms(decl))  # an array of pointers: its elements are its cell
        if decl.kind == "VAR_DECL" and global_kind(decl):
            init = init_of(decl)
            mutable = not t.is_const() and not t.is_reference()
            if t.is_reference() or (is_pointerish(t) and el is None):
                if init is not None:
                    self.fact("flow", key, self.loc(init) if t.is_reference() else self.val(init))
                if mutable:
                    self.fact("flow", key, UNKNOWN_T)  # a mutable global pointer: any code may set it
            elif init is not None or mutable:
                self._aggregate(key, t, init, mutable, 0)
        return key

    def _aggregate(self, key: str, t: TypeView, init: Node | None, mutable: bool, depth: int) -> None:
        """The pointers a global array or struct holds: its initializer's, and anything if it is mutable."""
        if depth > 4:
            return
        el = t.element_type()
        items: list[Node | None] = list(init.children()) if init is not None and unwrap(init).kind == "INIT_LIST_EXPR" else []
        if el is not None:
            if is_pointerish(el):
                for c in items:
                    if c is not None:
                        self.fact("flow", key, self.val(c))
                if mutable:
                    self.fact("flow", key, UNKNOWN_T)
            elif is_record(el):
                for sub in items or [None]:
                    self._aggregate(key, el, sub, mutable, depth + 1)
            return
        if not is_record(t):
            return
        d = t.declaration()
        d = d.definition if d is not None else None
        if d is None:
            return
        fields = [c for c in d.children() if c.kind == "FIELD_DECL"]
        for i, f in enumerate(fields):
            sub = items[i] if i < len(items) else None
            ft = f.type
            if is_pointerish(ft) and ft.element_type() is None:
                fk = var_key(f)
                if sub is not None:
                    self.fact("flow", fk, self.val(sub))
                if mutable:
                    self.fact("flow", fk, UNKNOWN_T)
            elif ft.element_type() is not None or is_record(ft):
                self._aggregate(var_key(f), ft, sub, mutable, depth + 1)

    def _storage_terms(self, decl: Node, base: Terms = OWN_T) -> Terms:
        if decl.kind == "FIELD_DECL":
            return base
        return (atom(_storage(decl)),)

    def merge(self, key: str, where: Terms) -> None:
        """A pointer variable whose storage is reached another way (its address, a reference, an array):
        it holds what is stored into its memory cell, and its cell holds what it holds."""
        self.fact("flow", key, (cell(where),))
        self.fact("store", where, (var(key),))

    # --- the origin of an lvalue's storage ---------------------------------------------------------------
    def loc(self, e: Node, depth: int = 0) -> Terms:
        if depth > MAX_DEPTH:
            return UNKNOWN_T
        e = unwrap(e)
        k = e.kind
        d = depth + 1
        if k in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
            decl = e.referenced
            if decl is None:
                return UNKNOWN_T
            if decl.kind in FUNCTION_KINDS:
                return (atom(CONST),)
            if decl.kind not in ("VAR_DECL", "PARM_DECL", "FIELD_DECL"):
                return (atom(CONST),) if decl.kind == "ENUM_CONSTANT_DECL" else UNKNOWN_T
            key = self._named(decl)
            if decl.type.is_reference():
                return (var(key),)
            if decl.kind != "FIELD_DECL":
                return (atom(_storage(decl)),)
            kids = e.children()
            if not kids:
                return OWN_T  # implicit this->
            base = kids[0]
            return self.val(base, d) if base.type.is_pointer() else self.loc(base, d)
        if k == "UNARY_OPERATOR":
            op = e.operator()
            kids = e.children()
            if not kids:
                return UNKNOWN_T
            if op == "*":
                return self.val(kids[0], d)
            if op in ("++", "--"):
                return self.loc(kids[0], d)
            return OWN_T  # an rvalue: a temporary
        if k == "ARRAY_SUBSCRIPT_EXPR":
            kids = e.children()
            if len(kids) != 2:
                return UNKNOWN_T
            base, idx = kids
            if not is_pointerish(unwrap(base).type) and is_pointerish(unwrap(idx).type):
                base = idx  # i[p]
            return self.val(base, d)
        if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
            kids = e.children()
            op = e.operator()
            if len(kids) == 2 and (k == "COMPOUND_ASSIGNMENT_OPERATOR" or op == "="):
                return self.loc(kids[0], d)
            if len(kids) == 2 and op == ",":
                return self.loc(kids[1], d)
            return OWN_T
        if k == "CONDITIONAL_OPERATOR":
            kids = e.children()
            return tuple(t for x in kids[-2:] for t in self.loc(x, d))
        if k in CASTS:
            op_ = operand(e)
            return self.loc(op_, d) if op_ is not None else UNKNOWN_T
        if k == "CALL_EXPR":
            decl = e.referenced
            if decl is not None and decl.kind in FUNCTION_KINDS and decl.result_type.is_reference():
                return self.call(e, d)
            return OWN_T  # a value: a temporary
        if k == "CXX_THIS_EXPR":
            return OWN_T
        if k == "STRING_LITERAL":
            return (atom(CONST),)
        if k in _RVALUES or k.endswith("_LITERAL"):
            return OWN_T
        return UNKNOWN_T

    # --- the origin of what a pointer value (or an object's iterator-like value) points to -----------------
    def val(self, e: Node, depth: int = 0) -> Terms:
        if depth > MAX_DEPTH:
            return UNKNOWN_T
        e = unwrap(e)
        k = e.kind
        d = depth + 1
        t = e.type
        if type_kind(t) in ARRAYS:
            return self.loc(e, d)  # array decay
        if k in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
            decl = e.referenced
            if decl is None:
                return UNKNOWN_T
            if decl.kind in FUNCTION_KINDS or decl.kind == "ENUM_CONSTANT_DECL":
                return (atom(CONST),)
            if decl.kind not in ("VAR_DECL", "PARM_DECL", "FIELD_DECL"):
                return UNKNOWN_T
            if decl.type.is_reference():
                return (cell(self.loc(e, d)),)
            key = self._named(decl)
            if is_record(decl.type):
                return (var(key),) + self.loc(e, d) + (atom(NULL),)
            return (var(key),)
        if k == "CXX_THIS_EXPR":
            return OWN_T
        if k == "STRING_LITERAL":
            return (atom(CONST),)
        if k in ("CXX_NULL_PTR_LITERAL_EXPR", "GNU_NULL_EXPR", "CXX_BOOL_LITERAL_EXPR"):
            return (atom(NULL),)
        if k == "INTEGER_LITERAL":
            return (atom(NULL),) if e.tokens() in (["0"], ["0L"], ["0UL"], ["0U"]) else UNKNOWN_T
        if k == "CXX_NEW_EXPR":
            return OWN_T
        if k == "LAMBDA_EXPR":
            return (atom(CONST),)
        if k == "UNARY_OPERATOR":
            op = e.operator()
            kids = e.children()
            if not kids:
                return UNKNOWN_T
            if op == "&":
                return self.addr(kids[0], d)
            if op in ("++", "--", "+"):
                return self.val(kids[0], d)
            if op == "*":
                return self.load(e, d)
            return UNKNOWN_T
        if k == "ARRAY_SUBSCRIPT_EXPR":
            return self.load(e, d)
        if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
            kids = e.children()
            if len(kids) != 2:
                return UNKNOWN_T
            a, b = kids
            if k == "COMPOUND_ASSIGNMENT_OPERATOR":
                return self.val(a, d)
            # by the operands' types, not the operator's token (unreliable inside macro expansions): a pointer
            # result with one pointer operand is arithmetic on it; with two, an assignment or a comma
            pa, pb = is_pointerish(a.type), is_pointerish(b.type)
            if pa and pb:
                return self.val(b, d)
            if pa or pb:
                return self.val(a if pa else b, d)
            return UNKNOWN_T
        if k == "CONDITIONAL_OPERATOR":
            kids = e.children()
            return tuple(x for c in kids[-2:] for x in self.val(c, d))
        if k in CASTS:
            op_ = operand(e)
            if op_ is None:
                return UNKNOWN_T
            ot = unwrap(op_).type
            if is_pointerish(ot) or is_record(ot) or ot.is_function_pointer():
                return self.val(op_, d)
            if unwrap(op_).kind in ("CXX_NULL_PTR_LITERAL_EXPR", "GNU_NULL_EXPR"):
                return (atom(NULL),)
            if unwrap(op_).kind == "INTEGER_LITERAL":
                return self.val(op_, d)
            return UNKNOWN_T  # an integer made a pointer (KS402)
        if k == "CALL_EXPR":
            decl = e.referenced
            if decl is not None and decl.kind in FUNCTION_KINDS and decl.result_type.is_reference() \
                    and is_pointerish(t):
                return (cell(self.call(e, d)),)  # a pointer read through the reference a call returns
            return self.call(e, d)
        if k == "CXX_FUNCTIONAL_CAST_EXPR":
            return UNKNOWN_T
        if k in _RVALUES or k.endswith("_LITERAL"):
            return (atom(NULL),) if is_record(t) else UNKNOWN_T
        return UNKNOWN_T

    def addr(self, e: Node, depth: int) -> Terms:
        """``&e``: the origin of e's storage; a pointer variable whose address is taken is merged with its cell."""
        u = unwrap(e)
        if u.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
            decl = u.referenced
            if decl is not None and decl.kind in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") \
                    and not decl.type.is_reference() and (is_pointerish(decl.type) or is_record(decl.type)):
                self.merge(self._named(decl), self.loc(u, depth))
        return self.loc(e, depth)

    def load(self, e: Node, depth: int) -> Terms:
        """A pointer value read from memory (``*pp``, ``pp[i]``, an array element): the cell of its storage."""
        return (cell(self.loc(e, depth)),)

    def into(self, obj: Node | None, depth: int) -> Terms:
        """What a trusted call on ``obj`` returns a pointer into: the object's storage (and, for an
        iterator-like object variable, what it was made from)."""
        if obj is None:
            return OWN_T  # implicit this
        u = unwrap(obj)
        if u.type.is_pointer():
            return self.val(u, depth)
        out = self.loc(u, depth)
        if u.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") and is_record(u.type):
            decl = u.referenced
            if decl is not None and decl.kind in ("VAR_DECL", "PARM_DECL", "FIELD_DECL") and not decl.type.is_reference():
                out = out + (var(self._named(decl)),)
        return out

    # --- calls ---------------------------------------------------------------------------------------------
    def call(self, e: Node, depth: int) -> Terms:
        """The origin a call's pointer (or reference, or iterator-like) result points to."""
        decl = e.referenced
        kids = e.children()
        if decl is None:
            if len(kids) == 1:
                return self.val(kids[0], depth)  # an implicit copy or conversion
            return UNKNOWN_T
        if decl.kind == "CONSTRUCTOR":
            args = call_arguments(e, decl)
            return tuple(x for a in args for x in self.val(a, depth) if is_pointerish(unwrap(a).type)
                         or is_record(unwrap(a).type)) + (atom(NULL),)
        if decl.kind not in FUNCTION_KINDS:
            return UNKNOWN_T
        parent = decl.semantic_parent
        if parent is not None and parent.spelling in PACKET_CLASSES:
            return (atom(PACKET),)
        qn = decl.qualified_name()
        p = self.ctx.policy
        if p.matches("router_api", qn) or p.matches("element_api", qn):
            rt = decl.result_type
            target = rt.pointee() or rt
            td = target.declaration()
            if p.matches("element_api", qn) or (td is not None and derives_from_element(td.definition or td)):
                return (atom(ELEMENT),)
            return (atom(ROUTER),)
        if p.matches("handler_api", qn):
            return UNKNOWN_T
        if decl.spelling in MALLOC_NAMES:
            return OWN_T
        if trusted(decl, self.ctx):
            obj = call_object(e, decl)
            if decl.kind in ("CXX_METHOD", "CONVERSION_FUNCTION") and not decl.is_static_method():
                return self.into(obj, depth)
            args = [a for a in call_arguments(e, decl) if is_pointerish(unwrap(a).type)]
            return tuple(x for a in args for x in self.val(a, depth)) or OWN_T
        return (var(f"ret:{callee_usr(decl)}"),)


def trusted(decl: Node, ctx: FunctionContext) -> bool:
    """A call into the policy's trusted Click API (not followed, not analyzed)."""
    return ctx.policy.matches("allowed_api", decl.qualified_name()) and decl.file not in ctx.own_files


def callee_usr(decl: Node) -> str:
    """The USR a call to ``decl`` binds: the walked definition's (a template's own for its instances)."""
    d = decl.definition or decl
    tpl = d
    if d.kind not in ("FUNCTION_TEMPLATE",):
        # an instance of a function template is walked as the template: bind to it
        for c in (d.lexical_parent,):
            if c is not None and c.kind == "FUNCTION_TEMPLATE":
                tpl = c
    return tpl.usr or d.usr


def operand(cast: Node) -> Node | None:
    kids = [k for k in cast.children() if k.kind not in ("TYPE_REF", "TEMPLATE_REF", "NAMESPACE_REF")]
    return kids[-1] if kids else None


def call_object(call: Node, decl: Node) -> Node | None:
    """The object of a member call (None for implicit this), or of a member operator call."""
    is_member, obj = member_call_object(call)
    if is_member:
        return obj
    kids = call.children()
    if decl.spelling.startswith("operator") and decl.kind == "CXX_METHOD" and kids:
        return kids[0]
    return None


def call_arguments(call: Node, decl: Node) -> list[Node]:
    """The argument expressions of a call, in parameter order."""
    kids = call.children()
    if decl.kind == "CONSTRUCTOR":
        return kids
    if not kids:
        return []
    is_member, _obj = member_call_object(call)
    if is_member:
        return kids[1:]
    if decl.spelling.startswith("operator") and decl.kind == "CXX_METHOD":
        return kids[2:]  # object, operator, arguments
    if decl.spelling.startswith("operator") and len(kids) >= 2 and unwrap(kids[1]).referenced == decl:
        return [kids[0]] + kids[2:]  # a free operator: lhs, operator, rhs
    return kids[1:]


def params_of(decl: Node) -> list[Node]:
    return [c for c in decl.children() if c.kind == "PARM_DECL"]


