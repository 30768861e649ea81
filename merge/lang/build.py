"""From syntax tree to routers: resolve names and classes, name anonymous elements.

Walks the statements of a :class:`~merge.lang.ast.Configuration` in source order,
as Click's parser does while it reads, and decides:

* whether an identifier in a connection is an element (declared earlier in
  this scope) or a class (declared with ``elementclass``, a compound, or a
  primitive class name).  Classes are lexically scoped: a body sees the
  classes declared before it, and a redefinition inside it still refers to the
  outer class.  Click's tools take any unknown identifier for a class; here an
  unknown identifier is a class if it is a known class name (the stock Click
  classes) or starts with an upper-case letter, as every stock Click class
  does (a class of one's own package); otherwise it is an ``undeclared
  element`` error.  A compound class that uses its own name in its body, where
  no earlier class of that name exists, is refused as recursive (Click would
  take the inner name for an unknown primitive class);
* the name of every anonymous element: ``Class@N`` where N counts the
  elements (and group tunnels) of the scope so far, then made unique
  (``Class@N+1``...), exactly as Click numbers them;
* connections, with Click's port-list rules for ``->`` and ``=>`` (many-to-one,
  one-to-many, many-to-many, expandable ``[]`` ports, group ports);
* ``define``, ``require`` (``library`` files are read and parsed in place) and
  compound formal parameters.

The result is a :class:`~merge.lang.router.Router` per scope; :mod:`merge.lang.flatten`
expands it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from merge.lang import ast
from merge.lang import confparse as cp
from merge.lang.errors import ClickError, Location
from merge.lang.router import TUNNEL_CLASS, ElementClass, Router

# (element index, input ports, output ports) -- ports in Click's encoding
Item = tuple[int, list[int], list[int]]

LibraryLoader = Callable[[str, Location], "ast.Configuration"]


class Builder:
    def __init__(self, known_classes: Iterable[str] | None = None, library_loader: LibraryLoader | None = None) -> None:
        self.known = set(known_classes) if known_classes is not None else None
        self.base_types: dict[str, ElementClass] = {}
        self.router = Router()
        self.types: list[dict[str, ElementClass]] = [{}]  # declared classes, innermost last
        self.group_depth = 0
        self.library_loader = library_loader
        self.libraries: list[str] = []
        self.anonymous_classes = 0
        self.defining: list[str] = []  # names of the compound classes being defined

    # -- classes -------------------------------------------------------------------

    def declared_type(self, name: str) -> ElementClass | None:
        for scope in reversed(self.types):
            if name in scope:
                return scope[name]
        return None

    def element_type(self, name: str) -> ElementClass | None:
        return self.declared_type(name) or self.base_types.get(name)

    def force_element_type(self, name: str, where: Location, declared: bool) -> ElementClass:
        t = self.element_type(name)
        if t is not None:
            return t
        if self.router.index(name) >= 0:
            raise ClickError(where, f"'{name}' was previously used as an element name")
        if not declared and not self._looks_like_class(name):
            raise ClickError(where, f"undeclared element '{name}'")
        if name in self.defining and (self.known is None or name not in self.known):
            raise ClickError(
                where,
                f"recursive compound element class '{name}': inside its own definition '{name}' means an "
                f"earlier class of that name, and there is none (Click's element classes are not recursive)",
            )
        t = ElementClass(name, "primitive", where)
        self.base_types[name] = t
        return t

    def _looks_like_class(self, name: str) -> bool:
        if self.known is not None and name in self.known:
            return True
        return name[:1].isascii() and name[:1].isupper()

    def class_spec(self, spec: ast.ClassSpec) -> ElementClass:
        if spec.compound is not None:
            return self.compound_class(spec.compound)
        assert spec.name is not None
        return self.force_element_type(spec.name, spec.location, declared=True)

    def compound_class(self, cdef: ast.ClassDef) -> ElementClass:
        name = cdef.name
        printable = name or f"<anonymous{self.anonymous_classes + 1}>"
        if not name:
            self.anonymous_classes += 1
        extension = None
        if cdef.extends:
            extension = self.element_type(name)
            if extension is None:
                raise ClickError(cdef.location, f"cannot extend unknown element class '{name}'")
        first: ElementClass | None = None
        last: ElementClass | None = None
        outer = self.router
        outer_depth = self.group_depth
        for body in cdef.bodies:
            r = Router(name=printable, location=body.location, parent=outer, scope=cp.VariableEnvironment(outer.scope))
            r.anonymous_offset = 2
            r.get_element("input", TUNNEL_CLASS, "", body.location)
            r.get_element("output", TUNNEL_CLASS, "", body.location)
            for f in body.formals:
                if r.defines(f.name):
                    raise ClickError(f.location, f"parameter '${f.name}' multiply defined")
                r.formals.append(f.name)
                r.formal_types.append(f.keyword)
            self.router = r
            self.types.append({})
            self.group_depth = 0
            self.defining.append(name)
            try:
                self.statements(body.statements, nested=True)
            finally:
                self.defining.pop()
                self.types.pop()
                self.router = outer
                self.group_depth = outer_depth
            inp, outp = r.element("input"), r.element("output")
            assert inp is not None and outp is not None
            r.ninputs = r.check_pseudoelement(inp, False, printable, body.location)
            r.noutputs = r.check_pseudoelement(outp, True, printable, body.location)
            r.assign_element_names()
            k = ElementClass(name, "compound", body.location, router=r, source=cdef.source)
            if last is not None:
                last.overload = k
            else:
                first = k
            last = k
        assert first is not None and last is not None
        if extension is not None:
            last.overload = extension
        if name:
            self.types[-1][name] = first
        return first

    # -- statements ----------------------------------------------------------------

    def build(self, config: ast.Configuration) -> Router:
        self.statements(config.statements, nested=False)
        return self.finish()

    # Or statement by statement, as they are parsed (the syntax tree of a file need not be held whole):
    # add() each file-level statement in order, then finish().  build(config) is the same.

    def add(self, s: ast.Statement) -> None:
        """Build one file-level statement."""
        self.statement(s, nested=False)

    def finish(self) -> Router:
        """The router, once every file-level statement was built."""
        self.router.assign_element_names()
        return self.router

    def statements(self, stmts: list[ast.Statement], nested: bool) -> None:
        for s in stmts:
            self.statement(s, nested)

    def statement(self, s: ast.Statement, nested: bool) -> None:
        if isinstance(s, ast.Connection):
            self.connection(s, nested)
        elif isinstance(s, ast.ElementClassStmt):
            self.elementclass(s)
        elif isinstance(s, ast.Require):
            self.require(s)
        elif isinstance(s, ast.Define):
            self.define(s)
        else:  # pragma: no cover - the parser makes no other statements
            raise TypeError(s)

    def elementclass(self, s: ast.ElementClassStmt) -> None:
        if self.router.index(s.name) >= 0:
            raise ClickError(s.name_location, f"'{s.name}' already used as an element name")
        prior = self.base_types.get(s.name)
        if prior is not None and (self.known is None or s.name not in self.known) and self.declared_type(s.name) is None:
            raise ClickError(
                s.name_location,
                f"class '{s.name}' is defined here but was used before, at {prior.location}, where it could only "
                f"mean an unknown primitive class (classes are visible only after their definition)",
            )
        if s.definition is not None:
            self.compound_class(s.definition)
            text = f"elementclass {s.name} {s.definition.source}"
        else:
            assert s.synonym is not None and s.synonym.name is not None
            target = self.force_element_type(s.synonym.name, s.synonym.location, declared=True)
            self.types[-1][s.name] = ElementClass(s.name, "synonym", s.location, target=target)
            text = f"elementclass {s.name} {s.synonym.name};"
        self.router.class_declarations.append((s.name, text))

    def define(self, s: ast.Define) -> None:
        for arg in cp.argvec(s.config):
            if not arg:
                continue
            var, value = cp.shift_spacevec(arg)
            if len(var) < 2 or var[0] != "$" or not all(c.isascii() and (c.isalnum() or c == "_") for c in var[1:]):
                raise ClickError(s.config_location, f"bad 'define' declaration: '{var}' is not a variable")
            name = var[1:]
            if self.router.defines(name):
                raise ClickError(s.config_location, f"parameter '${name}' multiply defined")
            self.router.scope.define(name, value, False)
            self.router.define_locations[name] = s.config_location

    def require(self, s: ast.Require) -> None:
        for arg in cp.argvec(s.config):
            words = cp.spacevec(arg)
            if not words:
                continue
            kind = cp.unquote(words[0])
            if kind and kind not in ("compact_config", "package", "library") and len(words) == 1:
                words.append(words[0])
                kind = "package"
            if kind == "compact_config" and len(words) == 1:
                value = ""
            elif kind in ("package", "library") and len(words) == 2:
                value = cp.unquote(words[1])
            else:
                raise ClickError(s.config_location, f"syntax error at requirement '{arg}'")
            if kind == "library":
                self.require_library(value, s.config_location)
                continue
            self.router.requirements.append((kind, value))

    def require_library(self, name: str, where: Location) -> None:
        if self.router.parent is not None or len(self.types) > 1:
            raise ClickError(where, "'require library' must be used at file scope")
        if self.library_loader is None:
            raise ClickError(where, f"library '{name}' cannot be loaded here (no file context)")
        path = find_library(name, where.file)
        if path is None:
            raise ClickError(where, f"library '{name}' not found next to {where.file} or in CLICKPATH/conf")
        real = os.path.realpath(path)
        if real in self.libraries:
            return
        self.libraries.append(real)
        lib = self.library_loader(path, where)
        saved = self.group_depth
        self.group_depth = 0
        self.statements(lib.statements, nested=False)
        self.group_depth = saved

    # -- connections ---------------------------------------------------------------

    def connection(self, s: ast.Connection, nested: bool) -> None:
        previous: list[Item] | None = None
        for i, refs in enumerate(s.sets):
            items = self.element_set(refs, previous is not None, nested)
            if previous is None:
                for ref, (_, ins, _) in zip(refs, items):
                    if ins and ref.kind == "group":
                        raise ClickError(ref.location, "input ports ignored at start of chain (the group has inputs)")
            else:
                self.connect_all(previous, items, s.connectors[i - 1], s.connector_locations[i - 1])
            previous = items
        assert previous is not None
        for ref, (_, _, outs) in zip(s.sets[-1], previous):
            if outs and ref.kind == "group":
                raise ClickError(ref.location, "output ports ignored at end of chain (the group has outputs)")

    def anon_name(self, class_name: str) -> str:
        r = self.router
        return f";{class_name}@{len(r.elements) - r.anonymous_offset + 1}"

    def element_set(self, refs: list[ast.ElementRef], in_allowed: bool, nested: bool) -> list[Item]:
        r = self.router
        pending = []
        specs: dict[int, ElementClass] = {}  # "a, b :: C": the refs share one ClassSpec, made one class
        for ref in refs:
            ins = list(ref.inports.values) if ref.inports else []
            outs = list(ref.outports.values) if ref.outports else []
            typ: ElementClass | None = None
            if ref.kind == "ident":
                name = ref.name
                typ = self.element_type(name)
            elif ref.kind == "compound":
                assert ref.compound is not None
                typ = self.compound_class(ref.compound)
                name = ""
            elif ref.kind == "group":
                assert ref.group is not None
                name = self.anon_name("")
                nin, nout = self.group(name, ref.group)
                if ref.inports is None:
                    ins = list(range(nin))
                if ref.outports is None:
                    outs = list(range(nout))
            else:  # implicit input/output
                name = ref.name
            decl = None
            if ref.decl is not None:
                decl = specs.get(id(ref.decl))
                if decl is None:
                    decl = specs[id(ref.decl)] = self.class_spec(ref.decl)
            if ref.config is not None and r.index(name) >= 0:
                raise ClickError(ref.config_location or ref.location, "configuration string ignored on element reference")
            pending.append((ref, name, typ, decl, ins, outs))
        items: list[Item] = []
        for ref, name, typ, decl, ins, outs in pending:
            idx = -1 if typ is not None else r.index(name)
            if idx < 0:
                if decl is not None and (typ is not None or name == decl.name):
                    raise ClickError(ref.location, f"class '{name}' used as element name")
                if decl is None and typ is None:
                    if ref.kind == "implicit":
                        raise ClickError(ref.location, f"'{name}' used outside a compound element or group")
                    typ = self.force_element_type(name, ref.location, declared=False)
                if typ is not None:
                    name = self.anon_name(typ.name)
                idx = self.make_element(name, typ if typ is not None else decl, ref.config or "", ref.location)
            elif decl is not None:
                old = r.elements[idx]
                raise ClickError(ref.location, f"redeclaration of element '{name}' (previously declared at {old.location})")
            items.append((idx, ins, outs))
        return items

    def make_element(self, name: str, klass: ElementClass | None, config: str, where: Location) -> int:
        assert klass is not None
        for component in name.split("/"):
            if component.isdigit():
                raise ClickError(where, f"element name '{name}' has all-digit component")
        return self.router.get_element(name, klass, config, where).index

    def group(self, name: str, g: ast.Group) -> tuple[int, int]:
        r = self.router
        r.add_tunnel(name, name + "/input", g.location)
        r.add_tunnel(name + "/output", name, g.location)
        new_in = r.element(name + "/input")
        new_out = r.element(name + "/output")
        assert new_in is not None and new_out is not None
        old_in = r.names.get("input")
        old_out = r.names.get("output")
        r.names["input"] = new_in.index
        r.names["output"] = new_out.index
        self.group_depth += 1
        try:
            self.statements(g.statements, nested=True)
        finally:
            self.group_depth -= 1
            for key, old in (("input", old_in), ("output", old_out)):
                if old is None:
                    r.names.pop(key, None)
                else:
                    r.names[key] = old
        where = g.location
        return (
            r.check_pseudoelement(new_in, False, "<anonymous group>", where),
            r.check_pseudoelement(new_out, True, "<anonymous group>", where),
        )

    def connect_all(self, outputs: list[Item], inputs: list[Item], connector: str, where: Location) -> None:
        """Connect every output of the left set to the inputs of the right set."""
        r = self.router
        minp = [0, 0]
        expandable = [0, 0]
        sides = (inputs, outputs)  # k = 0: inputs, k = 1: outputs
        for k in (0, 1):
            for item in sides[k]:
                ports = _side(item, k)
                n = len(ports)
                if n <= 1:
                    minp[k] += 1
                elif ports[-1] == -1:
                    minp[k] += n - 1
                    expandable[k] += 1
                else:
                    minp[k] += n
        if expandable[0] + expandable[1] > 1:
            raise ClickError(where, "at most one expandable port allowed per connection")
        if connector == "=>":
            for k in (0, 1):
                if minp[k] == 1 and minp[1 - k] > 1 and len(_side(sides[k][0], k)) == 0:
                    expandable[k] = 1
        step = [minp[k] > 1 or expandable[k] > 0 for k in (0, 1)]
        nexp = [minp[1 - k] - minp[k] if expandable[k] else 0 for k in (0, 1)]
        if step[0] and step[1]:
            if connector != "=>":
                raise ClickError(where, "syntax error: many-to-many connections require '=>'")
            if not expandable[0] and not expandable[1] and minp[0] != minp[1]:
                raise ClickError(where, f"connection mismatch: {minp[1]} outputs connected to {minp[0]} inputs")
            if not expandable[0] and minp[0] < minp[1]:
                raise ClickError(where, f"connection mismatch: {minp[1]} or more outputs connected to {minp[0]} inputs")
            if not expandable[1] and minp[1] < minp[0]:
                raise ClickError(where, f"connection mismatch: {minp[1]} outputs connected to {minp[0]} or more inputs")
        elif not step[0] and not step[1]:
            step[0] = True
        pos = [0, 0]  # index into sides[k]
        ppos = [0, 0]
        port = [-1, -1]
        while pos[0] < len(inputs) and pos[1] < len(outputs):
            for k in (0, 1):
                if port[k] < 0:
                    pv = _side(sides[k][pos[k]], k)
                    port[k] = pv[0] if pv else 0
            r.connect(r.elements[outputs[pos[1]][0]], port[1], r.elements[inputs[pos[0]][0]], port[0], where)
            for k in (0, 1):
                if not step[k]:
                    continue
                pv = _side(sides[k][pos[k]], k)
                np_ = len(pv)
                ppos[k] += 1
                if ppos[k] < np_ and pv[ppos[k]] >= 0:
                    port[k] = pv[ppos[k]]
                elif np_ and pv[-1] == -1 and nexp[k] > 0:
                    port[k] = pv[np_ - 2] + ppos[k] - (np_ - 2)
                    nexp[k] -= 1
                elif np_ == 0 and minp[k] == 1 and nexp[k] > 0:
                    port[k] = ppos[k]
                    nexp[k] -= 1
                else:
                    port[k] = -1
                    ppos[k] = 0
                    pos[k] += 1


def _side(item: Item, k: int) -> list[int]:
    """The output ports (k = 1) or input ports (k = 0) of a connection item."""
    return item[2] if k else item[1]


def find_library(name: str, including_file: str) -> str | None:
    """Where ``require(library NAME)`` is found: next to the including file, then CLICKPATH."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    dirs = [os.path.dirname(including_file) or "."]
    for entry in os.environ.get("CLICKPATH", "").split(":"):
        if entry:
            dirs.extend([os.path.join(entry, "conf"), entry])
    for d in dirs:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return None
