"""Parser for the Click configuration language: tokens to :mod:`merge.lang.ast`.

Follows the grammar of click(5) and, where the manual is silent, the
behaviour of Click's own parser (``lib/lexer.cc``): the ``input``/``output``
Click infers at the ends of a chain inside compounds and groups, ``a, b ::
C(x)`` giving every bare name the last declaration, port lists with ranges and
expandable ends, ``elementclass`` synonyms and ``|| ...`` extensions, compound
formal parameters (positional, keyword, ``__REST__``, in that order).

Where Click reports an error and keeps going, this parser stops at the first
one and raises :class:`~merge.lang.errors.ClickError` with its location: a
configuration is either read whole or refused.  Where the user-level driver is
stricter than the ``click-flatten`` tool (a chain that ends in an arrow), the
driver's rule is followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from merge.lang import ast
from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.lexer import (
    ARROW,
    ARROW2,
    BAR2,
    COLON2,
    DEFINE,
    DOTS,
    ELEMENTCLASS,
    EOF,
    IDENT,
    PROVIDE,
    REQUIRE,
    VARIABLE,
    Lexer,
    Token,
)

MAX_DEPTH = 100  # nesting of compounds and groups
MAX_PORT = 65535  # no element has more ports; bigger numbers are typos or attacks

_PORT_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_ARROWS = (ARROW, ARROW2)
_CHAIN_END = {IDENT, "{", "}", "[", ")", BAR2, ELEMENTCLASS, REQUIRE, PROVIDE, DEFINE}


def parse_port_number(text: str) -> int | None:
    """A port number as C's strtol(base 0) reads it, or None."""
    if not _PORT_NUMBER.fullmatch(text):
        return None
    return int(text, 0) if not (len(text) > 1 and text[0] == "0" and text[1] not in "xX") else int(text, 8)


