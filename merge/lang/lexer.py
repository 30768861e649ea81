"""Lexer for the Click configuration language.

Decides what the tokens of a configuration are, exactly as Click's own lexer
(``lib/lexer.cc``, ``tools/lib/lexert.cc``) cuts them:

* whitespace is the C locale's (space, ``\\t \\n \\v \\f \\r``); ``//`` and
  ``/* */`` comments separate tokens; ``\\r\\n``, ``\\r`` and ``\\n`` each end a
  line;
* identifiers are runs of ``[A-Za-z0-9_@]`` joined by single slashes that are
  followed by an identifier character (``a/b//c`` is ``a/b`` and a comment);
* ``$name`` is a variable (a lone ``$`` is a variable with an empty name);
* ``-> => :: || ...`` are single tokens; ``elementclass require provide
  define`` are keywords; any other character is a token of its own;
* ``# N "file"`` and ``#line N "file"`` at the start of a line are line
  directives: they renumber the following lines (also inside configuration
  strings, where they are removed from the string, as Click does).

A configuration string is read raw, after its ``(``, up to the matching
unbalanced ``)``; parentheses inside quotes, comments and ``\\< >`` data do not
count.  The string is kept verbatim (comments included), except for line
directives.

Deliberate strictness (Click silently runs to end of file instead): an
unterminated ``/*`` comment, quoted string or configuration string is an error
at the place where it was opened.

Positions are character offsets into the decoded text; :meth:`Lexer.location`
turns an offset into ``file:line:column`` (columns count characters from 1).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from merge.lang.errors import ClickError, Location

# Token kinds that are not single characters.
IDENT = "identifier"
VARIABLE = "variable"
ARROW = "->"
ARROW2 = "=>"
COLON2 = "::"
BAR2 = "||"
DOTS = "..."
ELEMENTCLASS = "elementclass"
REQUIRE = "require"
PROVIDE = "provide"
DEFINE = "define"
EOF = "end of file"

KEYWORDS = {ELEMENTCLASS, REQUIRE, PROVIDE, DEFINE}
SPACE = " \t\n\v\f\r"

_NEWLINE = re.compile(r"\r\n|\r|\n")
_SKIP = re.compile(r"(?:[ \t\n\v\f\r]+|//[^\n\r]*|/\*.*?\*/)*", re.S)
_WORD = re.compile(r"[A-Za-z0-9_@]+(?:/[A-Za-z0-9_@]+)*")
_VARIABLE = re.compile(r"\$[A-Za-z0-9_]*")
_CONFIG_SPECIAL = re.compile(r"[()#/'\"\\]")
_DQUOTE_SPECIAL = re.compile(r'["\\]')
_ANGLE_SPECIAL = re.compile(r"[>/]")
_DIRECTIVE = re.compile(r"#[ \t]*(?:line[ \t]+)?([0-9]+)?[ \t]*(\"(?:[^\"\\\n\r]|\\[^\n\r])*)?[^\n\r]*")


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme: its kind, its text and its [start, end) offsets."""

    kind: str
    text: str
    start: int
    end: int

    def is_(self, kind: str) -> bool:
        return self.kind == kind

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind == EOF:
            return "end of file"
        if self.kind == VARIABLE:
            return f"'${self.text}'"
        return repr_token(self.text)


def repr_token(text: str) -> str:
    shown = text.encode("unicode_escape", errors="backslashreplace").decode("ascii")
    return f"'{shown}'"


@dataclass(slots=True)
class _Directive:
    physical_line: int  # the first physical line the directive renumbers
    line: int  # the number that physical line gets
    file: str


