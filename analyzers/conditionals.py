"""What an element's own source text says that the user-level parse cannot: kernel-only code.

The front end parses user-level Click.  Code that only the kernel build compiles
(``#if CLICK_LINUXMODULE``, ``#ifdef __KERNEL__``, the ``#else`` of
``#if CLICK_USERLEVEL`` ...) is invisible to that parse, so it is found here,
textually, and treated fail-closed by the verdict: it is never analyzed, so an
element whose code has such a region is never ``kernel``.

Algorithm: a line-based preprocessor-conditional scanner.  Each ``#if``/
``#ifdef``/``#ifndef``/``#elif``/``#else`` condition is evaluated three-valued
(True, False, unknown) twice: in a kernel environment (CLICK_LINUXMODULE and
__KERNEL__ are 1) and in a user-level one (CLICK_USERLEVEL is 1); the other
Click driver macros are 0 in both and every other identifier is unknown.  A line
is kernel-only when its enclosing branches are not all False in the kernel
environment, not all True in the user-level one, and some enclosing condition
names a Click driver macro.  Limits: macros defined in the file are not
tracked (an unknown stays unknown, which keeps a region rather than dropping it).

The scanner also reads ``EXPORT_ELEMENT(...)``, ``ELEMENT_REQUIRES(...)`` and
``#include`` lines with the environment in which each is active.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DRIVER_MACROS = ("CLICK_LINUXMODULE", "__KERNEL__", "CLICK_USERLEVEL", "CLICK_BSDMODULE", "CLICK_NS", "CLICK_MINIOS",
                 "CLICK_TOOL")
KERNEL_ENV = {"CLICK_LINUXMODULE": 1, "__KERNEL__": 1, "CLICK_USERLEVEL": 0, "CLICK_BSDMODULE": 0, "CLICK_NS": 0,
              "CLICK_MINIOS": 0, "CLICK_TOOL": 0}
USER_ENV = {"CLICK_LINUXMODULE": 0, "__KERNEL__": 0, "CLICK_USERLEVEL": 1, "CLICK_BSDMODULE": 0, "CLICK_NS": 0,
            "CLICK_MINIOS": 0, "CLICK_TOOL": 0}

Tri = bool | None

_SCALAR = (r"(?:bool|char|short|int|long|unsigned|signed|float|double|size_t|ssize_t|u?intptr_t"
           r"|u?int(?:8|16|32|64)_t)")
_DECLARATOR = r"[A-Za-z_]\w*(?:\s*:\s*\d+)?"
# a declaration of scalar variables without initializer: no storage class, no pointer, no call, no code
SCALAR_DECLARATION = re.compile(rf"(?:(?:const|volatile|mutable)\s+)*{_SCALAR}(?:\s+{_SCALAR})*\s+"
                                rf"{_DECLARATOR}(?:\s*,\s*{_DECLARATOR})*\s*;")
_TYPE_WORDS = re.compile(rf"\b(?:const|volatile|mutable|{_SCALAR})\b")


def _declared_names(declaration: str) -> list[str]:
    """The names a SCALAR_DECLARATION declares: ``bool _a : 1, _b;`` -> ``_a``, ``_b``."""
    names = _TYPE_WORDS.sub(" ", declaration.rstrip(";"))
    return [part.split(":")[0].strip() for part in names.split(",")]


def _region(file: str, first: int, last: int, code: bool, data: bool, names: list[str]) -> Region:
    return Region(file, first, last, code, code and data, tuple(names) if code and data else ())


_DIRECTIVE = re.compile(r"^\s*#\s*(\w+)\s*(.*)$")
_TOKEN = re.compile(r"\s*(defined|\d+[uUlL]*|0x[0-9a-fA-F]+|\w+|&&|\|\||==|!=|>=|<=|[()!<>])")


@dataclass(frozen=True)
class Region:
    """Lines first..last (1-based, inclusive) of ``file`` compiled only by the kernel build."""

    file: str
    first: int
    last: int
    code: bool  # holds something other than #include lines, blank lines and comments
    data_only: bool = False  # its code is only declarations of scalar variables (``bool _aligned : 1;``)
    declared: tuple[str, ...] = ()  # the names those declarations declare, when data_only


@dataclass(frozen=True)
class Include:
    line: int
    name: str  # as spelled between <> or ""
    angled: bool
    kernel: Tri  # active in the kernel build
    user: Tri  # active in the user-level build


@dataclass
class SourceFacts:
    file: str
    exports: list[tuple[str, int]] = field(default_factory=list)  # (class, line)
    requires: list[tuple[str, int]] = field(default_factory=list)  # (requirement word, line)
    includes: list[Include] = field(default_factory=list)
    kernel_only: list[Region] = field(default_factory=list)


class _Expr:
    """A tiny recursive-descent evaluator for #if expressions over a macro environment."""

    def __init__(self, text: str, env: dict[str, int]) -> None:
        self.toks = [m.group(1) for m in _TOKEN.finditer(text)]
        self.i = 0
        self.env = env

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self) -> str:
        t = self.peek()
        self.i += 1
        return t

    def value(self) -> int | None:
        v = self.or_()
        return v

    def or_(self) -> int | None:
        v = self.and_()
        while self.peek() == "||":
            self.take()
            w = self.and_()
            v = 1 if (v or w) else (None if v is None or w is None else 0)
        return v

    def and_(self) -> int | None:
        v = self.cmp()
        while self.peek() == "&&":
            self.take()
            w = self.cmp()
            v = 0 if (v == 0 or w == 0) else (None if v is None or w is None else 1)
        return v

    def cmp(self) -> int | None:
        v = self.unary()
        while self.peek() in ("==", "!=", ">=", "<=", "<", ">"):
            op = self.take()
            w = self.unary()
            if v is None or w is None:
                v = None
            else:
                v = int({"==": v == w, "!=": v != w, ">=": v >= w, "<=": v <= w, "<": v < w, ">": v > w}[op])
        return v

    def unary(self) -> int | None:
        t = self.take()
        if t == "!":
            v = self.unary()
            return None if v is None else int(not v)
        if t == "(":
            v = self.or_()
            if self.peek() == ")":
                self.take()
            return v
        if t == "defined":
            paren = self.peek() == "("
            if paren:
                self.take()
            name = self.take()
            if paren and self.peek() == ")":
                self.take()
            return 1 if self.env.get(name) else (0 if name in self.env else None)
        if t[:1].isdigit():
            try:
                return int(t.rstrip("uUlL"), 0)
            except ValueError:
                return None
        if t in self.env:
            return self.env[t]
        if t and (t[0].isalpha() or t[0] == "_"):
            if self.peek() == "(":  # a function-like macro such as LINUX_VERSION_CODE comparisons
                depth = 0
                while self.peek():
                    x = self.take()
                    depth += x == "("
                    depth -= x == ")"
                    if depth == 0:
                        break
            return None
        return None


