"""Configuration strings: argument splitting, quoting and ``$variable`` expansion.

These functions decide how Click reads the text inside ``Class( ... )`` where
the language itself depends on it: how a compound element's arguments are
split (``cp_argvec``: at unquoted commas, comments removed, a final empty
argument dropped), how they are matched to formal parameters (positional,
then ``KEYWORD value``, then ``__REST__``), and how ``$name``, ``${name}``,
``${name-default}`` and ``${name[i]}`` are substituted (not inside single
quotes; inside double quotes the value is backslash-quoted).  They follow the
documented behaviour of Click's ``confparse`` and ``variableenv``; element
classes' own argument types are outside the language and not handled here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SPACE = " \t\n\v\f\r"
_ALNUM_ = re.compile(r"[A-Za-z0-9_]*")


def _is_space(c: str) -> bool:
    return c in SPACE


def skip_comment(s: str, i: int) -> int:
    """``s[i:i+2]`` is ``//`` or ``/*``; return the index after the comment."""
    n = len(s)
    if s[i + 1] == "/":
        j = i + 2
        while j + 1 < n and s[j] not in "\n\r":
            j += 1
        if j + 1 < n and s[j] == "\r" and s[j + 1] == "\n":
            j += 1
        return j + 1
    j = i + 2
    while j + 2 < n and not (s[j] == "*" and s[j + 1] == "/"):
        j += 1
    return j + 2


def skip_backslash(s: str, i: int) -> int:
    n = len(s)
    if i + 1 >= n:
        return i + 1
    if s[i + 1] == "<":
        j = i + 2
        while j < n:
            if s[j] == ">":
                return j + 1
            if s[j] == "/" and j + 1 < n and s[j + 1] in "/*":
                j = skip_comment(s, j)
            else:
                j += 1
        return j
    if s[i + 1] == "\r" and i + 2 < n and s[i + 2] == "\n":
        return i + 3
    return i + 2


def skip_double_quote(s: str, i: int) -> int:
    n = len(s)
    i += 1
    while i < n:
        c = s[i]
        if c == "\\":
            i = skip_backslash(s, i)
        elif c == '"':
            return i + 1
        else:
            i += 1
    return n


def skip_single_quote(s: str, i: int) -> int:
    j = s.find("'", i + 1)
    return len(s) if j < 0 else j + 1


def skip_comment_space(s: str, i: int) -> int:
    n = len(s)
    while i < n:
        c = s[i]
        if c in SPACE:
            i += 1
        elif c == "/" and i + 1 < n and s[i + 1] in "/*":
            i = min(skip_comment(s, i), n)
        else:
            break
    return i


def _partial_uncomment(s: str, i: int, stop_at_comma: bool) -> tuple[str, int]:
    n = len(s)
    i = skip_comment_space(s, i)
    out: list[str] = []
    left = right = i
    closed = False
    while i < n:
        c = s[i]
        if c in SPACE:
            i += 1
        elif c == "/" and i + 1 < n and s[i + 1] in "/*":
            i = skip_comment(s, i)
            closed = True
        elif c == "," and stop_at_comma:
            break
        else:
            if closed:
                out.append(s[left:right])
                out.append(" ")
                left = i
                closed = False
            if c == "'":
                i = skip_single_quote(s, i)
            elif c == '"':
                i = skip_double_quote(s, i)
            elif c == "\\" and i + 1 < n and s[i + 1] == "<":
                i = skip_backslash(s, i)
            else:
                i += 1
            right = i
    i = min(i, n)
    right = min(right, n)
    if not out:
        return s[left:right], i
    out.append(s[left:right])
    return "".join(out), i


def uncomment(s: str) -> str:
    """Trim spaces, replace comments (and the spaces around them) by one space."""
    return _partial_uncomment(s, 0, False)[0]


def argvec(s: str) -> list[str]:
    """Split a configuration string into arguments at unquoted commas."""
    n = len(s)
    out: list[str] = []
    if n == 0:
        return out
    pos = 0
    while pos < n:
        arg, pos = _partial_uncomment(s, pos, True)
        if arg or pos < n:
            out.append(arg)
        pos += 1
    return out


