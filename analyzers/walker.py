"""One walk, many checks: the shared walker over a function body and the context checks report into.

A check is a small class with a ``name``, the ``rules`` it reports, and
``visit_<CURSOR_KIND>(node, parents, ctx)`` methods.  :func:`walk_function`
visits every cursor of one function definition once (lambdas and local classes
included, since they are part of its text) and calls every check that has a
method for the cursor's kind.  Checks record :class:`Hit` s (a rule, the
:class:`certify.core.findings.Rule` object of the registry, at a place) and
calls (edges of the call graph) into the :class:`FunctionContext`; they never
print and never decide verdicts.  :func:`hit_finding` makes a hit the finding
of an element, through :func:`certify.core.findings.make_finding`.  An
exception in a check is caught, recorded as a KS002 hit at the cursor being
visited, and the walk goes on with the other checks.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Protocol

from analyzers.assumptions import TrustedCall
from analyzers.frontend import Node
from analyzers.policy import Policy
from certify.core.findings import Finding, Rule, make_finding
from certify.core.rules import rule as registry_rule

CRASH = registry_rule("KS002")

FUNCTION_KINDS = frozenset(
    ("FUNCTION_DECL", "CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TEMPLATE", "CONVERSION_FUNCTION")
)
WRAPPERS = frozenset(("UNEXPOSED_EXPR", "PAREN_EXPR"))
# functions judged by their name in the unsafe-constructs check, never followed or reported unresolved
ALLOCA_NAMES = frozenset(("alloca", "__builtin_alloca", "__builtin_alloca_with_align"))
SETJMP_NAMES = frozenset(("setjmp", "_setjmp", "__sigsetjmp", "sigsetjmp", "longjmp", "_longjmp", "siglongjmp",
                          "__builtin_setjmp", "__builtin_longjmp"))
MALLOC_NAMES = frozenset(("malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "strdup", "strndup"))
JUDGED_BY_NAME = ALLOCA_NAMES | SETJMP_NAMES | MALLOC_NAMES


@dataclass(frozen=True)
class Hit:
    """One rule (the registry's :class:`Rule`) violated at one place, before it is attributed to an element and a
    call path."""

    rule: Rule
    file: str
    line: int
    column: int
    symbol: str = ""
    detail: tuple[tuple[str, str], ...] = ()


def hit_finding(hit: Hit, element: str, policy: Policy, path: tuple[str, ...] = ()) -> Finding:
    """The finding of ``hit`` in element class ``element``, reached by the call ``path``; its severity is the
    policy's for the rule."""
    return make_finding(hit.rule, hit.file, hit.line, hit.column, severity=policy.severity(hit.rule.id),
                        symbol=hit.symbol, element=element, path=path, **dict(hit.detail))


@dataclass(frozen=True)
class Call:
    """A call-graph edge from the walked function: ``callee`` is a function id or ``vthis:<name>``."""

    callee: str
    file: str
    line: int
    column: int


@dataclass
class FunctionContext:
    """What a walk of one function records; shared by all checks of that walk."""

    function: Node
    policy: Policy
    own_files: frozenset[str]
    hits: list[Hit] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    to_walk: list[Node] = field(default_factory=list)
    layout: set[str] = field(default_factory=set)  # packet layout facts (analyzers.checks.layout)
    alias: list[tuple[Any, ...]] = field(default_factory=list)  # points-to facts (analyzers.checks.alias)
    trusted: set[TrustedCall] = field(default_factory=set)  # callees taken on trust (analyzers.checks.trusted)

    def report(self, rule: Rule, node: Node, symbol: str = "", **detail: Any) -> None:
        self.hits.append(Hit(rule, node.file, node.line, node.column, symbol,
                             tuple(sorted((k, str(v)) for k, v in detail.items()))))

    def call(self, callee: str, node: Node) -> None:
        self.calls.append(Call(callee, node.file, node.line, node.column))

    def follow(self, definition: Node, node: Node) -> None:
        """An edge to ``definition``, which will be walked too."""
        self.call(function_id(definition), node)
        self.to_walk.append(definition)

    def in_kernel_header(self, decl: Node) -> bool:
        path = decl.file
        return bool(path) and any(fnmatch.fnmatch(path, p) for p in self.policy.lists.get("kernel_headers", []))

    def tracked_elsewhere(self, decl: Node) -> bool:
        """Calls to ``decl`` are judged by a list or a check, not by following its body."""
        if decl.spelling in JUDGED_BY_NAME:
            return True
        qn = decl.qualified_name()
        p = self.policy
        if any(p.matches(k, qn) for k in ("router_api", "element_api", "handler_api")):
            return True
        if p.matches("allowed_api", qn) and decl.file not in self.own_files:  # an element cannot vouch for itself
            return True
        if decl.kind == "FUNCTION_DECL" and (p.matches("kernel_apis", decl.spelling) or self.in_kernel_header(decl)):
            return True
        return decl.is_extern_c() and decl.file in self.own_files


def function_id(definition: Node) -> str:
    """A stable id for a function definition: its USR, or its location when it has none."""
    return definition.usr or f"{definition.file}:{definition.line}:{definition.spelling}"


def display_name(definition: Node) -> str:
    return definition.qualified_name()


def unwrap(node: Node) -> Node:
    while node.kind in WRAPPERS:
        kids = node.children()
        if len(kids) != 1:
            break
        node = kids[0]
    return node


def is_this(expr: Node | None) -> bool:
    """An object expression that is ``this`` (or absent: an implicit ``this->``)."""
    if expr is None:
        return True
    expr = unwrap(expr)
    return expr.kind == "CXX_THIS_EXPR"


def address_taken(node: Node, parents: list[Node]) -> Node | None:
    """The function a DECL_REF_EXPR names when it is not the callee of the call around it (its address is
    taken: it may be called from anywhere), else None."""
    decl = node.referenced
    if decl is None or decl.kind not in FUNCTION_KINDS:
        return None
    for p in reversed(parents):  # the callee of a call is the call's business
        if p.kind in WRAPPERS:
            continue
        if p.kind == "CALL_EXPR" and p.referenced == decl:
            return None
        break
    return decl


def member_call_object(call: Node) -> tuple[bool, Node | None]:
    """(is a member call, its object expression or None for implicit this)."""
    kids = call.children()
    if not kids:
        return (False, None)
    callee = unwrap(kids[0])
    if callee.kind != "MEMBER_REF_EXPR":
        return (False, None)
    sub = callee.children()
    return (True, sub[0] if sub else None)


class Check(Protocol):
    name: str
    rules: tuple[Rule, ...]  # the rules it reports


def _dispatch(checks: list[Any]) -> dict[str, list[tuple[Any, Any]]]:
    table: dict[str, list[tuple[Any, Any]]] = {}
    for c in checks:
        for attr in dir(c):
            if attr.startswith("visit_"):
                table.setdefault(attr[6:], []).append((c, getattr(c, attr)))
    return table


class Walker:
    """Runs every check over a function body in one depth-first walk."""

    def __init__(self, checks: list[Any]) -> None:
        self.checks = checks
        self.table = _dispatch(checks)

    def walk_function(self, ctx: FunctionContext) -> None:
        fn = ctx.function
        stack: list[tuple[Node, int]] = [(fn, 0)]
        parents: list[Node] = []
        while stack:
            node, depth = stack.pop()
            del parents[depth:]
            for check, method in self.table.get(node.kind, ()):
                try:
                    method(node, parents, ctx)
                except Exception as e:  # a crash in one check: an error for this function, never a pass
                    ctx.report(CRASH, node, check.name, detail=f"{check.name}: {type(e).__name__}: {e}")
            parents.append(node)
            kids = node.children()
            for k in reversed(kids):
                stack.append((k, depth + 1))