def evaluate(text: str, env: dict[str, int]) -> Tri:
    v = _Expr(text, env).value()
    return None if v is None else bool(v)


def _and(a: Tri, b: Tri) -> Tri:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _not(a: Tri) -> Tri:
    return None if a is None else not a


def _strip_comment(text: str) -> str:
    return re.split(r"//|/\*", text, maxsplit=1)[0]


def _is_guard(lines: list[str], n: int, name: str) -> bool:
    """``#ifndef NAME`` on line n is followed by ``#define NAME``: an include guard."""
    for raw in lines[n:]:
        m = _DIRECTIVE.match(raw)
        if m:
            return m.group(1) == "define" and m.group(2).split()[:1] == [name]
        if raw.strip() and not raw.strip().startswith("//"):
            return False
    return False


def scan(file: str, text: str) -> SourceFacts:
    """The facts of one source file (see the module docstring)."""
    facts = SourceFacts(file)
    # a stack of branches: (kernel truth, user truth, names a driver macro, kernel seen-true, user seen-true)
    stack: list[list[Tri | bool]] = []
    lines = text.splitlines()
    in_comment = False
    guard_candidate: int | None = None  # the line of the include guard's #ifndef, 0 when there is none
    region_start = 0
    region_code = False
    region_data = True  # every code line of the region so far is a SCALAR_DECLARATION
    region_names: list[str] = []

    def active(env_index: int) -> Tri:
        v: Tri = True
        for b in stack:
            v = _and(v, b[env_index])  # type: ignore[arg-type]
        return v

    def kernel_only() -> bool:
        return bool(stack) and any(b[2] for b in stack) and active(0) is not False and active(1) is not True

    for n, raw in enumerate(lines, 1):
        line = raw
        m = _DIRECTIVE.match(line) if not in_comment else None
        was_kernel_only = kernel_only()
        if m:
            word, rest = m.group(1), _strip_comment(m.group(2))
            if word == "ifndef" and guard_candidate is None and not stack and _is_guard(lines, n, rest.strip()):
                guard_candidate = n
                stack.append([True, True, False, True, True])  # an include guard: always entered
            elif word in ("if", "ifdef", "ifndef"):
                if guard_candidate is None:
                    guard_candidate = 0
                cond = rest if word == "if" else (f"defined({rest.strip()})" if word == "ifdef" else f"!defined({rest.strip()})")
                k, u = evaluate(cond, KERNEL_ENV), evaluate(cond, USER_ENV)
                names = any(d in cond for d in DRIVER_MACROS)
                stack.append([k, u, names, k, u])
            elif word in ("elif", "else") and stack:
                top = stack[-1]
                cond = rest if word == "elif" else "1"
                k, u = evaluate(cond, KERNEL_ENV), evaluate(cond, USER_ENV)
                prev_k, prev_u = top[3], top[4]
                nk = _and(_not(prev_k), k)  # type: ignore[arg-type]
                nu = _and(_not(prev_u), u)  # type: ignore[arg-type]
                names = bool(top[2]) or any(d in cond for d in DRIVER_MACROS)
                seen_k = True if (prev_k is True or k is True) else (None if prev_k is None or k is None else False)
                seen_u = True if (prev_u is True or u is True) else (None if prev_u is None or u is None else False)
                stack[-1] = [nk, nu, names, seen_k, seen_u]
            elif word == "endif" and stack:
                stack.pop()
            elif word == "include":
                inc = re.match(r'\s*([<"])([^>"]+)[>"]', rest)
                if inc:
                    facts.includes.append(Include(n, inc.group(2), inc.group(1) == "<", active(0), active(1)))
            elif was_kernel_only and word not in ("error", "warning", "pragma", "line"):
                region_code, region_data = True, False
        else:
            body = line
            if in_comment:
                if "*/" not in body:
                    body = ""
                else:
                    body = body.split("*/", 1)[1]
                    in_comment = False
            body = re.sub(r"/\*.*?\*/", " ", body)
            if "/*" in body:
                body, in_comment = body.split("/*", 1)[0], True
            body = body.split("//", 1)[0]
            code = body.strip()
            if code and was_kernel_only:
                region_code = True
                decl = SCALAR_DECLARATION.fullmatch(code)
                region_data = region_data and decl is not None
                if decl is not None:
                    region_names += _declared_names(code)
            for mm in re.finditer(r"\bEXPORT_ELEMENT\s*\(([^)]*)\)", code):
                facts.exports.extend((w, n) for w in mm.group(1).split())
            for mm in re.finditer(r"\bELEMENT_REQUIRES\s*\(([^)]*)\)", code):
                facts.requires.extend((w, n) for w in mm.group(1).split())
        now = kernel_only()
        if now and not region_start:
            region_start, region_code, region_data, region_names = n, False, True, []
        elif not now and region_start:
            facts.kernel_only.append(_region(file, region_start, n, region_code, region_data, region_names))
            region_start = 0
    if region_start:
        facts.kernel_only.append(_region(file, region_start, len(lines), region_code, region_data, region_names))
    return facts