def _skip_spacevec_item(s: str, i: int) -> int:
    n = len(s)
    while i < n:
        c = s[i]
        if c == "/":
            if i + 1 < n and s[i + 1] in "/*":
                return i
            i += 1
        elif c == '"':
            i = skip_double_quote(s, i)
        elif c == "'":
            i = skip_single_quote(s, i)
        elif c == "\\":
            i = skip_backslash(s, i) if i + 1 < n and s[i + 1] == "<" else i + 1
        elif c in SPACE:
            return i
        else:
            i += 1
    return min(i, n)


def spacevec(s: str) -> list[str]:
    """Split at unquoted whitespace (comments separate words too)."""
    out: list[str] = []
    i = 0
    n = len(s)
    while True:
        i = skip_comment_space(s, i)
        if i >= n:
            return out
        j = _skip_spacevec_item(s, i)
        out.append(s[i:j])
        i = j


def shift_spacevec(s: str) -> tuple[str, str]:
    """(first word, rest) of a space-separated string."""
    i = skip_comment_space(s, 0)
    j = _skip_spacevec_item(s, i)
    word = s[i:j]
    k = skip_comment_space(s, j)
    return word, s[k:]


_KEYWORD_CHARS = re.compile(r"[A-Za-z0-9_.:?!]*")


def keyword(arg: str) -> tuple[str, str] | None:
    """``KEYWORD rest`` -> (KEYWORD, rest); None when the argument has no keyword."""
    m = _KEYWORD_CHARS.match(arg)
    assert m is not None
    end = m.end()
    if end == 0 or (end < len(arg) and arg[end] not in SPACE):
        return None
    rest = arg[end:].lstrip(SPACE)
    return arg[:end], rest


def quote(s: str) -> str:
    """Double-quote a string the way Click's cp_quote does."""
    if not s:
        return '""'
    out = ['"']
    for c in s:
        if c in '\\"$':
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 32 or ord(c) == 127 or 127 < ord(c) < 256:
            u = ord(c)
            out.append("\\%o%o%o" % (u >> 6, (u >> 3) & 7, u & 7))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "\\": "\\"}


def _process_backslash(s: str, i: int, out: list[str]) -> int:
    n = len(s)
    if i + 1 >= n:
        out.append("\\")
        return i + 1
    c = s[i + 1]
    if c in _SIMPLE_ESCAPES:
        out.append(_SIMPLE_ESCAPES[c])
        return i + 2
    if c in "01234567":
        j = i + 1
        while j < n and j < i + 4 and s[j] in "01234567":
            j += 1
        out.append(chr(int(s[i + 1 : j], 8) & 255))
        return j
    if c == "x":
        j = i + 2
        while j < n and s[j] in "0123456789abcdefABCDEF":
            j += 1
        digits = s[i + 2 : j]
        out.append(chr(int(digits[-2:], 16)) if digits else "x")
        return j
    if c == "<":
        j = i + 2
        hexdigits: list[str] = []
        while j < n and s[j] != ">":
            if s[j] == "/" and j + 1 < n and s[j + 1] in "/*":
                j = skip_comment(s, j)
                continue
            if s[j] in "0123456789abcdefABCDEF":
                hexdigits.append(s[j])
            j += 1
        for k in range(0, len(hexdigits) - 1, 2):
            out.append(chr(int(hexdigits[k] + hexdigits[k + 1], 16)))
        return min(j + 1, n)
    if c == "\n":
        return i + 2
    if c == "\r":
        return i + 3 if i + 2 < n and s[i + 2] == "\n" else i + 2
    out.append(c)
    return i + 2


