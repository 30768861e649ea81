"""Globals that nothing writes: the library-wide proof that a mutable global is, in fact, constant.

A namespace-scope or static variable declared without ``const`` (CheckUDPHeader's ``reason_texts``, a table of
strings) is mutable global state by its type, so reading it on the packet path is KS102.  When no function of
the whole analysed library writes it, and its address never escapes to code that could, it is effectively
constant and reading it shares nothing.  The proof needs every file, so it is made where every file is seen:
``certify library`` (:func:`relax`), never for one file alone.

Per file (:func:`uses`, in the worker, over every function definition of the element's own files and every
function the analysis walked): the mutable globals it *writes* -- any use that is not a plain read: an
assignment, ``++``/``--``, a non-const member call or operator, its address taken, an array decaying to a
pointer to non-const elements, a binding to a non-const reference, an argument whose parameter type is not
known to be a value or a const reference -- and the mutable globals *defined* in its own files (a global
defined elsewhere may be written by code the run never sees).  Configuration-time writes count: configure()
of one instance writing a table another instance reads is exactly the leak KS102 is about.

Across the run (:func:`relax`): a KS102 finding whose global is defined in the run and written by none of its
files is dropped; the element's report lists what it relied on (``relies_on``: the global and the file that
defines it), and a record keeps that list, so a later run whose files write one of those globals re-analyses
the element (:mod:`certify.library`), and the layered database treats the record as stale when any layer's
sources write it (:mod:`element_db.decision`).
"""

from __future__ import annotations

from analyzers.checks.state import global_kind, is_mutable_global, is_write
from analyzers.frontend import Node
from analyzers.policy import Policy
from analyzers.report import FileResult
from analyzers.walker import FUNCTION_KINDS, WRAPPERS

READ = "KS102"
_ARRAYS = frozenset(("CONSTANTARRAY", "INCOMPLETEARRAY", "VARIABLEARRAY", "DEPENDENTSIZEDARRAY"))
_SCALAR_CONTEXTS = frozenset(("BINARY_OPERATOR", "CONDITIONAL_OPERATOR", "IF_STMT", "WHILE_STMT", "DO_STMT",
                              "FOR_STMT", "SWITCH_STMT", "CASE_STMT", "CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR",
                              "CXX_FUNCTIONAL_CAST_EXPR", "ARRAY_SUBSCRIPT_EXPR", "INIT_LIST_EXPR"))


def _decays_writable(t_kind: str, node: Node) -> bool:
    """An array whose elements are not const: used as a value, it becomes a pointer that can write them."""
    if t_kind not in _ARRAYS:
        return False
    elem = node.type.element_type()
    return elem is None or not elem.is_const()


def _param_type_safe(call: Node, arg: Node) -> bool:
    """The parameter ``arg`` binds to is a value (a copy) or a const reference / pointer to const."""
    decl = call.referenced
    if decl is None or decl.kind not in FUNCTION_KINDS:
        return False
    args = [k for k in call.children()[1:]]
    if arg not in args:
        return False
    params = [k for k in decl.children() if k.kind == "PARM_DECL"]
    i = args.index(arg)
    if i >= len(params):
        return False  # a variadic argument: passed by value (printf-style), a read
    t = params[i].type
    if t.is_reference() or t.is_pointer():
        pointee = t.pointee()
        return pointee is not None and pointee.is_const()
    return True


def is_plain_read(node: Node, parents: list[Node]) -> bool:
    """Whether this use of a global only reads it (see the module docstring); unknown contexts are writes."""
    if is_write(node, parents):
        return False
    cur = node  # the expression the context sees (implicit conversions included)
    part = node  # the part of the global it stands for, before conversions (an array before it decays)
    for p in reversed(parents):
        k = p.kind
        kids = p.children()
        if k in WRAPPERS:
            cur = p
            continue
        if k == "ARRAY_SUBSCRIPT_EXPR" and kids and kids[0] == cur:
            cur = part = p  # an element of the global: what happens to it decides
            continue
        if k == "MEMBER_REF_EXPR" and p.referenced is not None and p.referenced.kind == "FIELD_DECL":
            cur = part = p
            continue
        if k == "MEMBER_REF_EXPR" and p.referenced is not None and p.referenced.kind == "CXX_METHOD":
            return p.referenced.is_const_method()
        if _decays_writable(part.type.canonical.kind, part):
            return False
        if k == "UNARY_OPERATOR":
            return p.operator() not in ("&", "++", "--")
        if k == "CALL_EXPR":
            if kids and kids[0] == cur:
                return True  # calling a global function pointer reads it
            if cur.type.canonical.kind in ("RECORD", "ELABORATED") or cur.type.is_reference():
                return _param_type_safe(p, cur)
            return True  # a scalar or pointer argument: a copy of its value
        if k == "VAR_DECL":
            target = p.type.pointee()
            return not p.type.is_reference() or (target is not None and target.is_const())
        if k == "RETURN_STMT":
            return cur.type.canonical.kind not in ("RECORD", "ELABORATED")
        if k in _SCALAR_CONTEXTS or k.endswith("_OPERATOR"):
            return True
        return False
    return False


def uses(functions: list[Node], own: frozenset[str]) -> tuple[set[str], set[str]]:
    """(mutable globals written or escaping in ``functions``, mutable globals defined in the files ``own``)."""
    written: set[str] = set()
    defined: set[str] = set()
    seen: set[tuple[str, int, int]] = set()
    for fn in functions:
        key = (fn.file, fn.line, fn.column)
        if key in seen:
            continue
        seen.add(key)
        stack: list[tuple[Node, int]] = [(fn, 0)]
        parents: list[Node] = []
        while stack:
            n, depth = stack.pop()
            del parents[depth:]
            if n.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR"):
                var = n.referenced
                if var is not None and is_mutable_global(var) and global_kind(var) != "static-local":
                    name = var.qualified_name()
                    d = var.definition
                    if d is not None and d.file in own:
                        defined.add(name)
                    if not is_plain_read(n, parents):
                        written.add(name)
            parents.append(n)
            for k in reversed(n.children()):
                stack.append((k, depth + 1))
    return written, defined


def function_definitions(declarations: list[Node]) -> list[Node]:
    return [d for d in declarations if d.kind in FUNCTION_KINDS and d.is_definition()]


def relax(results: list[FileResult], policy: Policy, written_elsewhere: set[str] | frozenset[str] = frozenset()) -> None:
    """Drop, in place, the KS102 findings of ``results`` whose global no file of the run (nor
    ``written_elsewhere``: the writes of the library's files not in this run) writes, and that a file of the
    run defines; each element lists what it relied on."""
    written = set(written_elsewhere)
    defined: dict[str, str] = {}
    for r in results:
        written.update(r.global_writes)
        for name in r.global_defined:
            defined.setdefault(name, r.file)
    for r in results:
        for rep in r.elements:
            kept, relied = [], {}
            for f in rep.findings:
                if f.rule == READ and f.symbol in defined and f.symbol not in written:
                    relied[f.symbol] = defined[f.symbol]
                else:
                    kept.append(f)
            if not relied:
                continue
            rep.findings = kept
            rep.relies_on = sorted({**{g: d for g, d in rep.relies_on}, **relied}.items())
            rep.notes.append("reads globals no file of the library writes: " + ", ".join(sorted(relied)))
            rep.decide(policy)
