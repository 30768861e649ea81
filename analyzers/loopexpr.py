"""Source expressions to sympy: constants, named symbols, and what cannot be expressed.

What it decides: the value of a C or C++ expression as a sympy expression over
named symbols, or ``None`` when the value depends on data we do not model
(array elements, pointer targets, function results, floating point).

How, per node kind (through :class:`analyzers.frontend.Node` only):
- integer and character literals: read from the source text at the node's
  location (libclang 18 leaves literal spellings empty, and tokens over macro
  extents are unreliable, PITFALLS.md);
- ``#define`` constants: an expression that sits entirely inside one macro
  expansion is evaluated from the macro's own tokens (object-like macros whose
  bodies are integer arithmetic over literals and other such macros);
- enum constants, ``const``/``constexpr`` variables with an initializer: their
  initializer's value (an enum constant without one: the previous one plus 1);
- parameters, members, non-constant globals: a symbol named after the source
  expression (``_n``, ``this->_n`` -> ``_n``, ``p->length()`` -> ``p_length``,
  ``_v.size()`` -> ``_v_size``); unsigned ones and ``length()``/``size()``
  results are declared nonnegative;
- local variables: resolved by the caller's ``local`` callback (straight-line
  definitions before the loop, enclosing loop variables);
- ``sizeof``: clang's own size for the parse's target where it knows one (records
  included: bit-fields, packing, C++ classes); otherwise basic types by their size
  on LP64, arrays as count times element size, other types as a positive symbol (so ``sizeof a / sizeof a[0]`` is exact);
- ``c ? a : b``: either value, through the caller's ``choice`` callback (a symbol the loop
  extractor tries with each value in turn); an assignment ``a = e``: the value of ``e``;
- arithmetic ``+ - * / % << >>`` and unary minus; ``/`` as floor division (C
  truncation differs only for negative operands, documented in docs/bounds.md).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy
from sympy import Expr, Integer

from analyzers.frontend import Node, macro_definitions

WRAPPERS = frozenset(("UNEXPOSED_EXPR", "PAREN_EXPR", "CSTYLE_CAST_EXPR", "CXX_STATIC_CAST_EXPR",
                      "CXX_FUNCTIONAL_CAST_EXPR", "CXX_CONST_CAST_EXPR"))
SIZE_METHODS = frozenset(("length", "size", "count", "capacity", "nitems", "ninputs", "noutputs", "headroom",
                          "tailroom", "buffer_length", "network_length", "transport_length", "ip_header_length"))
_PACKET_CLASSES = frozenset(("Packet", "WritablePacket"))
# a packet's lengths that are at most its length (ip_header_length, network_header_length, headroom, tailroom,
# buffer_length are not: they can reach the buffer's end)
_PACKET_LENGTHS = frozenset(("length", "network_length", "transport_length"))
_BASIC_SIZES = {"char": 1, "signed char": 1, "unsigned char": 1, "bool": 1, "_Bool": 1, "short": 2,
                "unsigned short": 2, "int": 4, "unsigned int": 4, "unsigned": 4, "long": 8, "unsigned long": 8,
                "long long": 8, "unsigned long long": 8, "float": 4, "double": 8, "long double": 16,
                "uint8_t": 1, "int8_t": 1, "uint16_t": 2, "int16_t": 2, "uint32_t": 4, "int32_t": 4,
                "uint64_t": 8, "int64_t": 8, "size_t": 8, "ssize_t": 8}
_UNSIGNED_WORDS = ("unsigned", "size_t", "uint", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "bool")
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)[uUlL]*\b")
_FLOAT = re.compile(r"((?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)([fFlL]?)")
_CHAR = re.compile(r"'(\\?.)'")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_TOKEN = re.compile(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|'(?:\\?.)'|\S")
_ESCAPES = {"n": 10, "t": 9, "0": 0, "r": 13, "\\": 92, "'": 39}


def is_unsigned_type(spelling: str) -> bool:
    s = spelling.replace("const ", "").strip()
    return any(s == w or s.startswith(w + " ") or s.startswith(w) and w.endswith("_t") for w in _UNSIGNED_WORDS)


def strip(n: Node, kinds: frozenset[str] = WRAPPERS) -> Node:
    """The node under parentheses, implicit conversions and casts (or only under ``kinds``)."""
    while n.kind in kinds:
        kids = n.children()
        if not kids:
            break
        n = kids[-1]
    return n


def _int_of(text: str) -> int | None:
    m = _NUMBER.match(text)
    if m:
        t = m.group(1)
        if t.lower().startswith("0x"):
            return int(t, 16)
        if t.lower().startswith("0b"):
            return int(t[2:], 2)
        return int(t, 8) if len(t) > 1 and t.startswith("0") else int(t)
    c = _CHAR.match(text)
    if c:
        ch = c.group(1)
        return _ESCAPES.get(ch[1], ord(ch[1])) if ch.startswith("\\") else ord(ch)
    return None


@dataclass
class Sources:
    """File texts and the object-like macros of a translation unit."""

    macros: dict[str, list[str]] = field(default_factory=dict)  # read so far (and -D definitions)
    _defined: dict[str, list[Node]] = field(default_factory=dict)  # not read yet: name -> definitions, in order
    _lines: dict[str, list[str]] = field(default_factory=dict)

    def line(self, path: str, line: int) -> str:
        if path not in self._lines:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    self._lines[path] = f.read().splitlines()
            except OSError:
                self._lines[path] = []
        lines = self._lines[path]
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def text_at(self, n: Node) -> str:
        return self.line(n.file, n.line)[max(0, n.column - 1):] if n.file else ""

    def add_macros(self, root: Node) -> None:
        """Note the translation unit's macro definitions; each is read (tokenized) only when a lookup needs it.

        A translation unit of Click defines thousands of macros and a loop bound names a handful: tokenizing
        them all took a third of a file's analysis."""
        for name, c in macro_definitions(root):
            self._defined.setdefault(name, []).append(c)

    def macro_tokens(self, name: str) -> list[str] | None:
        """The replacement tokens of object-like macro ``name`` (its last object-like definition), else None."""
        if name not in self.macros:
            for c in reversed(self._defined.pop(name, [])):
                toks = c.tokens()
                if len(toks) >= 2 and toks[0] == c.spelling and not (toks[1] == "(" and self._function_like(c)):
                    self.macros[name] = toks[1:]
                    break
        return self.macros.get(name)

    def _function_like(self, c: Node) -> bool:
        text = self.text_at(c)
        return text.startswith(c.spelling + "(")

    def add_defines(self, defines: tuple[str, ...]) -> None:
        """Command-line ``-D NAME[=VALUE]`` macros (libclang gives no tokens for them)."""
        for d in defines:
            name, _, value = d.partition("=")
            if _IDENT.fullmatch(name):
                self.macros[name] = _TOKEN.findall(value) if value else ["1"]

    def macro_value(self, name: str, depth: int = 0, names: dict[str, Expr] | None = None) -> Expr | None:
        """The value of object-like macro ``name``; identifiers that are not macros come from ``names``."""
        toks = self.macro_tokens(name)
        if toks is None or depth > 8:
            return None
        known = names or {}
        return _eval_tokens(toks, lambda ident: known.get(ident) if ident in known and self.macro_tokens(ident) is None
                            else self.macro_value(ident, depth + 1, names))


