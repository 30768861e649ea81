"""The call check: builds the call graph and decides KS303, KS404 and KS405.

For every call, constructor call, local object destructor and function whose
address is taken, it decides where control may go:
- a callee the policy or another check judges (allowed Click API, router,
  handler, kernel and extern "C" symbols) is not followed;
- a virtual call on ``this`` becomes a ``vthis:<name>`` edge, resolved per
  element class against that class's own overrides (the dynamic type is known);
- a virtual call on another object runs the method or one of its overrides: every
  override defined in the element's own files (the class hierarchy the translation
  unit shows) is followed, so what an override does is reported where it is; the
  call is KS405 as well unless that set is closed (the method or class is final, or
  the class has internal linkage -- an anonymous namespace, a local class -- and is
  defined in the element's files, so every subclass is in this translation unit);
- a call through a ``const`` table of function pointers (``static void (*const
  ops[])(int) = {f, g}; ops[i](x)``), a ``const`` function-pointer variable with an
  initializer, or a ``const`` function-pointer member every constructor (or its
  default member initializer) sets to a named function, calls one of those known
  functions: each is followed, and the call is not KS404; any other call through a
  variable, member, parameter or expression (a function pointer) is KS404;
- a callee with a visible definition becomes an edge and is walked next;
- anything else (no definition, no resolvable callee) is KS303.
Implicit special members (compiler-generated constructors and destructors) are
followed into the constructors or destructors of the bases and members; a
temporary's destructor and a local object's destructor are edges too.
"""

from __future__ import annotations

from analyzers.frontend import Node, declarations_in
from analyzers.walker import FUNCTION_KINDS, FunctionContext, address_taken, is_this, member_call_object, unwrap
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


_CLASS_KINDS = ("CLASS_DECL", "STRUCT_DECL", "CLASS_TEMPLATE")
_FUNCTION_VALUE = frozenset(("UNEXPOSED_EXPR", "PAREN_EXPR"))


def _named_function(expr: Node) -> Node | None:
    """The function ``expr`` names (``f``, ``&f``, ``&C::sf`` through implicit conversions), else None."""
    e = expr
    for _ in range(8):
        if e.kind in _FUNCTION_VALUE or e.kind == "UNARY_OPERATOR" and e.operator() == "&":
            kids = e.children()
            if len(kids) != 1:
                return None
            e = kids[0]
            continue
        break
    d = e.referenced if e.kind == "DECL_REF_EXPR" else None
    if d is None or d.kind not in ("FUNCTION_DECL", "CXX_METHOD") or d.kind == "CXX_METHOD" and not d.is_static_method():
        return None
    return d


def _const_function_pointer(t_spelling: str) -> bool:
    """A type whose function pointers cannot be reassigned: ``void (*const)(int)``, ``void (*const[2])(int)``."""
    return "(*const" in t_spelling.replace(" ", "")


def _initializer_of(decl: Node) -> Node | None:
    kids = [k for k in decl.children() if k.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF", "PARM_DECL")
            and not k.kind.endswith("_ATTR")]
    return kids[-1] if kids else None


def _functions_in(init: Node | None, table: bool) -> list[Node] | None:
    """The functions an initializer names: every element of a table's braces, or the one value; None when some
    element is not a named function (a null entry, a computed value, a nested aggregate)."""
    if init is None:
        return None
    while init.kind in _FUNCTION_VALUE and len(init.children()) == 1 and init.children()[0].kind == "INIT_LIST_EXPR":
        init = init.children()[0]
    values = init.children() if table and init.kind == "INIT_LIST_EXPR" else [init] if not table else None
    if not values:
        return None
    out = []
    for v in values:
        f = _named_function(v)
        if f is None:
            return None
        out.append(f)
    return out


def _member_targets(field: Node) -> list[Node] | None:
    """The functions a ``const`` function-pointer member can hold: what every constructor of its class sets it to
    (its member initializer, else the default member initializer); None when some constructor may leave it
    unknown (no initializer, an implicit constructor without a default one, a value that is not a named
    function)."""
    cls = field.semantic_parent
    cls = cls.definition if cls is not None else None
    if cls is None:
        return None
    default = _functions_in(_initializer_of(field), False) if _initializer_of(field) is not None else None
    out: list[Node] = list(default or [])
    ctors = [c for c in cls.children() if c.kind == "CONSTRUCTOR"]
    if not ctors:
        return default
    for c in ctors:
        body = c.definition
        if body is None:
            return None
        kids = body.children()
        found = None
        for i, k in enumerate(kids):
            if k.kind == "MEMBER_REF" and k.referenced == field and i + 1 < len(kids):
                found = _functions_in(kids[i + 1], False)
                if found is None:
                    return None
        if found is None and default is None:
            return None
        out += found or []
    return out


