"""Which inline assembly is plain register arithmetic: the one form KS401 lets through.

An ``asm`` statement is opaque to every other check, so KS401 reports it unless
its source text is, token for token, a widening multiply of registers -- the
form Click's ``int_multiply`` uses for 64-bit products (``include/click/integers.hh``)::

    __asm__("mul %2" : "=a" (lo), "=d" (hi) : "r" (a), "a" (b) : "cc");

Exactly: the keyword (``asm``/``__asm__``/``__asm``, optionally ``volatile``/
``__volatile__``, never ``goto``), one string literal holding one instruction
``mul``/``mull``/``mulq`` whose single operand ``%N`` names an input operand
with the constraint ``"r"`` (a register, never memory); the outputs are exactly
two, constrained ``"=a"`` and ``"=d"`` (the registers ``mul`` writes, so the
compiler knows every register the instruction changes); the other inputs are
constrained ``"a"``; the clobbers, if any, are ``"cc"`` only (no ``"memory"``).
An x86 ``mul`` with register operands reads and writes only those registers
and the flags, and cannot fault.  The operand expressions themselves (where
the outputs are stored, what the inputs read) are ordinary C++ expressions,
walked by every other check like any assignment.  Anything else -- another
instruction, two instructions, a memory or general (``"m"``, ``"g"``)
constraint, a macro around the statement, a template built from macros --
stays KS401.
"""

from __future__ import annotations

import re

_KEYWORDS = frozenset(("asm", "__asm__", "__asm"))
_QUALIFIERS = frozenset(("volatile", "__volatile__", "__volatile", "inline", "__inline__"))
_MULTIPLY = re.compile(r"\s*mul[lq]?\s+%(\d+)\s*")


def _string(tok: str) -> str | None:
    return tok[1:-1] if len(tok) >= 2 and tok[0] == tok[-1] == '"' and "\\" not in tok else None


def _sections(toks: list[str]) -> list[list[str]] | None:
    """The tokens between ``(`` and the matching ``)``, split at the top-level colons."""
    if not toks or toks[0] != "(":
        return None
    depth = 0
    out: list[list[str]] = []
    cur: list[str] = []
    for i, t in enumerate(toks):
        if t == "(":
            depth += 1
            if depth == 1:
                continue
        elif t == ")":
            depth -= 1
            if depth == 0:
                out.append(cur)
                rest = toks[i + 1:]
                return out if rest in ([], [";"]) else None
        if depth == 1 and t == ":":
            out.append(cur)
            cur = []
        elif depth == 1 and t == "::":  # "a" :: "memory" is lexed as one token
            out.extend([cur, []])
            cur = []
        else:
            cur.append(t)
    return None


def _operands(section: list[str]) -> list[str] | None:
    """The constraint strings of ``"c" (expr), "c" (expr)``."""
    out, i = [], 0
    while i < len(section):
        c = _string(section[i])
        if c is None or i + 1 >= len(section) or section[i + 1] != "(":
            return None
        depth, j = 0, i + 1
        while j < len(section):
            depth += {"(": 1, ")": -1}.get(section[j], 0)
            if depth == 0:
                break
            j += 1
        out.append(c)
        i = j + 1
        if i < len(section):
            if section[i] != ",":
                return None
            i += 1
    return out


def register_multiply(tokens: list[str]) -> bool:
    """``tokens`` (of an asm statement) are exactly the register multiply described above."""
    if not tokens or tokens[0] not in _KEYWORDS:
        return False
    i = 1
    while i < len(tokens) and tokens[i] in _QUALIFIERS:
        i += 1
    parts = _sections(tokens[i:])
    if parts is None or not 3 <= len(parts) <= 4:  # template : outputs : inputs [: clobbers]
        return False
    template = _string(parts[0][0]) if len(parts[0]) == 1 else None
    m = _MULTIPLY.fullmatch(template or "")
    outputs, inputs = _operands(parts[1]), _operands(parts[2])
    clobbers = parts[3] if len(parts) == 4 else []
    if m is None or outputs is None or inputs is None:
        return False
    if sorted(outputs) != ["=a", "=d"]:
        return False
    n = int(m.group(1)) - len(outputs)
    if not 0 <= n < len(inputs) or inputs[n] != "r":
        return False
    if any(c != "a" for k, c in enumerate(inputs) if k != n):
        return False
    return all(t == "," or _string(t) == "cc" for t in clobbers)