class Parser:
    """Parses one file.  Use :func:`parse_text` or :func:`parse_file`."""

    def __init__(self, text: str, filename: str) -> None:
        self.lx = Lexer(text, filename)
        self.filename = filename
        self.warnings: list[Diagnostic] = []
        self._depth = 0
        self._last_ends_output = True

    # -- helpers -----------------------------------------------------------------

    def loc(self, token: Token) -> Location:
        return self.lx.location(token.start)

    def error(self, token: Token, message: str) -> ClickError:
        return ClickError(self.loc(token), message)

    def syntax_error(self, token: Token) -> ClickError:
        return self.error(token, f"syntax error near {token.describe()}")

    def warn(self, token: Token, message: str) -> None:
        self.warnings.append(Diagnostic(self.loc(token), "warning", message))

    # -- statements ----------------------------------------------------------------

    def parse(self) -> ast.Configuration:
        statements = self.statements(closer=None, nested=False, opener=None)
        return ast.Configuration(self.filename, statements, self.warnings)

    def iter_statements(self) -> Iterator[ast.Statement]:
        """The file-level statements one at a time, as they are parsed: the statements of :meth:`parse`
        without the whole tree (a consumer can be done with each before the next is read).  A malformed
        configuration raises its :class:`ClickError` when the iteration reaches it."""
        return self._statements(closer=None, nested=False, opener=None)

    def statements(self, closer: str | None, nested: bool, opener: Token | None) -> list[ast.Statement]:
        return list(self._statements(closer, nested, opener))

    def _statements(self, closer: str | None, nested: bool, opener: Token | None) -> Iterator[ast.Statement]:
        lx = self.lx
        while True:
            t = lx.lex()
            k = t.kind
            if k in (IDENT, "[", "{", "(", ARROW, ARROW2):
                lx.unlex(t)
                yield self.connection(nested)
            elif k == ELEMENTCLASS:
                yield self.elementclass(t)
            elif k == REQUIRE:
                yield self.require(t)
            elif k == DEFINE:
                yield self.define(t)
            elif k == ";":
                continue
            elif k in ("}", BAR2):
                if closer != "}":
                    raise self.syntax_error(t)
                lx.unlex(t)
                return
            elif k == ")":
                if closer != ")":
                    raise self.syntax_error(t)
                lx.unlex(t)
                return
            elif k == EOF:
                if closer is not None:
                    assert opener is not None
                    what = "compound element" if closer == "}" else "element group"
                    raise self.error(opener, f"{what} '{opener.text}' is never closed: expected '{closer}' before end of file")
                return
            else:
                raise self.syntax_error(t)

    def connection(self, nested: bool) -> ast.Connection:
        lx = self.lx
        first = lx.peek()
        conn = ast.Connection(self.loc(first), [])
        previous: list[ast.ElementRef] | None = None
        while True:
            refs = self.element_set(previous is not None, nested)
            if previous is None:
                for r in refs:
                    if r.inports is not None and r.kind != "implicit":
                        raise ClickError(r.inports.location, "input ports ignored at start of chain")
            conn.sets.append(refs)
            previous = refs
            t = lx.lex()
            if t.kind in (",", COLON2):
                raise self.error(t, f"syntax error before '{t.text}'")
            if t.kind in _ARROWS:
                conn.connectors.append(t.kind)
                conn.connector_locations.append(self.loc(t))
                continue
            if t.kind in _CHAIN_END:
                lx.unlex(t)
            elif t.kind not in (";", EOF):
                raise self.syntax_error(t)
            break
        for r in refs:
            if r.outports is not None and r.kind != "implicit":
                raise ClickError(r.outports.location, "output ports ignored at end of chain")
        self._last_ends_output = len(refs) == 1 and refs[0].name == "output" and refs[0].kind in ("ident", "implicit")
        return conn

    def element_set(self, in_allowed: bool, nested: bool) -> list[ast.ElementRef]:
        lx = self.lx
        refs: list[ast.ElementRef] = []
        any_implicit = any_ports = False
        while True:
            inports = self.ports()
            t = lx.lex()
            implicit = False
            if t.kind == IDENT:
                ref = ast.ElementRef(self.loc(t), "ident", name=t.text, bare=True)
            elif t.kind == "{":
                ref = ast.ElementRef(self.loc(t), "compound", compound=self.compound_class("", t))
            elif t.kind == "(":
                ref = ast.ElementRef(self.loc(t), "group", group=self.group(t))
            else:
                nin = len(inports.values) if inports else 0
                first = not refs
                if nested and t.kind in _ARROWS:
                    implicit = (not in_allowed) and (nin > 0 or first)
                    if implicit and not nin and not self._last_ends_output:
                        self.warn(t, f"suggest 'input {t.text}' or '[0] {t.text}' to start connection")
                elif nested and t.kind == ",":
                    implicit = nin > 0
                elif nested and t.kind != COLON2:
                    implicit = in_allowed and (nin > 0 or first)
                if implicit:
                    any_implicit = True
                    name = "output" if in_allowed else "input"
                    ref = ast.ElementRef(self.loc(t), "implicit", name=name)
                    if in_allowed:
                        ref.inports = inports
                    else:
                        ref.outports = inports
                    refs.append(ref)
                    if t.kind != ",":
                        break
                    continue
                if inports is not None:
                    raise ClickError(inports.location, "stranded port ignored: port with no element")
                if first:
                    if in_allowed:
                        raise self.error(t, f"expected an element after the connection arrow, found {t.describe()}")
                    raise self.syntax_error(t)
                break
            ref.inports = inports
            refs.append(ref)
            t = lx.lex()
            if t.kind == COLON2:
                t = lx.lex()
                if t.kind == IDENT:
                    ref.decl = ast.ClassSpec(self.loc(t), name=t.text)
                elif t.kind == "{":
                    ref.decl = ast.ClassSpec(self.loc(t), compound=self.compound_class("", t))
                else:
                    raise self.error(
                        t, f"missing element type in declaration: expected a class name or '{{', found {t.describe()}"
                    )
                ref.bare = False
                t = lx.lex()
            if t.kind == "(":
                text, start, _ = lx.lex_config(t.start)
                ref.config = text
                ref.config_location = lx.location(start)
                lx.expect(")")
                ref.bare = False
                t = lx.lex()
            if t.kind == "[":
                lx.unlex(t)
                ref.outports = self.ports()
                t = lx.lex()
            any_ports = any_ports or ref.inports is not None or ref.outports is not None
            if t.kind != ",":
                break
        lx.unlex(t)
        if any_implicit and in_allowed and t.kind in _ARROWS:
            raise self.error(t, "implicit ports used in the middle of a chain")
        # "a, b, c :: C(x)": every bare name before the last declaration gets it.
        if len(refs) > 1 and not in_allowed and t.kind not in _ARROWS and not any_ports and not any_implicit:
            last = 0
            while last < len(refs) - 1 and refs[last].bare:
                last += 1
            if last == len(refs) - 1 and refs[last].decl is not None:
                for r in refs[:-1]:
                    r.decl = refs[last].decl
                    r.config = refs[last].config
                    r.config_location = refs[last].config_location
        return refs

    def ports(self) -> ast.Ports | None:
        lx = self.lx
        t = lx.lex()
        if t.kind != "[":
            lx.unlex(t)
            return None
        loc = self.loc(t)
        ports: list[int] = []
        last = -1
        dash = False
        while True:
            t = lx.lex()
            if t.kind == IDENT:
                port = parse_port_number(t.text)
                if port is None:
                    raise self.error(t, f"syntax error: port number should be integer, found {t.describe()}")
                if port > MAX_PORT:
                    raise self.error(t, f"port number {port} too large (at most {MAX_PORT})")
                if dash:
                    ports.extend(range(last + 1, port + 1))
                    last = max(last, port)
                else:
                    ports.append(port)
                    last = port
            elif t.kind == "]":
                if not ports:
                    ports.append(0)
                ports.append(-1)
                return ast.Ports(tuple(ports), loc)
            else:
                raise self.error(t, f"syntax error: expected port number, found {t.describe()}")
            t = lx.lex()
            if t.kind == "]":
                return ast.Ports(tuple(ports), loc)
            if t.kind == "-" and not dash:
                dash = True
            elif t.kind == ",":
                dash = False
            else:
                raise self.error(t, f"syntax error: expected ',' or ']' in port list, found {t.describe()}")

    # -- compounds, groups, other statements -------------------------------------

    def _enter(self, t: Token, what: str) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self.error(t, f"maximum {what} nesting depth ({MAX_DEPTH}) exceeded")

    def compound_class(self, name: str, open_brace: Token) -> ast.ClassDef:
        """Parse ``{ ... }``; the ``{`` was just read."""
        lx = self.lx
        self._enter(open_brace, "compound element")
        cdef = ast.ClassDef(self.loc(open_brace), name, [])
        saved_last = self._last_ends_output
        bar = open_brace
        end_offset = open_brace.end
        while True:
            t = lx.lex()
            if t.kind == DOTS:
                if not name:
                    raise self.error(t, "cannot extend anonymous compound element class")
                t2 = lx.lex()
                if not cdef.bodies or t2.kind != "}":
                    raise self.error(t, "'...' should occur last, after one or more compounds")
                cdef.extends = True
                cdef.end = self.loc(t2)
                end_offset = t2.end
                break
            lx.unlex(t)
            body = ast.CompoundBody(self.loc(open_brace if not cdef.bodies else bar), self.formals(), [])
            self._last_ends_output = True
            body.statements = self.statements("}", True, open_brace)
            cdef.bodies.append(body)
            t = bar = lx.lex()
            if t.kind != BAR2:
                cdef.end = self.loc(t)
                end_offset = t.end
                break
        cdef.source = lx.text[open_brace.start : end_offset]
        self._last_ends_output = saved_last
        self._depth -= 1
        return cdef

    def formals(self) -> list[ast.Formal]:
        lx = self.lx
        formals: list[ast.Formal] = []
        order_error = False
        while True:
            t1 = lx.lex()
            if t1.kind == IDENT:
                t2 = lx.lex()
                if t2.kind == VARIABLE:
                    keyword, name, where = t1.text, t2.text, t1
                else:
                    if formals:
                        raise self.error(t2, f"expected variable, found {t2.describe()}")
                    lx.unlex(t2)
                    lx.unlex(t1)
                    break
            elif t1.kind == VARIABLE:
                keyword, name, where = "", t1.text, t1
            elif t1.kind == "|":
                break
            else:
                if formals:
                    raise self.error(t1, f"expected variable, found {t1.describe()}")
                lx.unlex(t1)
                break
            if any(f.name == name for f in formals):
                raise self.error(where, f"parameter '${name}' multiply defined")
            if keyword and any(f.keyword == keyword for f in formals):
                raise self.error(where, f"repeated keyword parameter '{keyword}' in compound element")
            if formals and not order_error:
                prev = formals[-1].keyword
                if (not keyword and prev) or prev == "__REST__":
                    raise self.error(
                        where,
                        "compound element parameters out of order (the correct order is [positional], [keywords], [__REST__])",
                    )
            formals.append(ast.Formal(keyword, name, self.loc(where)))
            sep = lx.lex()
            if sep.kind == "|":
                break
            if sep.kind != ",":
                raise self.error(sep, f"expected ',' or '|' after compound parameter, found {sep.describe()}")
        return formals

    def group(self, open_paren: Token) -> ast.Group:
        self._enter(open_paren, "element group")
        saved_last = self._last_ends_output
        self._last_ends_output = True
        g = ast.Group(self.loc(open_paren), self.statements(")", True, open_paren))
        g.end = self.loc(self.lx.expect(")"))
        self._last_ends_output = saved_last
        self._depth -= 1
        return g

    def elementclass(self, kw: Token) -> ast.ElementClassStmt:
        lx = self.lx
        tname = lx.lex()
        if tname.kind != IDENT:
            raise self.error(tname, f"expected element type name after 'elementclass', found {tname.describe()}")
        stmt = ast.ElementClassStmt(self.loc(kw), tname.text, self.loc(tname))
        t = lx.lex()
        if t.kind == "{":
            stmt.definition = self.compound_class(tname.text, t)
        elif t.kind == IDENT:
            stmt.synonym = ast.ClassSpec(self.loc(t), name=t.text)
        else:
            raise self.syntax_error(t)
        return stmt

    def _paren_config(self, kw: Token) -> tuple[str, Location]:
        lx = self.lx
        t = lx.lex()
        if t.kind != "(":
            raise self.error(t, f"expected '(' after '{kw.text}', found {t.describe()}")
        text, start, _ = lx.lex_config(t.start)
        lx.expect(")")
        return text, lx.location(start)

    def require(self, kw: Token) -> ast.Require:
        text, where = self._paren_config(kw)
        t = self.lx.lex()
        if t.kind != ";":
            self.lx.unlex(t)
        return ast.Require(self.loc(kw), text, where)

    def define(self, kw: Token) -> ast.Define:
        text, where = self._paren_config(kw)
        return ast.Define(self.loc(kw), text, where)


def parse_text(text: str, filename: str = "<config>") -> ast.Configuration:
    """Parse configuration text; raise ClickError on malformed input."""
    return Parser(text, filename).parse()