def _table_callee(callee: Node) -> list[Node] | None:
    """The functions a call through ``callee`` can reach when it reads a ``const`` table, variable or member of
    function pointers whose every value is a named function; None otherwise."""
    callee = unwrap(callee)
    if callee.kind == "ARRAY_SUBSCRIPT_EXPR":
        kids = callee.children()
        base = unwrap(kids[0]) if kids else None
        d = base.referenced if base is not None and base.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
        if d is None or d.kind != "VAR_DECL" or not _const_function_pointer(d.type.canonical.spelling):
            return None
        d = d.definition or d
        return _functions_in(_initializer_of(d), True)
    d = callee.referenced if callee.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
    return _value_targets(d) if d is not None else None


def _value_targets(d: Node) -> list[Node] | None:
    if not _const_function_pointer(d.type.canonical.spelling) or d.type.canonical.spelling.endswith("]"):
        return None
    if d.kind == "VAR_DECL":
        d = d.definition or d
        return _functions_in(_initializer_of(d), False)
    if d.kind == "FIELD_DECL":
        return _member_targets(d)
    return None


def _internal(cls: Node) -> bool:
    """A class only this translation unit can name: in an anonymous namespace, or local to a function."""
    usr = cls.usr
    if "@aN@" in usr:
        return True
    head, _sep, _tail = usr.rpartition("@S")
    return "@F@" in head


def _derives_from(cls: Node, base_usr: str, depth: int = 0) -> bool:
    if depth > 30:
        return False
    for b in cls.children():
        if b.kind != "CXX_BASE_SPECIFIER":
            continue
        ref = b.referenced
        if ref is not None and ref.kind == "TYPEDEF_DECL":
            ref = ref.type.canonical.declaration()
        ref = ref.definition if ref is not None and ref.definition is not None else ref
        if ref is None:
            continue
        if ref.usr == base_usr or _derives_from(ref, base_usr, depth + 1):
            return True
    return False


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
            if (len(kids) == 1 and not callee.type.is_function_pointer()
                    and callee.type.canonical.spelling == node.type.canonical.spelling):
                return  # an implicit copy or move construction (of ``c ? a : b`` too): no code of the element's runs
            if callee.type.is_function_pointer() or callee.kind in _INDIRECT_CALLEES:
                targets = _table_callee(kids[0])
                if targets is None:
                    ctx.report(INDIRECT_CALL, node, " ".join(callee.tokens()[:6]))
                for t in targets or []:
                    self._to(t, node, ctx)
            else:
                ctx.report(UNRESOLVED_SYMBOL, node, node.spelling or " ".join(callee.tokens()[:6]))
            return
        if decl.kind in _VALUE_DECLS:
            known = _value_targets(decl) if decl.kind in ("VAR_DECL", "FIELD_DECL") else None
            if known is None:
                ctx.report(INDIRECT_CALL, node, decl.spelling)
            for t in known or []:
                self._to(t, node, ctx)
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
                targets, closed = self._overrides(decl, ctx)
                for t in targets:  # an open set is KS405 anyway: only the bodies it shows are followed
                    if closed or t.definition is not None:
                        self._to(t, node, ctx)
                if not closed:
                    ctx.report(VIRTUAL_CALL, node, decl.qualified_name())
                return
        self._to(decl, node, ctx)

    def _overrides(self, decl: Node, ctx: FunctionContext) -> tuple[list[Node], bool]:
        """(what a virtual call of ``decl`` may run: the method unless pure, and every override defined in a class
        of the element's own files deriving from its class; whether that set is closed)."""
        cls = decl.semantic_parent
        base = cls.definition if cls is not None and cls.definition is not None else cls
        if base is None:
            return [], False
        out = [] if decl.is_pure_virtual() else [decl]
        for c in declarations_in(ctx.function, sorted(ctx.own_files)):
            if c.kind not in _CLASS_KINDS or not c.is_definition() or c.usr == base.usr:
                continue
            if not _derives_from(c, base.usr):
                continue
            for m in c.children():
                if m.kind == "CXX_METHOD" and m.spelling == decl.spelling and m.displayname == decl.displayname \
                        and not m.is_pure_virtual():
                    out.append(m)
        closed = _internal(base) and base.file in ctx.own_files
        return out, closed

    def visit_DECL_REF_EXPR(self, node: Node, parents: list[Node], ctx: FunctionContext) -> None:
        decl = address_taken(node, parents)
        if decl is None:
            return
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
