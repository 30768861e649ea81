"""The element/connection store that parsing builds and flattening rewrites.

A :class:`Router` is one scope of a configuration (the file, or the body of a
compound class): its elements in declaration order (the order decides Click's
``Class@N`` names), its connections (a repeated connection is stored once),
its ``define``d variables, requirements and declared classes.  Element groups
and compound expansion are represented, as in Click, by *tunnel* pseudo-
elements: a pair (``t`` -> ``t/input``) forwards whatever is connected to
``t``'s input N to whatever ``t/input``'s output N feeds.
:meth:`Router.remove_tunnels` replaces every path through tunnels by direct
connections and reports ports that lead nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from merge.lang.confparse import VariableEnvironment
from merge.lang.errors import ClickError, Location
from merge.lang.limits import LimitError

TUNNEL = "<tunnel>"


@dataclass(eq=False, slots=True)
class ElementClass:
    """A class: primitive (a C++ class name), compound, synonym or tunnel."""

    name: str
    kind: str  # "primitive", "compound", "synonym", "tunnel"
    location: Location | None = None
    router: Router | None = None  # compound body
    overload: ElementClass | None = None  # next overloaded definition ("||")
    target: ElementClass | None = None  # synonym target
    source: str = ""  # a compound's text, for unparsing without flattening

    def primitive(self) -> bool:
        return self.kind in ("primitive", "tunnel")

    def resolved(self) -> ElementClass:
        c = self
        while c.kind == "synonym" and c.target is not None:
            c = c.target
        return c


TUNNEL_CLASS = ElementClass(TUNNEL, "tunnel")


@dataclass(eq=False, slots=True)
class Element:
    name: str
    klass: ElementClass
    config: str
    location: Location
    index: int = -1
    dead: bool = False
    tunnel_in: Element | None = None  # the tunnel that forwards into this one
    tunnel_out: Element | None = None  # the tunnel this one forwards to
    ninputs: int = 0
    noutputs: int = 0

    @property
    def tunnel(self) -> bool:
        return self.klass is TUNNEL_CLASS

    def anonymous(self) -> bool:
        return self.name.startswith(";")


@dataclass(eq=False, slots=True)
class Connection:
    src: Element
    src_port: int
    dst: Element
    dst_port: int
    location: Location
    dead: bool = False


@dataclass(eq=False, slots=True)
class Router:
    name: str = ""
    location: Location | None = None
    parent: Router | None = None  # the scope the class was declared in
    scope: VariableEnvironment = field(default_factory=lambda: VariableEnvironment(None))
    formals: list[str] = field(default_factory=list)
    formal_types: list[str] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    requirements: list[tuple[str, str]] = field(default_factory=list)
    class_declarations: list[tuple[str, str]] = field(default_factory=list)  # (name, source text)
    define_locations: dict[str, Location] = field(default_factory=dict)  # variable -> its define's text
    ninputs: int = 0
    noutputs: int = 0
    anonymous_offset: int = 0
    _conn_keys: set = field(default_factory=set)  # of _conn_key(...): a repeated connection is stored once
    # element index -> list of connections from it / to it, for the elements that are or may become tunnels
    # (see connections_from); None: dropped, built again when asked (see _index)
    _out: dict | None = field(default_factory=dict)
    _in: dict | None = field(default_factory=dict)

    # -- elements ------------------------------------------------------------------

    def index(self, name: str) -> int:
        return self.names.get(name, -1)

    def element(self, name: str) -> Element | None:
        i = self.names.get(name, -1)
        return self.elements[i] if i >= 0 else None

    def get_element(self, name: str, klass: ElementClass, config: str, location: Location) -> Element:
        i = self.names.get(name, -1)
        if i >= 0:
            return self.elements[i]
        e = Element(name, klass, config, location, len(self.elements))
        self.elements.append(e)
        self.names[name] = e.index
        return e

    def defines(self, name: str) -> bool:
        return name in self.formals or self.scope.defines(name)

    def add_tunnel(self, name_in: str, name_out: str, location: Location) -> None:
        ein = self.get_element(name_in, TUNNEL_CLASS, "", location)
        eout = self.get_element(name_out, TUNNEL_CLASS, "", location)
        for e, n in ((ein, name_in), (eout, name_out)):
            if not e.tunnel:
                raise ClickError(location, f"redeclaration of element '{n}' (previously declared at {e.location})")
        if ein.tunnel_out is not None:
            raise ClickError(location, f"redeclaration of connection tunnel input '{name_in}'")
        if eout.tunnel_in is not None:
            raise ClickError(location, f"redeclaration of connection tunnel output '{name_out}'")
        ein.tunnel_out = eout
        eout.tunnel_in = ein

    def assign_element_names(self) -> None:
        """Give anonymous elements (``;Class@N``) their final ``Class@N`` names."""
        for e in self.elements:
            if e.name.startswith(";"):
                name = e.name[1:]
                if name in self.names:
                    at = name.rfind("@")
                    prefix = name[: at + 1]
                    digits = ""
                    for ch in name[at + 1 :]:
                        if not ch.isdigit():
                            break
                        digits += ch
                    n = int(digits) if digits else 0
                    while True:
                        n += 1
                        name = prefix + str(n)
                        if name not in self.names:
                            break
                if self.names.get(e.name) == e.index:
                    del self.names[e.name]
                e.name = name
                self.names[name] = e.index

    # -- connections ---------------------------------------------------------------

    def connect(self, src: Element, src_port: int, dst: Element, dst_port: int, location: Location) -> None:
        src_port = max(src_port, 0)
        dst_port = max(dst_port, 0)
        key = _conn_key(src.index, src_port, dst.index, dst_port)
        if src_port >= src.noutputs:
            src.noutputs = src_port + 1
        if dst_port >= dst.ninputs:
            dst.ninputs = dst_port + 1
        if key in self._conn_keys:
            return
        self._conn_keys.add(key)
        c = Connection(src, src_port, dst, dst_port, location)
        self.connections.append(c)
        if self._out is not None and self._in is not None:
            if src.klass.kind != "primitive":
                self._out.setdefault(src.index, []).append(c)
            if dst.klass.kind != "primitive":
                self._in.setdefault(dst.index, []).append(c)

    # The connections from and to an element are asked for tunnels only (compound and group boundaries), so
    # only those of elements that are or may become tunnels are indexed: an element of a primitive class never
    # becomes anything else (flattening turns compound instances into tunnels, and other elements into
    # primitives).  On a large router that is most of the index saved.  For an element of a primitive class,
    # the connections are looked for in all of them.

    def _index(self) -> tuple[dict, dict]:
        """The index of connections from and to elements that may be tunnels, built again if it was dropped."""
        if self._out is None or self._in is None:
            out: dict[int, list[Connection]] = {}
            into: dict[int, list[Connection]] = {}
            for c in self.connections:
                if c.src.klass.kind != "primitive":
                    out.setdefault(c.src.index, []).append(c)
                if c.dst.klass.kind != "primitive":
                    into.setdefault(c.dst.index, []).append(c)
            self._out, self._in = out, into
        return self._out, self._in

    def connections_from(self, e: Element) -> list[Connection]:
        if e.klass.kind == "primitive":
            return [c for c in self.connections if c.src is e and not c.dead]
        return [c for c in self._index()[0].get(e.index, ()) if not c.dead]

    def connections_to(self, e: Element) -> list[Connection]:
        if e.klass.kind == "primitive":
            return [c for c in self.connections if c.dst is e and not c.dead]
        return [c for c in self._index()[1].get(e.index, ()) if not c.dead]

    def check_pseudoelement(self, e: Element, isoutput: bool, owner: str, location: Location) -> int:
        """Check the use of an ``input``/``output`` pseudo-element; return its port count."""
        word = "output" if isoutput else "input"
        other = "input" if isoutput else "output"
        if (e.noutputs if isoutput else e.ninputs) > 0:
            raise ClickError(location, f"'{owner}' pseudoelement '{word}' may only be used as {other}")
        conns = self.connections_to(e) if isoutput else self.connections_from(e)
        used = {c.dst_port if isoutput else c.src_port for c in conns}
        count = e.ninputs if isoutput else e.noutputs
        for i in range(count):
            if i not in used:
                raise ClickError(location, f"'{owner}' {word} {i} missing")
        return count

    # -- tunnels -------------------------------------------------------------------

    def remove_tunnels(self, max_connections: int | None = None) -> None:
        """Replace paths through paired tunnels by direct connections.

        With ``max_connections``, stop (:class:`LimitError`) as soon as the router holds more connections
        than that: paths through a boundary that many sources enter and many destinations leave become
        every source times every destination."""
        live = [c for c in self.connections if not c.dead]
        # (tunnel index, port) -> the sources that reach that output, flat: (element, port, element, port, ...);
        # None while being expanded.  Flat tuples under int keys: there is one entry per used port of every
        # compound instance and group, and a large router has hundreds of thousands.
        expansions: dict[int | tuple[int, int], tuple[Element | int, ...] | None] = {}
        # Every input of a tunnel pair must lead somewhere.
        for c in live:
            d = c.dst
            if d.tunnel and d.tunnel_out is not None:
                out = d.tunnel_out
                if not any(x.src_port == c.dst_port for x in self.connections_from(out)):
                    _unused_port_error(d, out, c.dst_port, False)
        for c in live:
            s = c.src
            if s.tunnel and s.tunnel_in is not None:
                self._expand_tunnel(s, c.src_port, expansions)
        for c in live:
            if c.src.tunnel and c.src.tunnel_in is not None and not c.dst.tunnel:
                flat = self._expand_tunnel(c.src, c.src_port, expansions)
                for i in range(0, len(flat), 2):
                    src, sport = flat[i], flat[i + 1]
                    assert isinstance(src, Element) and isinstance(sport, int)
                    if not src.tunnel:
                        self.connect(src, sport, c.dst, c.dst_port, c.location)
                        if max_connections is not None and len(self.connections) > max_connections:
                            raise LimitError(
                                c.location, "max_connections", max_connections,
                                f"the connections into '{c.dst.name}' through compound and group boundaries "
                                f"bring the configuration's connections to {len(self.connections):,}")
        expansions.clear()  # before the connections are, not after
        for e in self.elements:
            if e.tunnel and (e.tunnel_in is not None or e.tunnel_out is not None):
                e.dead = True
        self._kill_dead_connections()

    def _expand_tunnel(
        self, elt: Element, port: int, expansions: dict[int | tuple[int, int], tuple[Element | int, ...] | None]
    ) -> tuple[Element | int, ...]:
        """Sources that reach ``elt``'s output ``port`` (elt is a tunnel with tunnel_in), flat, memoized in
        ``expansions`` (a method, not a closure that calls itself: that would be a reference cycle, holding
        ``expansions`` until the next garbage collection)."""
        key = elt.index << 20 | port if port < 0x100000 else (elt.index, port)
        if key in expansions:
            got = expansions[key]
            return got if got is not None else ()  # a cycle of tunnels leads nowhere
        expansions[key] = None
        other = elt.tunnel_in
        assert other is not None
        sources = [(c.src, c.src_port) for c in self.connections_to(other) if c.dst_port == port]
        if not sources:
            _unused_port_error(other, elt, port, True)
        result: list[Element | int] = []
        for src, sport in sources:
            if src.tunnel and src.tunnel_in is not None:
                result.extend(self._expand_tunnel(src, sport, expansions))
            else:
                result.append(src)
                result.append(sport)
        flat = expansions[key] = tuple(result)
        return flat

    def _kill_dead_connections(self) -> None:
        keep = []
        for c in self.connections:
            if c.dead or c.src.dead or c.dst.dead:
                c.dead = True
                self._conn_keys.discard(_conn_key(c.src.index, c.src_port, c.dst.index, c.dst_port))
            else:
                keep.append(c)
        self.connections = keep
        # The index still holds the dead connections: drop it (built again if asked), so they are freed.
        self._out = self._in = None

    def live_elements(self) -> list[Element]:
        return [e for e in self.elements if not e.dead]

    def take_elements(self) -> list[Element]:
        """Empty the router and hand over its elements, in order, for their last use (see
        :func:`merge.lang.graph.from_router`): its names, connections and indexes are dropped, and the
        tunnel pairs unlinked (they hold each other), so that whatever the caller lets go of is freed at once,
        even with the cyclic garbage collector off."""
        elements = self.elements
        for e in elements:
            e.tunnel_in = e.tunnel_out = None
        self.elements = []
        self.names = {}
        self.connections = []
        self._conn_keys = set()
        self._out = self._in = None
        return elements


def _conn_key(src: int, src_port: int, dst: int, dst_port: int) -> int | tuple[int, int, int, int]:
    """The key of a connection between element indexes and ports: one int (smaller than a tuple, and there is one
    per connection) when the numbers fit in it, as they always do in practice; else the tuple."""
    if src_port < 0x100000 and dst_port < 0x100000 and src < 0x100000000 and dst < 0x100000000:
        return (((src << 20 | src_port) << 32 | dst) << 20) | dst_port
    return (src, src_port, dst, dst_port)


def _unused_port_error(in_elt: Element, out_elt: Element, port: int, is_output: bool) -> None:
    """Explain a tunnel port with nothing on the other side (Click's wording)."""
    in_name, out_name = in_elt.name, out_elt.name
    if in_name + "/input" == out_name:
        msg = f"'{in_name}' input {port} unused" if is_output else f"'{in_name}' has no input {port}"
        raise ClickError(in_elt.location, msg)
    if in_name == out_name + "/output":
        msg = f"'{out_name}' has no output {port}" if is_output else f"'{out_name}' output {port} unused"
        raise ClickError(out_elt.location, msg)
    word = "input" if is_output else "output"
    raise ClickError(in_elt.location, f"tunnel '{in_name} -> {out_name}' {word} {port} unused")