class Lexer:
    """Cuts one configuration text into tokens, with pushback."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self._pushback: list[Token] = []
        self._line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        self._directives: list[_Directive] = []
        self._directive_lines: list[int] = []
        # Memory: a large configuration has hundreds of thousands of tokens.  Every identifier is kept once
        # (a name or class is written many times), every line number above 256 is one int object shared
        # by all the locations on that line, and asking twice in a row for the same offset (a statement
        # and its first element) gives the same Location.
        self._words: dict[str, str] = {}
        self._line_numbers: list[int] = []
        self._last_offset = -1
        self._last_location: Location | None = None

    # -- locations -------------------------------------------------------------

    def location(self, offset: int) -> Location:
        """The file, line and column of a character offset."""
        if offset == self._last_offset and self._last_location is not None:
            return self._last_location
        starts = self._line_starts
        physical = bisect.bisect_right(starts, offset)
        column = offset - starts[physical - 1] + 1
        i = bisect.bisect_right(self._directive_lines, physical) - 1
        if i < 0:
            numbers = self._line_numbers
            if not numbers:
                numbers.extend(range(len(starts) + 1))
            loc = Location(self.filename, numbers[physical], column)
        else:
            d = self._directives[i]
            loc = Location(d.file, d.line + physical - d.physical_line, column)
        self._last_offset = offset
        self._last_location = loc
        return loc

    def error(self, offset: int, message: str) -> ClickError:
        return ClickError(self.location(offset), message)

    def _physical_line(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)

    def _at_line_start(self, offset: int) -> bool:
        return offset == 0 or self.text[offset - 1] in "\n\r"

    def _line_directive(self, offset: int) -> int:
        """Read the line directive at ``offset``; return the offset after it."""
        m = _DIRECTIVE.match(self.text, offset)
        assert m is not None
        if m.group(1) is None:
            raise self.error(offset, "unknown preprocessor directive")
        end = m.end()
        current = self.location(offset)
        file = current.file
        if m.group(2) is not None:
            quoted = m.group(2)[1:]
            file = re.sub(r"\\(.)", r"\1", quoted) or self.filename
        physical = self._physical_line(offset) + 1
        # A later directive on the same physical line cannot exist; keep sorted.
        self._directives.append(_Directive(physical, int(m.group(1)), file))
        self._directive_lines.append(physical)
        return end

    # -- tokens ----------------------------------------------------------------

    def unlex(self, token: Token) -> None:
        self._pushback.append(token)

    def peek(self) -> Token:
        t = self.lex()
        self.unlex(t)
        return t

    def lex(self) -> Token:
        if self._pushback:
            return self._pushback.pop()
        text = self.text
        n = len(text)
        pos = self.pos
        while True:
            skipped = _SKIP.match(text, pos)
            assert skipped is not None  # the pattern matches the empty string
            pos = skipped.end()
            if pos < n - 1 and text[pos] == "/" and text[pos + 1] == "*":
                raise self.error(pos, "unterminated '/*' comment")
            if pos < n and text[pos] == "#" and self._at_line_start(pos):
                pos = self._line_directive(pos)
                continue
            break
        if pos >= n:
            self.pos = n
            return Token(EOF, "", n, n)
        c = text[pos]
        m = _WORD.match(text, pos)
        if m:
            word = m.group()
            word = self._words.setdefault(word, word)
            end = self.pos = m.end()
            kind = word if word in KEYWORDS else IDENT
            return Token(kind, word, pos, end)
        if c == "$":
            m = _VARIABLE.match(text, pos)
            assert m is not None
            self.pos = m.end()
            return Token(VARIABLE, m.group()[1:], pos, m.end())
        two = text[pos : pos + 2]
        if two in (ARROW, ARROW2, COLON2, BAR2):
            self.pos = pos + 2
            return Token(two, two, pos, pos + 2)
        if text.startswith("...", pos):
            self.pos = pos + 3
            return Token(DOTS, "...", pos, pos + 3)
        self.pos = pos + 1
        return Token(c, c, pos, pos + 1)

    def expect(self, kind: str) -> Token:
        t = self.lex()
        if t.kind != kind:
            raise self.error(t.start, f"expected '{kind}', found {t.describe()}")
        return t

    # -- configuration strings -------------------------------------------------

    def lex_config(self, open_offset: int) -> tuple[str, int, int]:
        """Read a configuration string; the ``(`` at ``open_offset`` was just lexed.

        Returns (text, start, end) where [start, end) is the raw span and the
        lexer is left on the closing ``)``.
        """
        assert not self._pushback
        text = self.text
        n = len(text)
        start = s = self.pos
        depth = 1
        pieces: list[str] = []
        piece_start = start
        while True:
            m = _CONFIG_SPECIAL.search(text, s)
            if m is None:
                raise self.error(open_offset, "unterminated configuration string: no matching ')'")
            s = m.start()
            c = text[s]
            if c == "(":
                depth += 1
                s += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
                s += 1
            elif c == "#":
                if s > 0 and text[s - 1] in "\n\r":
                    pieces.append(text[piece_start:s])
                    s = self._line_directive(s)
                    piece_start = s
                else:
                    s += 1
            elif c == "/":
                if text.startswith("//", s):
                    nl = _NEWLINE.search(text, s)
                    s = n if nl is None else nl.end()
                elif text.startswith("/*", s):
                    e = text.find("*/", s + 2)
                    if e < 0:
                        raise self.error(s, "unterminated '/*' comment")
                    s = e + 2
                else:
                    s += 1
            elif c in "'\"":
                s = self._skip_quote(s)
            else:  # backslash
                if text.startswith("\\<", s):
                    s = self._skip_angle(s)
                else:
                    s += 1
        pieces.append(text[piece_start:s])
        self.pos = s
        return "".join(pieces), start, s

    def _skip_quote(self, s: int) -> int:
        text = self.text
        q = text[s]
        if q == "'":
            e = text.find("'", s + 1)
            if e < 0:
                raise self.error(s, "unterminated quoted string")
            return e + 1
        i = s + 1
        while True:
            m = _DQUOTE_SPECIAL.search(text, i)
            if m is None:
                raise self.error(s, "unterminated quoted string")
            i = m.start()
            if text[i] == '"':
                return i + 1
            if i + 1 >= len(text):
                raise self.error(s, "unterminated quoted string")
            if text[i + 1] == "<":
                i = self._skip_angle(i)
            else:
                i += 2

    def _skip_angle(self, s: int) -> int:
        """Skip ``\\< ... >`` starting at the backslash."""
        text = self.text
        i = s + 2
        while True:
            m = _ANGLE_SPECIAL.search(text, i)
            if m is None:
                raise self.error(s, "unterminated '\\<' data")
            i = m.start()
            if text[i] == ">":
                return i + 1
            if text.startswith("//", i):
                nl = _NEWLINE.search(text, i)
                i = len(text) if nl is None else nl.end()
            elif text.startswith("/*", i):
                e = text.find("*/", i + 2)
                if e < 0:
                    raise self.error(i, "unterminated '/*' comment")
                i = e + 2
            else:
                i += 1
