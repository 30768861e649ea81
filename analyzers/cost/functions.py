"""Per-function worst-case cost: a symbolic expression in abstract cost units.

What it decides: an upper bound on the work one call of a function does, as a
sympy expression over the same named symbols as the loop bounds (``p_length``,
``_n``, parameters), so the merger can instantiate it with a configuration's
values.  ``oo`` means no bound (an unbounded loop, recursion, a call whose cost
depends on an argument we cannot express).

The cost model (computed structurally over the syntax tree, once per function):

==========================  ======================================================
node                        cost
==========================  ======================================================
operation (binary, unary,   1 plus its operands
assignment, subscript)
statement (declaration,     1 plus its expressions
return, break, continue)
sequence (block)            sum of its statements
if / ?:                     condition + max(then, else)
switch                      condition + sum of all cases (fall-through makes max unsafe)
loop                        init + bound * (body + condition + increment) + condition;
                            a body depending on the loop variable is taken at its
                            maximum over the variable's range
call to a visible function  1 + arguments + the callee's cost with its parameters
                            replaced by the arguments (through the call graph;
                            recursion, direct or not, is ``oo``)
trusted API and libc calls  1 + arguments + the declared cost (``api_costs.yaml``,
                            :mod:`analyzers.apicost`; copies cost the bytes copied)
other unresolved calls      1 + arguments + a symbol ``cost_<qualified name>``, which
                            nothing fills: the merger counts it as unbounded
==========================  ======================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import sympy
from sympy import Expr, Integer, oo

from analyzers import apicost
from analyzers import loopmath as lm
from analyzers.frontend import Node
from analyzers.loopexpr import strip
from analyzers.loops import Call, Loop
from analyzers.loopsyntax import LOOP_KINDS, for_parts

_OPERATIONS = frozenset(("BINARY_OPERATOR", "UNARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR", "ARRAY_SUBSCRIPT_EXPR",
                         "CONDITIONAL_OPERATOR"))
_STATEMENTS = frozenset(("DECL_STMT", "RETURN_STMT", "BREAK_STMT", "CONTINUE_STMT", "GOTO_STMT", "NULL_STMT"))


@dataclass
class FunctionInfo:
    """What the cost of one function needs: its body, parameters, loops and calls (by position)."""

    usr: str
    name: str
    file: str
    line: int
    body: Node | None
    params: list[sympy.Symbol]
    loops: dict[tuple[int, int], Loop] = field(default_factory=dict)
    calls: dict[tuple[int, int], Call] = field(default_factory=dict)


CallSite = tuple[str, int, int]  # (file, line, column) of a call


def function_costs(functions: list[FunctionInfo], cap: float = 2.0,
                   sites: dict[str, set[CallSite]] | None = None) -> dict[str, Expr]:
    """The cost of every function (by USR), callees first; recursion makes a function ``oo``.  ``sites``, when
    given, collects where each unresolved-call symbol (``cost_<name>``) comes from: the calls that introduce it
    (so that a symbol only calls a configuration keyword enables introduce can be dropped for an instance that
    does not give the keyword: :mod:`analyzers.guards`)."""
    by_usr = {f.usr: f for f in functions}
    g: nx.DiGraph = nx.DiGraph()
    for f in functions:
        g.add_node(f.usr)
        for c in f.calls.values():
            if c.usr in by_usr:
                g.add_edge(f.usr, c.usr)
    recursive: set[str] = set()
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1 or any(g.has_edge(u, u) for u in comp):
            recursive |= comp
    costs: dict[str, Expr] = {u: oo for u in recursive}
    condensed = g.subgraph([u for u in g.nodes if u not in recursive])
    for usr in reversed(list(nx.topological_sort(condensed))):
        f = by_usr[usr]
        raw = _Coster(f, by_usr, costs, sites).cost(f.body) if f.body is not None else Integer(1)
        costs[usr] = _tidy(raw, cap)
    for usr in recursive:  # anything that reaches a recursive function is unbounded too
        for caller in nx.ancestors(g, usr):
            costs[caller] = oo
    return costs


def _tidy(e: Expr, cap: float) -> Expr:
    if e.has(oo):
        return oo if sympy.Max(e, 0) == oo or e == oo else e
    try:
        return lm.capped(lambda: sympy.expand(e), cap)
    except lm.CapExceeded:
        return e


class _Coster:
    def __init__(self, f: FunctionInfo, by_usr: dict[str, FunctionInfo], done: dict[str, Expr],
                 sites: dict[str, set[CallSite]] | None = None) -> None:
        self.f = f
        self.by_usr = by_usr
        self.done = done
        self.sites = sites

    def cost(self, n: Node) -> Expr:
        k = n.kind
        kids = n.children()
        if k in LOOP_KINDS:
            return self.loop(n)
        if k in ("IF_STMT",):
            parts = [self.cost(c) for c in kids]
            cond, rest = (parts[-3], parts[-2:]) if len(parts) >= 3 else (parts[0], parts[1:])
            return cond + (sympy.Max(*rest) if len(rest) > 1 else rest[0] if rest else Integer(0))
        if k == "CONDITIONAL_OPERATOR" and len(kids) == 3:
            return 1 + self.cost(kids[0]) + sympy.Max(self.cost(kids[1]), self.cost(kids[2]))
        if k == "CALL_EXPR":
            return self.call(n, kids)
        if k in ("LAMBDA_EXPR",):
            return Integer(1)  # making the closure; its body costs at each call (a function of its own)
        if k in ("CLASS_DECL", "STRUCT_DECL"):
            return Integer(0)  # a local class: its methods cost where they are called
        own = Integer(1) if k in _OPERATIONS or k in _STATEMENTS else Integer(0)
        return own + sympy.Add(*[self.cost(c) for c in kids])

    def loop(self, n: Node) -> Expr:
        loop = self.f.loops.get((n.line, n.column))
        if loop is None or loop.bound is None:
            return oo
        kids = n.children()
        if n.kind == "FOR_STMT":
            init, cond, inc, body = for_parts(n)
        elif n.kind == "WHILE_STMT":
            init, inc, cond, body = None, None, kids[-2], kids[-1]
        else:
            init, inc, body, cond = None, None, kids[0], kids[-1]
        c_cond = self.cost(cond) if cond is not None else Integer(0)
        per_iter = (self.cost(body) if body is not None else Integer(0)) + c_cond + \
            (self.cost(inc) if inc is not None else Integer(0))
        if loop.range is not None and loop.range.var in per_iter.free_symbols:
            worst = lm.nest_maximum(per_iter, [loop.range])
            per_iter = worst if worst is not None else oo
        c_init = self.cost(init) if init is not None else Integer(0)
        return c_init + loop.bound * per_iter + c_cond

    def call(self, n: Node, kids: list[Node]) -> Expr:
        args = sympy.Add(*[self.cost(c) for c in kids])
        c = self.f.calls.get((n.line, n.column))
        name = n.spelling
        if c is not None and c.usr in self.by_usr:
            callee = self.by_usr[c.usr]
            body_cost = self.done.get(c.usr, oo)
            if body_cost == oo:
                return oo
            subs: dict[sympy.Symbol, Expr] = {}
            for p, v in zip(callee.params, c.args):
                if p in body_cost.free_symbols:
                    if v is None:
                        return oo
                    subs[p] = v
            return 1 + args + body_cost.xreplace(subs)
        decl = n.referenced
        if decl is not None:
            qualified = decl.qualified_name()
        elif not name and n.type.canonical.kind == "RECORD":  # T(x), an implicit conversion: T's constructor
            t = n.type.canonical.spelling.split("<")[0].split()[-1].split("::")[-1]
            qualified = f"{t}::{t}"
        else:
            qualified = name
        display = decl.displayname if decl is not None else name
        signature = qualified + display[display.index("("):] if "(" in display else qualified
        if c is not None:
            values = c.args
        else:  # a constructor or an indirect call: the argument count, values unknown
            values = [None] * (len(kids) - (1 if kids and strip(kids[0]).kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR")
                                            else 0))
        # an element cannot declare its own routines' costs: a decl declared in the analysed file keeps its symbol
        own = decl is not None and decl.file == self.f.file
        declared = None if own else apicost.load().cost(qualified, signature, values, self.f.name)
        if declared is not None:
            return 1 + args + declared
        symbol = apicost.unresolved_symbol(qualified)
        if self.sites is not None:
            self.sites.setdefault(symbol.name, set()).add((n.file, n.line, n.column))
        return 1 + args + symbol
