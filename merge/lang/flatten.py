"""Flattening: expand compound elements until only primitive classes remain.

Decides what a compound instance becomes, as Click does: its overloaded
definitions are tried in order and the first whose input and output counts
match how the instance is connected, and whose formal parameters accept its
arguments, is chosen; the body is copied in with every name prefixed by the
instance's name (``c/x``), its configuration strings expanded with the
arguments bound to the formals (variables are lexically scoped: a body sees
the variables of the scope it was declared in, not those of its caller), and
the instance becomes a pair of tunnels that :meth:`Router.remove_tunnels`
finally replaces by direct connections.

Global ``define``s are kept as variables (Click's ``click-flatten``) or
substituted everywhere with ``expand_vars=True`` (``click-flatten
--expand-vars``).

The :class:`~merge.lang.limits.Limits` are enforced as the expansion goes:
every primitive element, connection and compound instance is counted when it
is created, the nesting depth when an instance is entered, and the text that
variable substitution produces as it is copied; the first crossing stops the
flattening with a :class:`~merge.lang.limits.LimitError` located at the
compound instance being expanded (the innermost one, with the top-level
instance it was reached from), or at the element, connection or ``define``
itself outside any compound.
"""

from __future__ import annotations

from merge.lang import confparse as cp
from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.limits import DEFAULT_LIMITS, LimitError, Limits
from merge.lang.router import TUNNEL_CLASS, Element, ElementClass, Router


def _signature(name: str, nargs: int, nin: int, nout: int) -> str:
    args = f"{nargs} argument{'s' if nargs != 1 else ''}, " if nargs else ""
    return f"{name or '<anonymous>'}[{args}{nin} input{'s' if nin != 1 else ''}, {nout} output{'s' if nout != 1 else ''}]"


def _class_signature(k: ElementClass) -> str:
    r = k.router
    assert r is not None
    formals = ""
    if r.formal_types:
        shown = ["<arg>" if t == "" else "..." if t == "__REST__" else t for t in r.formal_types]
        formals = "(" + ", ".join(shown) + ")"
    nin, nout = r.ninputs, r.noutputs
    return f"{k.name or '<anonymous>'}{formals}[{nin} input{'s' if nin != 1 else ''}, {nout} output{'s' if nout != 1 else ''}]"


def resolve(k: ElementClass, e: Element, args: list[str]) -> tuple[ElementClass, list[str]]:
    """Choose the overloaded definition of compound ``k`` that fits instance ``e``."""
    r: ElementClass = k
    closest: tuple[ElementClass, list[str]] | None = None
    tried = 0
    while True:
        tried += 1
        assert r.router is not None
        values = cp.assign_arguments(args, r.router.formal_types)
        if values is not None and r.router.ninputs == e.ninputs and r.router.noutputs == e.noutputs:
            return r, values
        if values is not None:
            closest = (r, values)
        nxt = r.overload
        if nxt is None:
            break
        nxt = nxt.resolved()
        if nxt.kind == "compound":
            r = nxt
            continue
        return nxt, args  # extends a primitive class: it accepts anything
    if tried != 1 or closest is None:
        candidates = []
        c: ElementClass | None = k
        while c is not None and c.kind == "compound":
            assert c.router is not None
            why = []
            if cp.assign_arguments(args, c.router.formal_types) is None:
                why.append(cp.explain_arguments(args, c.router.formal_types))
            if (c.router.ninputs, c.router.noutputs) != (e.ninputs, e.noutputs):
                why.append(f"has {c.router.ninputs} input{'s' if c.router.ninputs != 1 else ''} and "
                           f"{c.router.noutputs} output{'s' if c.router.noutputs != 1 else ''}")
            candidates.append(f"{_class_signature(c)} ({', '.join(why)}) at {c.location}")
            c = c.overload.resolved() if c.overload is not None else None
        raise ClickError(
            e.location,
            f"no match for '{_signature(k.name, len(args), e.ninputs, e.noutputs)}'; candidates are: " + "; ".join(candidates),
        )
    return closest


