"""The libclang front end: the only module that imports ``clang.cindex``.

It decides how a C++ element file is parsed and what the checks may see of it.

Parsing: one translation unit per file, parsed once, in user-level mode
(``-DCLICK_USERLEVEL``) with Click's include directories (``--click-root``: its
``include/``, the root itself for ``"elements/..."`` includes, and the file's
own directory), or with the flags of the file's entry in a
``compile_commands.json`` (``-p``), plus ``-I``/``-D`` passthrough, the system
C++ include directories (the PyPI wheel lacks the compiler's builtin headers;
they are taken from ``cc -E -Wp,-v -x c++ -``) and ``-ferror-limit=0``.  Error
and Fatal diagnostics are recorded: they make the file not certifiable.

A library run (:mod:`analyzers.engine`) precompiles Click's common headers once
(:func:`build_preamble`); a file that starts by including ``<click/config.h>``
is parsed on that preamble, in a third of the time, and the parse is kept only
when it is shown to equal the plain one (:func:`_preamble_holds`).

Kernel mode is not parsed: without kernel headers Click's own
``config-linuxmodule.h`` alone gives about a hundred errors.  Code that only the
kernel build compiles is found by :mod:`analyzers.conditionals` and treated as a
fail-closed region (docs/analyzers.md has the measurements).

What checks see: :class:`Node`, a small typed view of a cursor (kind name,
spelling, expansion location, referenced declaration, definition, children,
tokens, a few type facts).  Nothing here knows about rules.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import clang.cindex as ci

# kinds of types that are integers, as far as the casts check is concerned
_INTEGER_TYPE_KINDS = frozenset(
    getattr(ci.TypeKind, k)
    for k in (
        "BOOL CHAR_U UCHAR CHAR16 CHAR32 USHORT UINT ULONG ULONGLONG UINT128 CHAR_S SCHAR WCHAR SHORT INT "
        "LONG LONGLONG INT128 ENUM"
    ).split()
)
_ELEMENT_HEADER = re.compile(r"^\s*ELEMENT_HEADER\s*\(\s*[<\"]([^>\"]+)[>\"]\s*\)", re.M)
_BYTE_TYPE_KINDS = frozenset(getattr(ci.TypeKind, k) for k in ("CHAR_U", "UCHAR", "CHAR_S", "SCHAR", "VOID"))


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: str  # "error" or "fatal"
    message: str


@dataclass(frozen=True)
class ParseOptions:
    click_root: str | None = None
    build_dir: str | None = None
    includes: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    preamble: str | None = None  # a manifest of build_preamble: Click's common headers, precompiled once per run


@dataclass(frozen=True)
class Include:
    """One file the translation unit includes: the including file, the included one (resolved, absolute) and
    the depth (1: included by the parsed file itself)."""

    source: str
    path: str
    depth: int


@dataclass
class Parsed:
    """One parsed file: its root node, diagnostics, and the arguments used."""

    path: str
    args: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    root: Node | None = None
    seconds: float = 0.0
    includes: list[Include] = field(default_factory=list)  # every include, at any depth, in libclang's order
    preamble: bool = False  # parsed on the run's precompiled preamble (then the includes it holds are not listed)

    def beside(self, direct: bool) -> list[str]:
        """The files the translation unit includes from the parsed file's own directory (absolute, each once,
        in include order): only those the file includes itself (``direct``), or those included at any depth.

        The one way both analyses choose an element's own files: the checks take the direct includes
        (:func:`analyzers.analysis.own_files`), the bound analysis the headers among those at any depth (an
        element's header often includes its base class's header beside it).  A header the file names with
        ``ELEMENT_HEADER`` and includes itself is its own too, wherever it is."""
        here = os.path.dirname(self.path)
        declared = self.element_headers()
        out: list[str] = []
        for inc in self.includes:
            mine = os.path.dirname(inc.path) == here or (
                inc.depth == 1 and any(inc.path.endswith(os.sep + h) for h in declared))
            if (inc.depth == 1 or not direct) and mine and inc.path not in out:
                out.append(inc.path)
        return out

    def element_headers(self) -> list[str]:
        """The headers the file names as its element's own with ``ELEMENT_HEADER(<click/standard/x.hh>)``
        (Click's elements whose class is declared under include/click/ rather than beside the source)."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        return [os.path.normpath(h) for h in _ELEMENT_HEADER.findall(text) if ".." not in h]


@functools.lru_cache(maxsize=1)
def system_include_dirs() -> tuple[str, ...]:
    """The C++ compiler's ``#include <...>`` search list, or () when no compiler is found."""
    for cc in (os.environ.get("CXX", ""), "c++", "cc", "g++", "clang++"):
        if not cc:
            continue
        try:
            r = subprocess.run([cc, "-E", "-Wp,-v", "-x", "c++", "-"], input=b"", capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        dirs: list[str] = []
        on = False
        for line in r.stderr.decode(errors="replace").splitlines():
            if line.startswith("#include <...> search starts here"):
                on = True
            elif line.startswith("End of search list"):
                break
            elif on and line.startswith(" "):
                dirs.append(os.path.normpath(line.strip().split(" (")[0]))
        if dirs:
            return tuple(dirs)
    return ()


def _from_compile_commands(build_dir: str, path: str) -> list[str] | None:
    """The flags (without compiler, output and input) of ``path``'s entry, or None when it has none."""
    db_path = os.path.join(build_dir, "compile_commands.json")
    with open(db_path, encoding="utf-8") as f:
        entries = json.load(f)
    want = os.path.realpath(path)
    for e in entries:
        directory = e.get("directory", build_dir)
        if os.path.realpath(os.path.join(directory, e.get("file", ""))) != want:
            continue
        argv = e["arguments"] if "arguments" in e else shlex.split(e.get("command", ""))
        out: list[str] = []
        skip = False
        for i, a in enumerate(argv[1:], 1):
            if skip:
                skip = False
                continue
            if a in ("-c", "-MD", "-MMD", "-MP"):
                continue
            if a in ("-o", "-MF", "-MT", "-MQ"):
                skip = True
                continue
            if os.path.realpath(os.path.join(directory, a)) == want:
                continue
            if a.startswith("-I") and len(a) > 2:
                a = "-I" + os.path.normpath(os.path.join(directory, a[2:]))
            elif i > 1 and argv[i - 1] in ("-I", "-isystem", "-include", "-iquote"):
                a = os.path.normpath(os.path.join(directory, a))
            out.append(a)
        return out
    return None


def build_args(path: str, opts: ParseOptions) -> list[str]:
    """The clang arguments for ``path``: user-level Click plus passthrough and system includes."""
    args = ["-x", "c++", "-std=gnu++14", "-ferror-limit=0", "-DCLICK_USERLEVEL=1", "-DHAVE_CONFIG_H"]
    from_db = _from_compile_commands(opts.build_dir, path) if opts.build_dir else None
    if from_db is not None:
        args = ["-x", "c++", "-ferror-limit=0"] + from_db
    args += [f"-D{d}" for d in opts.defines]
    args += [f"-I{i}" for i in opts.includes]
    if opts.click_root:
        root = os.path.abspath(opts.click_root)
        args += [f"-I{os.path.join(root, 'include')}", f"-I{root}"]
    args.append(f"-I{os.path.dirname(os.path.abspath(path))}")
    args += list(opts.extra_args)
    for d in system_include_dirs():
        args += ["-isystem", d]
    return args


_SEVERITY = {ci.Diagnostic.Error: "error", ci.Diagnostic.Fatal: "fatal"}


def parse(path: str, opts: ParseOptions, index: ci.Index | None = None) -> Parsed:
    """Parse ``path`` once; raises OSError when it cannot be read, never on C++ errors.

    With a preamble (``opts.preamble``), a file that may use it is parsed on it, and that parse is kept only
    when it is shown to be the plain parse's equal (:func:`_preamble_holds`); otherwise the file is parsed
    plainly."""
    with open(path, "rb"):
        pass
    args = build_args(path, opts)
    idx = index or ci.Index.create()
    pre = _load_preamble(opts.preamble) if opts.preamble else None
    if pre is not None and pre.may_serve(path):
        t0 = time.perf_counter()
        tu = idx.parse(path, args=args + ["-include-pch", pre.pch],
                       options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)
        if not any(d.severity in _SEVERITY for d in tu.diagnostics) and _preamble_holds(tu, path, pre):
            result = _parsed(tu, path, args, time.perf_counter() - t0)
            result.preamble = True
            return result
        del tu
    t0 = time.perf_counter()
    tu = idx.parse(path, args=args, options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)
    return _parsed(tu, path, args, time.perf_counter() - t0)


def _parsed(tu: ci.TranslationUnit, path: str, args: list[str], seconds: float) -> Parsed:
    result = Parsed(path=os.path.abspath(path), args=args, seconds=seconds)
    for d in tu.diagnostics:
        if d.severity in _SEVERITY:
            loc = d.location
            name = loc.file.name if loc.file else path
            result.diagnostics.append(Diagnostic(name, loc.line, loc.column, _SEVERITY[d.severity], d.spelling))
    for inc in tu.get_includes():
        if inc.include is not None:
            result.includes.append(Include(inc.source.name, os.path.abspath(inc.include.name), inc.depth))
    result.root = Node(tu.cursor, tu)
    return result


# ------------------------------------------------------------------------------------------------ the preamble

PREAMBLE_HEADERS = ("click/config.h", "click/element.hh")  # what 497 of Click's 516 element files include
_UNDEFINES = re.compile(r"^[ \t]*#[ \t]*undef[ \t]+([A-Za-z_]\w*)", re.M)
_IDENTIFIERS = re.compile(r"[A-Za-z_]\w*")
_CONFIG_FIRST = re.compile(r"\A(?:\s+|//[^\n]*|/\*.*?\*/)*#[ \t]*include[ \t]*<click/config\.h>", re.S)


@dataclass(frozen=True)
class Preamble:
    """Click's common headers, parsed once into a precompiled header (``-include-pch``) that every file of a
    library run can start from: a file's parse then costs a third of a plain one."""

    pch: str
    held: frozenset[str]  # every file the precompiled header holds
    reaches: dict[str, frozenset[str]]  # each of them: the held files it includes, at any depth (itself too)
    words: frozenset[str]  # every identifier the held files' text names
    entities: int  # how many preprocessing entities the preamble holds (a file's translation unit lists them first)
    macros: tuple[tuple[int, str], ...]  # its macro definitions among them: (index, name)

    def may_serve(self, path: str) -> bool:
        """Only a file whose first line of code includes ``<click/config.h>``, as the preamble does first."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                head = f.read(65536)
        except OSError:
            return False
        return _CONFIG_FIRST.match(head) is not None


def build_preamble(opts: ParseOptions, directory: str, headers: Sequence[str] = PREAMBLE_HEADERS) -> str | None:
    """Precompile ``headers`` (under ``click_root/include``) into ``directory``; the manifest's path, or None when
    there is no Click tree, when the flags come from a compilation database (they differ per file), or when the
    headers do not parse cleanly."""
    if not opts.click_root or opts.build_dir:
        return None
    include = os.path.join(os.path.abspath(opts.click_root), "include")
    if not all(os.path.isfile(os.path.join(include, h)) for h in headers):
        return None
    src = os.path.join(directory, "preamble.hh")
    with open(src, "w", encoding="utf-8") as f:
        f.writelines(f"#include <{h}>\n" for h in headers)
    args = ["c++-header" if a == "c++" else a for a in build_args(src, opts)]
    tu = ci.Index.create().parse(src, args=args, options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
                                 | ci.TranslationUnit.PARSE_INCOMPLETE | _FOR_SERIALIZATION)
    if any(d.severity in _SEVERITY for d in tu.diagnostics):
        return None
    edges: dict[str, set[str]] = {}
    for inc in tu.get_includes():
        if inc.include is not None:
            edges.setdefault(os.path.abspath(inc.source.name), set()).add(os.path.abspath(inc.include.name))
    tops = edges.pop(os.path.abspath(src), set())
    held = set(tops) | {f for v in edges.values() for f in v}
    reaches: dict[str, list[str]] = {}
    for h in sorted(held):
        seen, stack = {h}, [h]
        while stack:
            for n in edges.get(stack.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        reaches[h] = sorted(seen)
    words: set[str] = set()
    for h in held:
        with open(h, encoding="utf-8", errors="replace") as f:
            words.update(_IDENTIFIERS.findall(f.read()))
    entities = 0
    macros: list[tuple[int, str]] = []  # the preamble's macro definitions: (index among its entities, name)
    for c in tu.cursor.get_children():
        if c.kind not in _PREPROCESSING:
            break
        if c.kind == ci.CursorKind.MACRO_DEFINITION:
            macros.append((entities, c.spelling))
        entities += 1
    pch = os.path.join(directory, "preamble.pch")
    tu.save(pch)
    manifest = os.path.join(directory, "preamble.json")
    with open(manifest, "w", encoding="utf-8") as f:
        json.dump({"pch": pch, "held": sorted(held), "reaches": reaches, "words": sorted(words), "entities": entities,
                   "macros": macros}, f)
    return manifest


_FOR_SERIALIZATION = 0x10  # CXTranslationUnit_ForSerialization (not named by the Python bindings)
_PREPROCESSING = frozenset((ci.CursorKind.INCLUSION_DIRECTIVE, ci.CursorKind.MACRO_DEFINITION,
                            ci.CursorKind.MACRO_INSTANTIATION, ci.CursorKind.PREPROCESSING_DIRECTIVE))


@functools.lru_cache(maxsize=4)
def _load_preamble(manifest: str) -> Preamble | None:
    try:
        with open(manifest, encoding="utf-8") as f:
            doc = json.load(f)
        return Preamble(doc["pch"], frozenset(doc["held"]), {k: frozenset(v) for k, v in doc["reaches"].items()},
                        frozenset(doc["words"]), int(doc["entities"]), tuple((int(i), str(n)) for i, n in doc["macros"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _preamble_holds(tu: ci.TranslationUnit, path: str, pre: Preamble) -> bool:
    """Whether a parse on the preamble is the plain parse's equal.

    The plain parse reads the same headers once each (they are guarded), at the include directives of the
    file's own files that reach them.  It is the same parse when (1) those directives reach every header the
    preamble holds, and (2) no macro defined by the file's own files before the last of them, and none they
    ``#undef`` anywhere, is an identifier the held headers name: then those headers read the same in both
    parses.  What remains different is only the order in which guarded declarations are seen; a header's
    meaning cannot depend on a declaration made before it without naming it, and a name it uses but does not
    declare would have failed the preamble's own parse.  libclang lists the translation unit's preprocessing
    entities in the order the preprocessor met them."""
    own_path = os.path.abspath(path)
    own = {own_path}
    for inc in tu.get_includes():  # what was read outside the preamble
        if inc.include is not None:
            own.add(os.path.abspath(inc.include.name))
    own -= pre.held
    entered = {own_path}  # the own files the preprocessor entered before the last held header
    reached: set[str] = set()
    kids = Node(tu.cursor, tu).children()  # remembered: the analyses read the same list
    start = pre.entities  # the preamble's own preprocessing entities come first: skipped when they are there
    if start < len(kids) and kids[start].kind == "INCLUSION_DIRECTIVE" and kids[start].file == own_path:
        _memo(tu)[_LEADING] = pre  # (macro_definitions reads their names from the preamble)
    else:
        start = 0
    for n in kids[start:]:
        k = n.kind
        if k not in ("INCLUSION_DIRECTIVE", "MACRO_DEFINITION") or n.file not in own:
            continue
        if k == "MACRO_DEFINITION":
            if n.spelling in pre.words:
                return False
            continue
        got = n._c.get_included_file()
        name = os.path.abspath(got.name) if got is not None else ""
        if name in own:
            entered.add(name)
        elif name in pre.held:
            reached |= pre.reaches.get(name, frozenset((name,)))
            if reached >= pre.held:
                return not any(_undefines(f, pre.words) for f in entered)
    return False


def _undefines(path: str, words: frozenset[str]) -> bool:
    """Whether a file ``#undef``s one of ``words`` anywhere (or cannot be read)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(name in words for name in _UNDEFINES.findall(f.read()))
    except OSError:
        return True


class TypeView:
    """The facts of a clang type that checks use."""

    __slots__ = ("_t",)

    def __init__(self, t: ci.Type) -> None:
        self._t = t

    @property
    def spelling(self) -> str:
        return str(self._t.spelling)

    @property
    def kind(self) -> str:
        return str(self._t.kind.name)

    @property
    def canonical(self) -> TypeView:
        return TypeView(self._t.get_canonical())

    def pointee(self) -> TypeView | None:
        """The type a pointer or reference type points to (canonical), None for any other type."""
        t = self._t.get_canonical()
        if t.kind not in (ci.TypeKind.POINTER, ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE):
            return None
        return TypeView(t.get_pointee().get_canonical())

    def element_type(self) -> TypeView | None:
        """The element type of an array type (canonical), None for any other type."""
        t = self._t.get_canonical()
        if t.kind not in (ci.TypeKind.CONSTANTARRAY, ci.TypeKind.INCOMPLETEARRAY, ci.TypeKind.VARIABLEARRAY,
                          ci.TypeKind.DEPENDENTSIZEDARRAY):
            return None
        return TypeView(t.element_type.get_canonical())

    def size(self) -> int | None:
        """``sizeof`` this type for the parse's target, as clang lays it out (bit-fields, packing, C++ classes);
        None for an incomplete, dependent or variable-sized type."""
        try:
            n = int(self._t.get_size())
        except (ValueError, AttributeError):
            return None
        return n if n > 0 else None

    def is_const(self) -> bool:
        """True for a const type, or an array of const elements (a constant table)."""
        t = self._t.get_canonical()
        while t.kind in (ci.TypeKind.CONSTANTARRAY, ci.TypeKind.INCOMPLETEARRAY, ci.TypeKind.VARIABLEARRAY):
            if t.is_const_qualified():  # libclang puts an array's element const on the array type
                return True
            t = t.element_type
        return bool(t.is_const_qualified())

    def is_integer(self) -> bool:
        return self._t.get_canonical().kind in _INTEGER_TYPE_KINDS

    def is_pointer(self) -> bool:
        return self._t.get_canonical().kind == ci.TypeKind.POINTER

    def is_reference(self) -> bool:
        return self._t.get_canonical().kind in (ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE)

    def is_function_pointer(self) -> bool:
        t = self._t.get_canonical()
        if t.kind in (ci.TypeKind.POINTER, ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.MEMBERPOINTER):
            t = t.get_pointee().get_canonical()
        return t.kind in (ci.TypeKind.FUNCTIONPROTO, ci.TypeKind.FUNCTIONNOPROTO)

    def is_variable_array(self) -> bool:
        return self._t.get_canonical().kind in (ci.TypeKind.VARIABLEARRAY, ci.TypeKind.DEPENDENTSIZEDARRAY)

    def points_to_bytes(self) -> bool:
        """A pointer to (const) char, unsigned char, uint8_t or void: a view of raw bytes."""
        t = self._t.get_canonical()
        return t.kind == ci.TypeKind.POINTER and t.get_pointee().get_canonical().kind in _BYTE_TYPE_KINDS

    def declaration(self) -> Node | None:
        t = self._t.get_canonical()
        while t.kind in (ci.TypeKind.POINTER, ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE):
            t = t.get_pointee().get_canonical()
        d = t.get_declaration()
        return None if d is None or d.kind == ci.CursorKind.NO_DECL_FOUND else Node(d, None)


_MEMO = "_certify_memo"  # the attribute of a TranslationUnit holding what was read from its cursors


def _memo(tu: ci.TranslationUnit | None) -> dict[tuple[Any, ...], Any]:
    """What has been read from the cursors of one translation unit, kept on it (a cursor without its translation
    unit is not remembered: its addresses could be another unit's later).  The remembered nodes refer to the
    unit, so :func:`release` drops them when the unit's analysis is over (else only the cycle collector would)."""
    if tu is None:
        return {}
    memo: dict[tuple[Any, ...], Any] | None = getattr(tu, _MEMO, None)
    if memo is None:
        memo = {}
        setattr(tu, _MEMO, memo)
    return memo


def release(parsed: Parsed) -> None:
    """Forget what was read from ``parsed``'s cursors, so that its translation unit can be freed at once."""
    tu = parsed.root._tu if parsed.root is not None else None
    if tu is not None and hasattr(tu, _MEMO):
        delattr(tu, _MEMO)


def _append(child: ci.Cursor, parent: ci.Cursor, found: list[ci.Cursor]) -> int:
    found.append(child)
    return 1  # CXChildVisit_Continue


# the children visitor, made once (the bindings make one per call, and compare every child with the null cursor:
# two more foreign calls a child, a third of the time spent listing children)
_APPEND = ci.callbacks["cursor_visit"](_append)


class Node:
    """A read-only view of one libclang cursor."""

    # what was read from the cursor, kept on the view: the same nodes come back from children() to every check,
    # and each asks them for their kind, position, USR and references again
    __slots__ = ("_c", "_tu", "_kind", "_kids", "_where", "_usr", "_ref", "_def")

    def __init__(self, c: ci.Cursor, tu: ci.TranslationUnit | None) -> None:
        self._c = c
        self._tu = tu
        self._kind: str | None = None
        self._kids: list[Node] | None = None
        self._where: tuple[str, int, int] | None = None
        self._usr: str | None = None
        self._ref: Node | None | bool = False  # False: not read yet
        self._def: Node | None | bool = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self._c == other._c

    def __hash__(self) -> int:
        return hash(self._c.hash)

    def __repr__(self) -> str:
        return f"<Node {self.kind} {self.spelling!r} {self.file}:{self.line}>"

    @property
    def kind(self) -> str:
        if self._kind is None:
            try:
                self._kind = str(self._c.kind.name)
            except ValueError:  # a cursor kind this libclang build knows but the bindings do not
                self._kind = "UNKNOWN_KIND"
        return self._kind

    @property
    def spelling(self) -> str:
        return str(self._c.spelling or "")

    @property
    def displayname(self) -> str:
        """The declaration with its parameter types, e.g. ``operator==(const IPAddress &, const IPAddress &)``."""
        return str(self._c.displayname or "")

    @property
    def usr(self) -> str:
        if self._usr is None:
            self._usr = str(self._c.get_usr() or "")
        return self._usr

    def _position(self) -> tuple[str, int, int]:
        if self._where is None:
            loc = self._c.location
            f = loc.file
            self._where = (os.path.abspath(f.name) if f else "", int(loc.line), int(loc.column))
        return self._where

    @property
    def file(self) -> str:
        return self._position()[0]

    @property
    def line(self) -> int:
        return self._position()[1]

    @property
    def column(self) -> int:
        return self._position()[2]

    @property
    def extent(self) -> tuple[str, int, int]:
        """(file, first line, last line) of the cursor's extent."""
        e = self._c.extent
        f = e.start.file
        return (os.path.abspath(f.name) if f else "", int(e.start.line), int(e.end.line))

    @property
    def type(self) -> TypeView:
        return TypeView(self._c.type)

    @property
    def result_type(self) -> TypeView:
        return TypeView(self._c.result_type)

    def _wrap(self, c: ci.Cursor | None) -> Node | None:
        if c is None or c.kind.is_invalid():
            return None
        return Node(c, self._tu)

    @property
    def referenced(self) -> Node | None:
        if self._ref is False:
            self._ref = self._wrap(self._c.referenced)
        return self._ref  # type: ignore[return-value]

    @property
    def definition(self) -> Node | None:
        if self._def is False:
            self._def = self._wrap(self._c.get_definition())
        return self._def  # type: ignore[return-value]

    @property
    def semantic_parent(self) -> Node | None:
        return self._wrap(self._c.semantic_parent)

    @property
    def lexical_parent(self) -> Node | None:
        return self._wrap(self._c.lexical_parent)

    def _key(self) -> tuple[int, int, int, int, int]:
        c = self._c
        return (c._kind_id, c.xdata, c.data[0] or 0, c.data[1] or 0, c.data[2] or 0)

    def children(self) -> list[Node]:
        """The cursor's children, read from libclang once per translation unit (every analysis walks the same
        trees: the checks, the loop bounds, the costs, the guards)."""
        kids = self._kids
        if kids is None:
            memo = _memo(self._tu)
            key = ("c",) + self._key()
            kids = memo.get(key)
            if kids is None:
                tu = self._tu
                found: list[ci.Cursor] = []
                ci.conf.lib.clang_visitChildren(self._c, _APPEND, found)
                kids = memo[key] = [Node(c, tu) for c in found]
                ctu = self._c._tu
                for c in found:  # (what the bindings' get_children does: a cursor keeps its unit alive)
                    c._tu = ctu
            self._kids = kids
        return list(kids)

    def tokens(self) -> list[str]:
        memo = _memo(self._tu)
        key = ("t",) + self._key()
        toks = memo.get(key)
        if toks is None:
            toks = memo[key] = self._range_tokens()[1]
        return list(toks)

    def bitfield_width(self) -> int | None:
        """The width of a bit-field member, None for any other cursor."""
        try:
            return int(self._c.get_bitfield_width()) if self.kind == "FIELD_DECL" and self._c.is_bitfield() else None
        except (ValueError, AttributeError):
            return None

    def is_definition(self) -> bool:
        return bool(self._c.is_definition())

    def is_virtual(self) -> bool:
        return self.kind in ("CXX_METHOD", "DESTRUCTOR") and bool(self._c.is_virtual_method())

    def is_pure_virtual(self) -> bool:
        return self.kind == "CXX_METHOD" and bool(self._c.is_pure_virtual_method())

    def is_const_method(self) -> bool:
        return self.kind == "CXX_METHOD" and bool(self._c.is_const_method())

    def is_static_method(self) -> bool:
        return self.kind == "CXX_METHOD" and bool(self._c.is_static_method())

    def is_final(self) -> bool:
        return any(c.kind == ci.CursorKind.CXX_FINAL_ATTR for c in self._c.get_children())

    def storage(self) -> str:
        try:
            return str(self._c.storage_class.name)
        except (ValueError, AttributeError):
            return "INVALID"

    def is_extern_c(self) -> bool:
        """Declared inside an ``extern "C"`` block, or with C language linkage."""
        p = self._c.lexical_parent
        while p is not None and p.kind != ci.CursorKind.TRANSLATION_UNIT:
            if p.kind == ci.CursorKind.LINKAGE_SPEC:
                return True
            p = p.lexical_parent
        return False

    def qualified_name(self) -> str:
        """``Ns::Class::name`` (template arguments dropped); anonymous scopes are skipped."""
        parts = [self.spelling]
        p = self._c.semantic_parent
        while p is not None and p.kind != ci.CursorKind.TRANSLATION_UNIT and not p.kind.is_invalid():
            if p.spelling:
                parts.append(p.spelling)
            p = p.semantic_parent
        return "::".join(reversed(parts))

    def string_literal(self) -> str | None:
        """The value of a string literal cursor (adjacent literals joined), else None."""
        if self.kind != "STRING_LITERAL":
            return None
        out = []
        for tok in self._c.get_tokens():
            s = tok.spelling
            if s.startswith('"') and s.endswith('"'):
                out.append(s[1:-1])
        return "".join(out) if out else self.spelling.strip('"')

    def operator(self) -> str:
        """The operator of a unary, binary or compound-assignment cursor, from its tokens ('' if unknown).

        libclang 18 leaves these cursors' spelling empty; the operator is the first
        token after the left operand's extent (binary) or the first or last token (unary).
        Remembered per translation unit: tokenizing a long condition for each of its operators made the
        guard analysis quadratic (queueyanktest.cc: 7.5 million tokens, 26 s).
        """
        memo = _memo(self._tu)
        key = ("o",) + self._key()
        op = memo.get(key)
        if op is None:
            op = memo[key] = self._operator()
        return str(op)

    def _operator(self) -> str:
        if self.kind == "UNARY_OPERATOR":
            exact = _unary_operator(self._c)
            if exact is not None:
                return exact
            toks = list(self._c.get_tokens())
            if not toks:
                return ""
            first, last = toks[0].spelling, toks[-1].spelling
            if first in ("++", "--", "&", "*", "-", "+", "!", "~"):
                return first
            return last if last in ("++", "--") else ""
        kids = list(self._c.get_children())
        if not kids:
            return ""
        end = kids[0].extent.end.offset
        starts, spellings = self._range_tokens()
        i = bisect.bisect_left(starts, end)
        return spellings[i] if i < len(spellings) else ""

    def _range_tokens(self) -> tuple[list[int], list[str]]:
        """The start offsets and spellings of the tokens of the cursor's range, read once per range and
        translation unit.  Inside a macro expansion every cursor's range is the whole expansion: hmacsha1.cc's
        SHA-1 rounds tokenized the same few ranges 7.5 million token reads over (74 of its 78 s)."""
        ext = self._c.extent
        key = ("r", ext.begin_int_data, ext.end_int_data)  # the raw locations: a macro expansion's differ by spelling
        memo = _memo(self._tu)
        got = memo.get(key)
        if got is None:
            toks = list(self._c.get_tokens())
            got = memo[key] = ([t.location.offset for t in toks], [str(t.spelling) for t in toks])
        return got  # type: ignore[no-any-return]


@functools.cache
def _unary_functions() -> tuple[Any, Any] | None:
    """libclang's unary operator-kind functions (LLVM 17 and later; the Python bindings do not wrap them), typed
    for ctypes; None when the library lacks them."""
    lib = ci.conf.lib
    try:
        kind, spelling = lib.clang_getCursorUnaryOperatorKind, lib.clang_getUnaryOperatorKindSpelling
    except AttributeError:
        return None
    kind.argtypes, kind.restype = [ci.Cursor], ctypes.c_int
    spelling.argtypes, spelling.restype = [ctypes.c_int], ci._CXString
    return kind, spelling


@functools.lru_cache(maxsize=64)
def _unary_spelling(kind: int) -> str:
    fns = _unary_functions()
    assert fns is not None
    return str(ci.conf.lib.clang_getCString(fns[1](kind)))


def _unary_operator(c: ci.Cursor) -> str | None:
    """A unary operator cursor's operator from the AST's opcode ('' for an invalid one), or None when this
    libclang cannot say.  Exact inside macro expansions, where the tokens of the cursor's range are the
    expansion's: read from the tokens, a dereference in a macro (``FD_SET``, ``*((c)++)``) was not one, and
    escaped KS105."""
    fns = _unary_functions()
    if fns is None:
        return None
    k = int(fns[0](c))
    return _unary_spelling(k) if k else ""


_LEADING = ("preamble",)  # memo key: the preamble whose entities lead this unit's top-level list
_MACRO_DEFINITION = ci.CursorKind.MACRO_DEFINITION.value


def macro_definitions(root: Node) -> list[tuple[str, Node]]:
    """Every macro definition of a translation unit (``root``: its cursor), with its name, in the order the
    preprocessor met them.  A unit parsed on the preamble lists the preamble's entities first, in the preamble's
    order; their names come from the preamble's manifest (a name read from each of some 4,000 cursors cost a tenth
    of a file's analysis)."""
    kids = root.children()
    pre: Preamble | None = _memo(root._tu).get(_LEADING)
    out: list[tuple[str, Node]] = []
    start = 0
    if pre is not None:
        out = [(name, kids[i]) for i, name in pre.macros]
        start = pre.entities
    for n in kids[start:]:
        if n._c._kind_id == _MACRO_DEFINITION:
            out.append((n.spelling, n))
    return out


def walk_preorder(node: Node) -> Iterator[Node]:
    """Every cursor under ``node`` (itself included), depth first."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children()))


_DECLARATION_KINDS = frozenset(
    getattr(ci.CursorKind, k)
    for k in ("CLASS_DECL", "STRUCT_DECL", "CLASS_TEMPLATE", "FUNCTION_DECL", "CXX_METHOD", "CONSTRUCTOR", "DESTRUCTOR",
              "FUNCTION_TEMPLATE", "CONVERSION_FUNCTION")
)


def declarations_in(root: Node, files: Sequence[str]) -> list[Node]:
    """Class and function declarations written in ``files``, in source order.

    Found from the files' own tokens (libclang annotates each token with its
    cursor), which costs a few milliseconds, instead of visiting every
    top-level declaration of the translation unit (thousands, from headers).
    """
    tu = root._tu
    if tu is None:
        return []
    out: list[Node] = []
    seen: set[int] = set()
    for path in files:
        f = tu.get_file(path)
        size = os.path.getsize(path)
        extent = ci.SourceRange.from_locations(ci.SourceLocation.from_offset(tu, f, 0),
                                               ci.SourceLocation.from_offset(tu, f, size))
        for c in _annotated_cursors(tu, extent):
            if c.kind in _DECLARATION_KINDS and c.hash not in seen:
                seen.add(c.hash)
                out.append(Node(c, tu))
    return out


def _annotated_cursors(tu: ci.TranslationUnit, extent: ci.SourceRange) -> list[ci.Cursor]:
    """The cursor of every token in ``extent``, annotated in one libclang call.

    (``Token.cursor`` annotates one token per call, about 60 us each.)
    """
    memory = ctypes.POINTER(ci.Token)()
    count = ctypes.c_uint()
    ci.conf.lib.clang_tokenize(tu, extent, ctypes.byref(memory), ctypes.byref(count))
    n = count.value
    if n == 0:
        return []
    try:
        cursors = (ci.Cursor * n)()
        ci.conf.lib.clang_annotateTokens(tu, memory, n, ctypes.cast(cursors, ctypes.POINTER(ci.Cursor)))
        out = []
        for c in cursors:
            c._tu = tu
            out.append(c)
        return out
    finally:
        ci.conf.lib.clang_disposeTokens(tu, memory, n)