def _eval_tokens(toks: list[str], lookup: Callable[[str], Expr | None]) -> Expr | None:
    """Integer arithmetic over literal tokens and identifiers (through ``lookup``); None otherwise."""
    out: list[str] = []
    env: dict[str, Expr] = {}
    for i, t in enumerate(toks):
        if t in ("(", ")", "+", "-", "*", "/", "%", "<<", ">>"):
            out.append({"/": "//", "<<": "*2**", ">>": "//2**"}.get(t, t))
        elif _int_of(t) is not None:
            out.append(str(_int_of(t)))
        elif _IDENT.fullmatch(t) and not (t in ("unsigned", "int", "long") and i > 0 and toks[i - 1] == "("):
            v = lookup(t)
            if v is None:
                return None
            key = f"_m{len(env)}"
            env[key] = v
            out.append(key)
        else:
            return None
    if not out:
        return None
    try:
        value = sympy.sympify(" ".join(out), locals=env)
    except (sympy.SympifyError, SyntaxError, TypeError, ZeroDivisionError):
        return None
    return value if isinstance(value, Expr) else None


def symbol_name(n: Node) -> str:
    """``p->length()`` -> ``p_length``, ``this->_n`` -> ``_n``, ``_v.size()`` -> ``_v_size``."""
    words = [t for t in n.tokens() if _IDENT.fullmatch(t) and t != "this"]
    return "_".join(words) or n.spelling or "v"