def unquote(s: str) -> str:
    """Remove quotes and process backslash escapes inside double quotes."""
    x = uncomment(s)
    out: list[str] = []
    start = 0
    q = ""
    i = 0
    n = len(x)
    changed = False
    while i < n:
        c = x[i]
        if c in "\"'":
            if not q:
                out.append(x[start:i])
                start = i + 1
                q = c
                changed = True
            elif q == c:
                out.append(x[start:i])
                start = i + 1
                q = ""
        elif c == "\\" and i + 1 < n and (q == '"' or (not q and x[i + 1] == "<")):
            out.append(x[start:i])
            start = _process_backslash(x, i, out)
            changed = True
            i = start
            continue
        i += 1
    if not changed:
        return x
    out.append(x[start:])
    return "".join(out)


# -- variables -----------------------------------------------------------------------


class ExpansionTooLarge(Exception):
    """Variable substitution produced more text than its :class:`Budget` allows."""


class Budget:
    """How many more characters ``$variable`` substitution may produce (shared by many expansions).

    Every character of an expansion's result is spent once, when it is copied from the text it comes
    from, so the expansion stops (:class:`ExpansionTooLarge`) as soon as the budget is exhausted, before
    the whole result is built."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ExpansionTooLarge(self.used)


class VariableEnvironment:
    """A scope of ``$variables`` with a lexical parent and a depth."""

    __slots__ = ("parent", "depth", "names", "values")
    parent: VariableEnvironment | None
    depth: int
    names: list[str]
    values: list[str]

    def __init__(self, parent: VariableEnvironment | None) -> None:
        self.parent = parent
        self.depth = parent.depth + 1 if parent is not None else 0
        self.names: list[str] = []
        self.values: list[str] = []

    def parent_of(self, depth: int) -> VariableEnvironment | None:
        v: VariableEnvironment | None = self
        while v is not None and v.depth >= depth:
            v = v.parent
        return v

    def defines(self, name: str) -> bool:
        return name in self.names

    def define(self, name: str, value: str, override: bool) -> bool:
        if name in self.names:
            if override:
                self.values[self.names.index(name)] = value
            return False
        self.names.append(name)
        self.values.append(value)
        return True

    def lookup(self, name: str) -> str | None:
        v: VariableEnvironment | None = self
        while v is not None:
            for i in range(len(v.names) - 1, -1, -1):
                if v.names[i] == name:
                    return v.values[i]
            v = v.parent
        return None

    def expand_variable(self, var: str, vartype: str, depth: int, budget: Budget | None = None) -> str | None:
        name = var
        minus = -1
        index = -1
        if vartype == "{":
            n = len(var)
            i = 0
            while i < n and var[i] in SPACE:
                i += 1
            m = _ALNUM_.match(var, i)
            assert m is not None
            name = m.group()
            i = m.end()
            while i < n and var[i] in SPACE:
                i += 1
            if i < n and var[i] == "[":
                j = i + 1
                while j < n and var[j] in SPACE:
                    j += 1
                mnum = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)").match(var, j)
                if mnum and mnum.end() < n and var[mnum.end()] == "]":
                    index = int(mnum.group(), 0) if not re.fullmatch(r"[+-]?0[0-7]+", mnum.group()) else int(mnum.group(), 8)
                    i = mnum.end() + 1
                    while i < n and var[i] in SPACE:
                        i += 1
            if i < n and var[i] == "-":
                minus = i
        value = self.lookup(name)
        if value is not None:
            text = expand(value, self, False, depth + 1, budget=budget)
            if index >= 0:
                word = ""
                rest = text
                while index >= 0 and (rest or word):
                    word, rest = shift_spacevec(rest)
                    index -= 1
                return word
            return text
        if minus >= 0:
            return expand(var[minus + 1 :], self, False, depth + 1, budget=budget)
        return None


def expand(
    config: str,
    env: VariableEnvironment,
    expand_quote: bool = False,
    depth: int = 0,
    missing: list[str] | None = None,
    budget: Budget | None = None,
) -> str:
    """Substitute ``$variables`` in a configuration string, as Click does.

    A reference to an undefined variable is kept as written; its name is
    appended to ``missing`` when given.  With a ``budget``, the characters
    substitution produces are spent from it as they are copied (a string with
    nothing to substitute costs nothing), and :class:`ExpansionTooLarge` stops
    the expansion when it runs out.
    """
    if "$" not in config:
        if budget is not None and depth:
            budget.spend(len(config))
        return config
    s = config
    n = len(s)
    out: list[str] = []
    uninterpolated = 0
    quote_char = ""
    i = 0
    while i < n:
        c = s[i]
        if c == "\\":
            if i + 1 < n and quote_char == '"':
                i += 1
        elif c in "'\"":
            if not quote_char:
                quote_char = c
            elif quote_char == c:
                quote_char = ""
        elif c == "/":
            if i + 1 < n and s[i + 1] in "/*" and not quote_char:
                i = skip_comment_space(s, i) - 1
        elif c == "$" and not (i + 1 >= n or quote_char == "'" or depth > 10):
            before = i
            expand_vname = False
            nxt = s[i + 1]
            if nxt == "{":
                vtype = "{"
                j = i + 2
                start = j
                while j < n and s[j] != "}":
                    if s[j] == "$":
                        expand_vname = True
                    j += 1
                if j == n:
                    i = n
                    break
                vname = s[start:j]
                j += 1
            elif nxt == "(":
                vtype = "("
                level = 1
                nq = ""
                j = i + 2
                start = j
                while j < n and level:
                    ch = s[j]
                    if ch == "(" and not nq:
                        level += 1
                    elif ch == ")" and not nq:
                        level -= 1
                    elif ch in "\"'":
                        if not nq:
                            nq = ch
                        elif nq == ch:
                            nq = ""
                    elif ch == "\\":
                        if j + 1 < n and nq != "'":
                            j += 1
                    elif ch == "$":
                        if nq != "'":
                            expand_vname = True
                    j += 1
                if j == start or s[j - 1] != ")":
                    i = n
                    break
                vname = s[start : j - 1]
            elif nxt.isascii() and (nxt.isalnum() or nxt == "_"):
                vtype = "a"
                m = _ALNUM_.match(s, i + 1)
                assert m is not None
                vname = m.group()
                j = m.end()
            elif nxt in "?#$":
                vtype = "a"
                vname = nxt
                j = i + 2
            else:
                i += 1
                continue
            out.append(s[uninterpolated:before])
            if budget is not None:
                budget.spend(before - uninterpolated)
            if expand_vname:
                vname = expand(vname, env, False, depth + 1, budget=budget)
            text = env.expand_variable(vname, vtype, depth, budget)
            uninterpolated = j
            if text is None:
                if missing is not None and vtype != "(":
                    missing.append(vname.strip() if vtype == "{" else vname)
                if expand_vname:
                    out.append(s[before] + s[before + 1] + vname + s[j - 1])
                    if budget is not None:
                        budget.spend(len(vname) + 3)
                else:
                    uninterpolated = before
            elif quote_char == '"' or (expand_quote and not quote_char):
                q = quote(text)
                if q[0] == '"':
                    q = q[1:-1]
                out.append(q if quote_char == '"' else '"' + q + '"')
                if budget is not None:
                    budget.spend(max(0, len(q) + 2 - len(text)))
            else:
                out.append(text)
            i = j
            continue
        i += 1
    if not out:
        if budget is not None and depth:
            budget.spend(len(config))
        return config
    out.append(s[uninterpolated:i])
    if budget is not None:
        budget.spend(i - uninterpolated)
    return "".join(out)


def assign_arguments(args: list[str], formal_types: list[str]) -> list[str] | None:
    """Match compound arguments to formal parameter types; None if they do not fit.

    ``formal_types`` has "" for positional parameters, a keyword, or
    ``__REST__`` last.  Every parameter is mandatory; ``__REST__`` collects the
    arguments nothing else took, joined by ``", "``.
    """
    if not formal_types or not formal_types[-1]:
        return list(args) if len(args) == len(formal_types) else None
    rest = formal_types[-1] == "__REST__"
    nvalues = len(formal_types) - (1 if rest else 0)
    npositional = 0
    while npositional < nvalues and formal_types[npositional] == "":
        npositional += 1
    values: list[str | None] = [None] * len(formal_types)
    used = [False] * len(args)
    supplied = 0
    any_keywords = False
    for i, arg in enumerate(args):
        if supplied >= npositional:
            kw = keyword(arg)
            slot = -1
            if kw is not None:
                for k in range(nvalues):
                    if formal_types[k] == kw[0]:
                        slot = k
                        break
            if slot >= 0:
                assert kw is not None
                values[slot] = kw[1]
                used[i] = True
                any_keywords = True
                continue
            if any_keywords:
                if rest:
                    continue
                return None
        if supplied < npositional:
            used[i] = True
            values[supplied] = arg
        supplied += 1
    if any(values[k] is None for k in range(nvalues)):
        return None
    if supplied > npositional and not rest:
        return None
    if rest:
        values[nvalues] = ", ".join(a for a, u in zip(args, used) if not u)
    return [v if v is not None else "" for v in values]


def explain_arguments(args: list[str], formal_types: list[str]) -> str:
    """Why ``args`` do not fit ``formal_types`` (for error messages)."""
    if not formal_types or not formal_types[-1]:
        n = len(formal_types)
        return f"takes {n} argument{'s' if n != 1 else ''}, got {len(args)}"
    keywords = [t for t in formal_types if t and t != "__REST__"]
    npositional = sum(1 for t in formal_types if t == "")
    given = set()
    unknown = []
    for a in args[npositional:]:
        kw = keyword(a)
        if kw is not None and kw[0] in keywords:
            given.add(kw[0])
        elif kw is not None and kw[0].isupper():
            unknown.append(kw[0])
    missing = [k for k in keywords if k not in given]
    parts = []
    if len(args) < npositional:
        parts.append(f"needs {npositional} positional argument{'s' if npositional != 1 else ''}, got {len(args)}")
    if unknown and formal_types[-1] != "__REST__":
        parts.append("unknown keyword " + ", ".join(unknown))
    if missing:
        parts.append("missing keyword " + ", ".join(missing))
    return "; ".join(parts) or "too many arguments"


_ARG_KEYWORD = re.compile(r"[A-Z][A-Z0-9_]*")


def config_value(config: str, keyword: str | None, position: int | None) -> str | None:
    """The value of one configuration argument: given by keyword (``BURST 8``), else the ``position``-th
    positional argument; None when the configuration does not give it."""
    value: str | None = None
    positional = []
    for a in argvec(config):
        words = a.strip().split(None, 1)
        if words and _ARG_KEYWORD.fullmatch(words[0]):
            if words[0] == keyword:
                value = words[1] if len(words) == 2 else ""
        else:
            positional.append(a)
    if value is None and position is not None and position < len(positional):
        value = positional[position]
    return None if value is None else unquote(value.strip())


_KEYWORD_ARG = re.compile(r"[A-Z_][A-Z0-9_]*[ \t\n\v\f\r]")


def given_keywords(config: str, wanted: Mapping[str, int | None]) -> frozenset[str] | None:
    """Which of ``wanted`` (keyword -> the position of the positional argument that also gives it, or None) an
    element's configuration string gives, as Click's argument parser would see them; None when it cannot be told
    (an unexpanded ``$variable``, a string that does not split): the caller then keeps the class's worst case.

    A keyword is given when some argument starts with it (``COUNT_CALL 5 c.reset``, or the bare keyword); a
    keyword also read positionally is given, too, when the configuration has more positional arguments than its
    position.  Click's argument parser takes an argument for a keyword argument when it starts with a word of
    capitals, digits and underscores followed by a space; every other argument counts as positional here (a
    bare word, one starting with a digit: an over-approximation, never fewer keywords than Click would read)."""
    if "$" in config:
        return None
    try:
        args = [a.strip() for a in argvec(config)]
    except Exception:  # a configuration the splitter cannot read: fail closed
        return None
    words = set()
    for a in args:
        kw = keyword(a)
        if kw is not None:
            words.add(kw[0])
    positional = [a for a in args if not _KEYWORD_ARG.match(a)]
    return frozenset(k for k, pos in wanted.items() if k in words or (pos is not None and len(positional) > pos))
