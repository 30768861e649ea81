"""Per-network checks: what a virtual network's configuration may do before it is merged.

Decides, for one network, from its own configuration file:

* it reads no file but itself: ``require(library ...)`` is refused before
  anything is read (MN104); ``require(package ...)`` would load code (MN105);
* it parses and flattens exactly as Click would (MN100, with Click's error),
  within the policy's ``limits``, checked while it is expanded: its size
  (MN113), elements (MN109), connections (MN110), compound nesting depth
  (MN111) and instances (MN112), and variable expansion (MN114); then, once
  flattened, its tasks (MN115) and device elements (MN116);
* every device element (FromDevice, PollDevice, ToDevice: the policy's
  ``device_classes``) names a device assigned to the network (MN101, MN108),
  and no device is read twice (MN107);
* no class reaches outside the network (the policy's ``forbidden_classes``,
  MN102), and every class is a known one (MN103);
* no element name lies in the platform's reserved namespace (MN106): the
  merger names what it adds for a network ``<network>/_platform/...``;
* ports and push/pull are as Click requires (MN2xx, :mod:`merge.ports`).

Isolation of names is by construction: each network is parsed on its own, in
its own scopes, and every element is renamed ``<network>/<name>`` when merged,
so no text of one network can name, shadow or connect to another's element.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from certify.core.findings import Finding, make_finding
from merge import rules
from merge.lang import ast
from merge.lang import confparse as cp
from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.frontend import build_graph, parse_file
from merge.lang.limits import MAXIMUM, LimitError
from merge.policy import Policy
from merge.ports import check_ports
from merge.system import Network

RESERVED = "_platform"


@dataclass
class NetworkResult:
    network: Network
    graph: nx.MultiDiGraph | None
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.graph is not None and not any(f.severity == "error" for f in self.findings)


def device_argument(config: str) -> str | None:
    """The device a device element names: ``DEVNAME x`` or its first positional argument."""
    args = cp.argvec(config)
    for a in args:
        kw = cp.keyword(a)
        if kw is not None and kw[0] == "DEVNAME":
            return cp.unquote(kw[1]) or None
    if args and args[0]:
        first = args[0]
        kw = cp.keyword(first)
        if kw is not None and kw[1] and kw[0].isupper():
            return None  # a keyword argument, not a device name
        return cp.unquote(first) or None
    return None


def _requires(stmts: Iterable[ast.Statement]) -> Iterable[ast.Require]:
    for s in stmts:
        if isinstance(s, ast.Require):
            yield s
        elif isinstance(s, ast.ElementClassStmt) and s.definition is not None:
            for body in s.definition.bodies:
                yield from _requires(body.statements)
        elif isinstance(s, ast.Connection):
            for refs in s.sets:
                for r in refs:
                    for cdef in (r.compound, r.decl.compound if r.decl else None):
                        if cdef is not None:
                            for body in cdef.bodies:
                                yield from _requires(body.statements)
                    if r.group is not None:
                        yield from _requires(r.group.statements)


def _count_limits(g: nx.MultiDiGraph, policy: Policy) -> LimitError | None:
    """The first element past the policy's ``max_tasks`` or ``max_devices`` (in the flattened graph's order,
    which is the configuration's), as the limit error it makes."""
    counts = {"max_tasks": 0, "max_devices": 0}
    for n, d in g.nodes(data=True):
        for limit, member in (("max_tasks", d["klass"] in policy.task_classes),
                              ("max_devices", d["klass"] in policy.device_classes)):
            if not member:
                continue
            counts[limit] += 1
            value = min(getattr(policy.limits, limit), MAXIMUM.get(limit, 1 << 62))
            if counts[limit] > value:
                return LimitError(Location(d["file"], d["line"], d["column"]), limit, value,
                                  f"element '{n}' ({d['klass']}) is one too many")
    return None


def check_network(
    network: Network, policy: Policy, metadata: Mapping[str, Mapping[str, str]], known_classes: frozenset[str]
) -> NetworkResult:
    res = NetworkResult(network, None)
    name = network.name

    def add(rule: rules.Rule, file: str, line: int, col: int, **kw: Any) -> None:
        res.findings.append(make_finding(rule, file, line, col, network=name, **kw))

    def refused(e: ClickError) -> NetworkResult:
        rule = rules.LIMIT_RULES[e.limit] if isinstance(e, LimitError) else rules.PARSE_ERROR
        add(rule, e.location.file, e.location.line, e.location.column, detail=e.message)
        return res

    try:
        cfg = parse_file(network.config, res.warnings, policy.limits)
    except ClickError as e:
        return refused(e)
    blocked = False
    for req in _requires(cfg.statements):
        for arg in cp.argvec(req.config):
            words = cp.spacevec(arg)
            if not words:
                continue
            loc = req.config_location
            if words[0] == "library":
                add(rules.REQUIRE_LIBRARY, loc.file, loc.line, loc.column, library=" ".join(words[1:]))
                blocked = True
            elif words[0] == "package" or len(words) == 1 and words[0] != "compact_config":
                add(rules.REQUIRE_PACKAGE, loc.file, loc.line, loc.column, package=" ".join(words[-1:]))
    if blocked:
        return res
    try:
        parsed = build_graph(cfg, True, True, known_classes, res.warnings, policy.limits)
    except ClickError as e:
        return refused(e)
    g = parsed.graph
    crossed = _count_limits(g, policy)
    if crossed is not None:
        return refused(crossed)
    res.graph = g
    readers: dict[str, list[str]] = {}
    assigned = ", ".join(sorted(network.devices)) or "none"
    for n, d in g.nodes(data=True):
        klass = d["klass"]
        where = (d["file"], d["line"], d["column"])
        if n == RESERVED or n.startswith(RESERVED + "/"):
            add(rules.RESERVED_NAME, *where, element=n, name=n, reserved=RESERVED + "/")
        if klass in policy.forbidden_classes:
            add(rules.FORBIDDEN_CLASS, *where, element=n, klass=klass, reason=policy.forbidden_classes[klass])
            continue
        if klass not in known_classes:
            add(rules.UNKNOWN_CLASS, *where, element=n, klass=klass)
            continue
        role = policy.device_classes.get(klass)
        if role is None:
            continue
        dev = device_argument(d["config"])
        if dev is None:
            add(rules.BAD_DEVICE_ARGUMENT, *where, element=n, klass=klass)
        elif dev not in network.devices:
            add(rules.UNASSIGNED_DEVICE, *where, element=n, symbol=dev, klass=klass, device=dev, assigned=assigned)
        elif role == "source":
            readers.setdefault(dev, []).append(n)
    for dev, names in sorted(readers.items()):
        if len(names) > 1:
            for n in names[1:]:
                d = g.nodes[n]
                add(rules.DEVICE_READ_TWICE, d["file"], d["line"], d["column"], element=n, symbol=dev, device=dev,
                    others=", ".join(x for x in names if x != n))
    res.findings.extend(check_ports(g, metadata, network=name))
    res.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule, f.message))
    return res