LocalResolver = Callable[[Node, Node], Expr | None]  # (declaration, use) -> value at the use


@dataclass
class Converter:
    """Turns expression nodes into sympy expressions; one per translation unit."""

    sources: Sources
    local: LocalResolver
    symbols: dict[str, sympy.Symbol] = field(default_factory=dict)  # name (+ if nonnegative) -> symbol
    global_syms: dict[str, Node] = field(default_factory=dict)  # symbol name -> global's declaration
    member_syms: dict[str, set[str]] = field(default_factory=dict)  # symbol name -> field keys (whole program)
    bit_widths: dict[str, int | None] = field(default_factory=dict)  # member symbol -> unsigned bit-field width
    # symbol names read from a packet's length accessors (p->length(), network_length(), transport_length()), and
    # names made from anything else: a packet length only when the name never stood for anything else
    packet_syms: set[str] = field(default_factory=set)
    other_syms: set[str] = field(default_factory=set)
    choice: Callable[[list[Expr]], Expr | None] | None = None  # c ? a : b -> a symbol standing for a or b
    # symbol name -> USRs of the members and globals it reads (``_n``, ``_v_size`` of member ``_v``): what a write
    # on the packet path must not change for a bound over it to hold (analyzers.element_bounds)
    symbol_decls: dict[str, set[str]] = field(default_factory=dict)
    _decl_cache: dict[str, Expr | None] = field(default_factory=dict)

    def read_from(self, sym: sympy.Symbol, decl: Node | None) -> sympy.Symbol:
        """``sym`` stands for a value read from the member or global ``decl`` (kept in :attr:`symbol_decls`)."""
        if decl is not None and decl.usr:
            self.symbol_decls.setdefault(sym.name, set()).add(decl.usr)
        return sym

    def symbol(self, name: str, nonnegative: bool = False) -> sympy.Symbol:
        name = re.sub(r"\W", "_", name)
        key = name + ("+" if nonnegative else "")
        if key not in self.symbols:
            self.symbols[key] = sympy.Symbol(name, integer=True, nonnegative=True) if nonnegative \
                else sympy.Symbol(name, integer=True)
        return self.symbols[key]

    def macro_expansion(self, n: Node) -> Expr | None:
        """The value of ``n`` when it lies entirely inside one macro expansion, else None."""
        if n.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR", "CALL_EXPR"):
            return None  # a name inside an expansion is a leaf of it, never the whole macro
        m = _IDENT.match(self.sources.text_at(n))
        if not m or self.sources.macro_tokens(m.group(0)) is None:
            return None
        if n.kind not in ("INTEGER_LITERAL", "PAREN_EXPR", "CHARACTER_LITERAL", "UNEXPOSED_EXPR",
                          "CSTYLE_CAST_EXPR"):
            if any((c.line, c.column) != (n.line, n.column) for c in n.children()):
                return None
        names: dict[str, Expr] = {}
        stack = n.children()
        while stack:  # variables the macro mentions are real cursors under n
            c = stack.pop()
            if c.kind == "DECL_REF_EXPR":
                v = self.expr(c)
                if v is not None:
                    names[c.spelling] = v
            else:
                stack.extend(c.children())
        return self.sources.macro_value(m.group(0), 0, names)

    def expr(self, n: Node, depth: int = 0) -> Expr | None:
        if depth > 40:
            return None
        via_macro = self.macro_expansion(n)
        if via_macro is not None:
            return via_macro
        k = n.kind
        if k in WRAPPERS:
            kids = n.children()
            return self.expr(kids[-1], depth + 1) if kids else None
        if k in ("INTEGER_LITERAL", "CHARACTER_LITERAL"):
            v = _int_of(self.sources.text_at(n))
            if v is None:
                toks = n.tokens()
                v = _int_of(toks[0]) if toks else None
            return Integer(v) if v is not None else None
        if k == "FLOATING_LITERAL":
            m = _FLOAT.match(self.sources.text_at(n))
            if not m:
                return None
            value = float(m.group(1))
            if m.group(2) in ("f", "F"):
                value = struct.unpack("f", struct.pack("f", value))[0]
            return sympy.Rational(value)
        if k == "CXX_BOOL_LITERAL_EXPR":
            toks = n.tokens()
            return Integer(1 if toks and toks[0] == "true" else 0)
        if k == "BINARY_OPERATOR":
            kids = n.children()
            if len(kids) != 2:
                return None
            if n.operator() == "=":  # an assignment's value is the value assigned (a = b = 7)
                return self.expr(kids[1], depth + 1)
            a, b = self.expr(kids[0], depth + 1), self.expr(kids[1], depth + 1)
            return _binary(n.operator(), a, b)
        if k == "UNARY_OPERATOR":
            kids = n.children()
            op = n.operator()
            if op in ("-", "+") and kids:
                v = self.expr(kids[0], depth + 1)
                return None if v is None else (-v if op == "-" else v)
            return None
        if k == "CXX_UNARY_EXPR":
            return self.size_of(n)
        if k == "CONDITIONAL_OPERATOR":
            kids = n.children()
            if len(kids) != 3:
                return None
            a, b = self.expr(kids[1], depth + 1), self.expr(kids[2], depth + 1)
            if a is None or b is None:
                return None
            if a == b:
                return a
            return self.choice([a, b]) if self.choice is not None else None
        if k == "DECL_REF_EXPR":
            d = n.referenced
            return None if d is None else self.declared(d, n, depth)
        if k == "MEMBER_REF_EXPR":
            d = n.referenced
            if d is not None and d.kind in ("FIELD_DECL", "VAR_DECL") and not n.type.is_pointer():
                if d.kind == "VAR_DECL" and d.type.is_const():
                    return self.const_value(d, depth)
                name = symbol_name(n)
                self.other_syms.add(name)
                if d.kind == "FIELD_DECL":
                    self.member_syms.setdefault(name, set()).add(d.usr)
                    # an unsigned bit-field of w bits holds 0 .. 2^w - 1 (None: the name also means another member)
                    w = d.bitfield_width() if is_unsigned_type(d.type.canonical.spelling) else None
                    if self.bit_widths.get(name, w) != w:
                        w = None
                    self.bit_widths[name] = w
                return self.read_from(self.symbol(name, is_unsigned_type(n.type.spelling)), d)
            return None
        if k == "ARRAY_SUBSCRIPT_EXPR":
            return self.member_element(n, depth)
        if k == "CALL_EXPR":
            callee = n.referenced
            kids = n.children()
            if callee is not None and callee.kind == "CXX_METHOD" and callee.spelling in SIZE_METHODS \
                    and len(kids) == 1 and callee.is_const_method():
                obj = strip(kids[0]).children() if strip(kids[0]).kind == "MEMBER_REF_EXPR" else []
                name = symbol_name(n)
                owner = callee.semantic_parent
                packet = owner is not None and owner.spelling in _PACKET_CLASSES and callee.spelling in _PACKET_LENGTHS
                (self.packet_syms if packet else self.other_syms).add(re.sub(r"\W", "_", name))
                return self.read_from(self.symbol(name, True), root_decl(obj[0]) if obj else None)
            return None
        return None

    def member_element(self, n: Node, depth: int) -> Expr | None:
        """``s->a[2]``: an element of a member array at a constant index, a symbol like a member's."""
        kids = n.children()
        if len(kids) != 2 or not n.type.is_integer():
            return None
        base = strip(kids[0])
        d = base.referenced if base.kind == "MEMBER_REF_EXPR" else None
        if d is None or d.kind != "FIELD_DECL" or d.type.canonical.kind != "CONSTANTARRAY":
            return None
        index = self.expr(kids[1], depth + 1)
        if index is None or not index.is_number or not index.is_integer or index < 0:
            return None
        name = f"{symbol_name(base)}_{int(index)}"
        self.other_syms.add(name)
        self.member_syms.setdefault(name, set()).add(f"{d.usr}[{int(index)}]")
        return self.read_from(self.symbol(name, is_unsigned_type(n.type.spelling)), d)

    def declared(self, d: Node, use: Node, depth: int) -> Expr | None:
        if d.kind == "ENUM_CONSTANT_DECL":
            return self.enum_value(d)
        if d.kind == "PARM_DECL":
            return self.symbol(d.spelling, is_unsigned_type(d.type.canonical.spelling))
        if d.kind != "VAR_DECL":
            return None
        if d.type.is_const() and not d.type.is_reference():
            v = self.const_value(d, depth)
            if v is not None:
                return v
        parent = d.semantic_parent
        if parent is not None and parent.kind in ("TRANSLATION_UNIT", "NAMESPACE", "CLASS_DECL", "STRUCT_DECL") \
                or d.storage() == "STATIC":
            if not d.type.is_integer():
                return None
            name = d.spelling
            self.global_syms[name] = d
            return self.read_from(self.symbol(name, is_unsigned_type(d.type.canonical.spelling)), d)
        return self.local(d, use)

    def const_value(self, d: Node, depth: int) -> Expr | None:
        key = d.usr or f"{d.file}:{d.line}:{d.column}"
        if key not in self._decl_cache:
            self._decl_cache[key] = None  # a cycle resolves to unknown
            init = initializer(d)
            self._decl_cache[key] = None if init is None else self.expr(init, depth + 1)
        return self._decl_cache[key]

    def enum_value(self, d: Node) -> Expr | None:
        kids = d.children()
        if kids:
            return self.const_value(d, 0)
        parent = d.semantic_parent
        if parent is None:
            return None
        prev: Node | None = None
        for c in parent.children():
            if c == d:
                break
            if c.kind == "ENUM_CONSTANT_DECL":
                prev = c
        if prev is None:
            return Integer(0)
        v = self.enum_value(prev)
        return None if v is None else v + 1

    def size_of(self, n: Node) -> Expr | None:
        toks = n.tokens()
        if not toks or toks[0] != "sizeof":
            return None
        kids = n.children()
        refs = [c for c in kids if c.kind == "TYPE_REF"]
        kids = [c for c in kids if c.kind != "TYPE_REF"]
        if kids:
            e = strip(kids[0])
            known = e.type.canonical.size()  # clang's own layout for the parse's target
            if known is not None:
                return Integer(known)
            laid = self.layout(e.type.canonical.spelling, _record_decl(e))
            if laid is not None:
                return Integer(laid[0])
            basic = self.type_size(e.type.canonical.spelling)
            return basic if basic is not None and basic.is_number else self.type_size(e.type.spelling)
        if refs and refs[0].referenced is not None:
            ref = refs[0].referenced
            if not {"*", "[", "(", "&"} & set(toks[2:-1]) and len(refs) == 1:  # sizeof (T): clang's layout
                known = ref.type.canonical.size()
                if known is not None:
                    return Integer(known)
            laid = self.layout(ref.type.canonical.spelling, ref)
            if laid is not None and not {"*", "[", "("} & set(toks[2:-1]):  # sizeof (T), not (T *) or (T[2])
                return Integer(laid[0])
        inner = " ".join(toks[2:-1]) if len(toks) > 3 and toks[1] == "(" else ""
        return self.type_size(inner) if inner else None

    def layout(self, spelling: str, decl: Node | None, depth: int = 0) -> tuple[int, int] | None:
        """(size, alignment) of a C type on LP64 (x86-64 System V), records laid out field by field.

        None for anything not modelled: bit-fields, attributes (packed, aligned), flexible array
        members, C++ classes (bases, methods, virtual tables), unknown typedef names.
        """
        s = re.sub(r"\b(const|volatile)\s+", "", spelling).strip()
        if depth > 8:
            return None
        m = re.fullmatch(r"(.*?)\s*\[(\d+)\]((?:\[\d+\])*)", s)
        if m:
            inner = self.layout(m.group(1) + m.group(3), decl, depth + 1)
            return None if inner is None else (int(m.group(2)) * inner[0], inner[1])
        if s.endswith("*"):
            return (8, 8)
        if s in _BASIC_SIZES:
            size = _BASIC_SIZES[s]
            return (size, size)
        if s.startswith("enum "):
            return (4, 4)
        if decl is None:
            return None
        rec = decl.type.canonical.declaration() if decl.kind not in ("STRUCT_DECL", "UNION_DECL") else decl
        if rec is None or rec.kind not in ("STRUCT_DECL", "UNION_DECL"):
            return None
        rec = rec.definition or rec
        offset = size = align = 0
        fields = 0
        for c in rec.children():
            if c.kind in ("STRUCT_DECL", "UNION_DECL", "ENUM_DECL"):
                continue
            if c.kind != "FIELD_DECL" or ":" in c.tokens() or "[" in c.type.canonical.spelling \
                    and "[]" in c.type.canonical.spelling.replace(" ", ""):
                return None
            inner_decl = next((k.referenced for k in c.children() if k.kind == "TYPE_REF"), None) or \
                next((k for k in c.children() if k.kind in ("STRUCT_DECL", "UNION_DECL")), None)
            laid = self.layout(c.type.canonical.spelling, inner_decl, depth + 1)
            if laid is None:
                return None
            fsize, falign = laid
            fields += 1
            align = max(align, falign)
            if rec.kind == "UNION_DECL":
                size = max(size, fsize)
            else:
                offset = -(-offset // falign) * falign + fsize
                size = offset
        if not fields:
            return None
        return (-(-size // align) * align, align)

    def type_size(self, spelling: str) -> Expr | None:
        s = re.sub(r"\b(const|volatile|struct|union|enum)\b", "", spelling).strip()
        s = re.sub(r"\s+", " ", s)
        m = re.fullmatch(r"(.*?)\s*\[(\d+)\]((?:\[\d+\])*)", s)
        if m:
            inner = self.type_size(m.group(1) + m.group(3))
            return None if inner is None else int(m.group(2)) * inner
        if s.endswith("*"):
            return Integer(8)
        if s in _BASIC_SIZES:
            return Integer(_BASIC_SIZES[s])
        if not s or "[" in s:
            return None
        return sympy.Symbol("sizeof_" + re.sub(r"\W", "_", s), integer=True, positive=True)


def root_decl(n: Node, depth: int = 0) -> Node | None:
    """The member or global an object expression reads: ``_v`` (``this->_v``, ``ar->_v``) -> member ``_v``,
    ``g_table`` -> global ``g_table``, a local reference or pointer initialized from one (``const V &r = _v``,
    ``V *vp = &_v``) -> that one; None for another local, a parameter or a computed object."""
    n = strip(n)
    if depth > 8:
        return None
    if n.kind == "UNARY_OPERATOR" and n.operator() in ("&", "*") and n.children():
        return root_decl(n.children()[0], depth + 1)
    if n.kind == "MEMBER_REF_EXPR":
        d = n.referenced
        return d if d is not None and d.kind in ("FIELD_DECL", "VAR_DECL") else None
    if n.kind == "DECL_REF_EXPR":
        d = n.referenced
        if d is None or d.kind != "VAR_DECL":
            return None
        parent = d.semantic_parent
        if parent is not None and parent.kind in ("TRANSLATION_UNIT", "NAMESPACE", "CLASS_DECL", "STRUCT_DECL") \
                or d.storage() == "STATIC":
            return d
        if d.type.is_reference() or d.type.is_pointer():
            init = initializer(d)
            return root_decl(init, depth + 1) if init is not None else None
    return None


def _record_decl(e: Node) -> Node | None:
    """The declaration of the record an expression's type is (or is an array of), if found."""
    d = e.type.canonical.declaration()
    if d is not None and d.kind in ("STRUCT_DECL", "UNION_DECL") and not e.type.is_pointer():
        return d
    v = e.referenced if e.kind in ("DECL_REF_EXPR", "MEMBER_REF_EXPR") else None
    if v is not None:
        return next((k.referenced for k in v.children() if k.kind == "TYPE_REF"), None)
    return None


def initializer(d: Node) -> Node | None:
    """The initializer expression of a variable or enum constant declaration, if any."""
    for c in reversed(d.children()):
        if c.kind not in ("TYPE_REF", "NAMESPACE_REF", "TEMPLATE_REF") and not c.kind.endswith("_ATTR"):
            return c
    return None


def _binary(op: str, a: Expr | None, b: Expr | None) -> Expr | None:
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/" and b != 0:
        return sympy.floor(a / b) if not (a.is_number and b.is_number) else Integer(int(int(a) / int(b)))
    if op == "%" and b.is_number and b != 0:
        if a.is_number:
            return Integer(int(sympy.Mod(abs(int(a)), abs(int(b)))) * (1 if int(a) >= 0 else -1))
        return None
    if op == "<<" and b.is_number:
        return a * 2 ** int(b)
    if op == ">>" and b.is_number:
        return sympy.floor(a / 2 ** int(b)) if not a.is_number else Integer(int(a) >> int(b))
    return None


def relpath(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