class Flattener:
    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.warnings: list[Diagnostic] = []
        self.limits = limits
        self.budget = cp.Budget(limits.max_define_bytes)
        self.elements = 0  # primitive elements so far
        self.instances = 0  # compound instances expanded so far
        # the compound instances being expanded, outermost first: (name, class, location, body)
        self._instances: list[tuple[str, str, Location, Router]] = []
        # the expanded configuration strings, each kept once: every instance of a compound makes its own
        # copy of the same few strings ("eth0, BURST $BURST")
        self._configs: dict[str, str] = {}

    # -- limits --------------------------------------------------------------------

    def _crossed(self, limit: str, what: str, fallback: Location) -> LimitError:
        """The error for ``limit``, at the innermost compound instance being expanded (else ``fallback``)."""
        value = getattr(self.limits, limit)
        if not self._instances:
            return LimitError(fallback, limit, value, what)
        name, klass, loc, _ = self._instances[-1]
        message = f"compound instance '{name}' ({klass}): {what}"
        if len(self._instances) > 1:
            top, tklass, tloc, _ = self._instances[0]
            message += f", expanded from '{top}' ({tklass}) at {tloc}"
        return LimitError(loc, limit, value, message)

    def _count_connection(self, tor: Router, location: Location) -> None:
        n = len(tor.connections)
        if n > self.limits.max_connections:
            raise self._crossed("max_connections", f"connection number {n:,}", location)

    def _expand(self, config: str, env: cp.VariableEnvironment, location: Location, whose: str,
                missing: list[str] | None = None) -> str:
        try:
            return cp.expand(config, env, missing=missing, budget=self.budget)
        except cp.ExpansionTooLarge:
            used = self.budget.used
            what = f"variable expansion in {whose} brings the text substitution produced to {used:,} bytes"
            raise self._crossed("max_define_bytes", what, location) from None

    def _expand_config(self, e: Element, name: str, env: cp.VariableEnvironment) -> str:
        missing: list[str] = []
        config = self._expand(e.config, env, e.location, f"the configuration of '{name}'", missing)
        config = self._configs.setdefault(config, config)
        for var in dict.fromkeys(missing):
            self.warnings.append(
                Diagnostic(
                    e.location, "warning", f"undefined variable '${var}' in the configuration of '{name}' is kept as written"
                )
            )
        return config

    def expand_element(self, e: Element, fromr: Router, tor: Router, prefix: str, env: cp.VariableEnvironment) -> Element:
        k = e.klass.resolved()
        if k.primitive():
            return self.direct_expand(e, k, fromr, tor, prefix, env)
        args = cp.argvec(self._expand(e.config, env, e.location, f"the arguments of '{prefix + e.name}'"))
        found, values = resolve(k, e, args)
        if found.primitive():
            return self.direct_expand(e, found, fromr, tor, prefix, env)
        return self.complex_expand(found, e, values, fromr, tor, prefix, env)

    def direct_expand(
        self, e: Element, k: ElementClass, fromr: Router, tor: Router, prefix: str, env: cp.VariableEnvironment
    ) -> Element:
        new_name = prefix + e.name
        config = e.config if e.tunnel else self._expand_config(e, new_name, env)
        if e.tunnel:
            if fromr is tor and not prefix:
                return e
            if e.tunnel_out is not None:
                tor.add_tunnel(new_name, prefix + e.tunnel_out.name, e.location)
                got = tor.element(new_name)
                assert got is not None
                return got
            return tor.get_element(new_name, TUNNEL_CLASS, config, e.location)
        self.elements += 1
        if self.elements > self.limits.max_elements:
            raise self._crossed("max_elements", f"element '{new_name}' is element number {self.elements:,}", e.location)
        if fromr is tor and not prefix:
            e.config = config
            e.klass = k
            return e
        old = tor.element(new_name)
        if old is not None:
            raise ClickError(e.location, f"redeclaration of element '{new_name}' (previously declared at {old.location})")
        return tor.get_element(new_name, k, config, e.location)

    def complex_expand(
        self,
        k: ElementClass,
        e: Element,
        args: list[str],
        fromr: Router,
        tor: Router,
        prefix: str,
        env: cp.VariableEnvironment,
    ) -> Element:
        body = k.router
        assert body is not None
        if any(entered is body for *_, entered in self._instances):  # cannot happen with lexical scoping; guard anyway
            raise ClickError(e.location, f"recursive compound element class '{k.name}'")
        self._instances.append((prefix + e.name, k.name or "<anonymous>", e.location, body))
        try:
            self.instances += 1
            if self.instances > self.limits.max_compound_instances:
                raise self._crossed("max_compound_instances", f"compound instance number {self.instances:,}", e.location)
            if len(self._instances) > self.limits.max_depth:
                raise self._crossed("max_depth", f"nested {len(self._instances)} compound instances deep", e.location)
            new_env = cp.VariableEnvironment(env.parent_of(body.scope.depth))
            for i, name in enumerate(body.formals):
                new_env.define(name, args[i] if i < len(args) else "", True)
            for name, value in zip(body.scope.names, body.scope.values):
                where = body.define_locations.get(name, e.location)
                new_env.define(name, self._expand(value, env, where, f"the value of '${name}'"), True)
            new_prefix = prefix + e.name
            if not new_prefix.endswith("/"):
                new_prefix += "/"
            if fromr is tor:
                e.klass = TUNNEL_CLASS
            tor.add_tunnel(prefix + e.name, new_prefix + "input", e.location)
            tor.add_tunnel(new_prefix + "output", prefix + e.name, e.location)
            new_e = tor.element(prefix + e.name)
            assert new_e is not None
            self.expand_into(body, tor, new_prefix, new_env)
            return new_e
        finally:
            self._instances.pop()

    def expand_into(self, body: Router, tor: Router, prefix: str, env: cp.VariableEnvironment) -> None:
        new: dict[int, Element] = {}
        for e in list(body.elements):
            if not e.dead:
                new[e.index] = self.expand_element(e, body, tor, prefix, env)
        for c in body.connections:
            if not c.dead:
                tor.connect(new[c.src.index], c.src_port, new[c.dst.index], c.dst_port, c.location)
                self._count_connection(tor, c.location)
        tor.requirements.extend(body.requirements)


def flatten(
    router: Router,
    expand_vars: bool = False,
    warnings: list[Diagnostic] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Router:
    """Expand every compound element of ``router`` in place and return it, within ``limits``."""
    f = Flattener(limits)
    env = cp.VariableEnvironment(None)
    for name, value in zip(router.scope.names, router.scope.values):
        if expand_vars:
            where = router.define_locations.get(name, router.location or Location("<config>", 0, 0))
            value = f._expand(value, env, where, f"the value of '${name}'")
        else:
            value = "$" + name
        env.define(name, value, True)
    if router.connections:
        f._count_connection(router, router.connections[-1].location)
    for e in list(router.elements):
        if not e.dead:
            f.expand_element(e, router, router, "", env)
    router.remove_tunnels(limits.max_connections)
    if expand_vars:
        router.scope = cp.VariableEnvironment(None)
    if warnings is not None:
        warnings.extend(f.warnings)
    return router


def remove_groups(router: Router) -> Router:
    """Replace element groups by direct connections, leaving compounds as they are."""
    router.remove_tunnels()
    return router
