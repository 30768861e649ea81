"""Loop-bound annotations: where they come from, which loop they belong to, and when they are wrong.

What it decides: the annotated maximum of a loop, from (in this order of precedence)
an external annotations file (for code you cannot edit; keyed by file, function
and loop line), a ``// certify: loopbound N`` comment on the loop's line or the
line above, or the WCET community's ``_Pragma("loopbound min A max B")`` (also
``#pragma loopbound ...``) on one of the two lines before the loop keyword or on
its line.  An annotated bound is trusted, reported with status ``annotated`` and
listed, never ``exact``.  When the analysis proves an exact bound that is
provably larger than the annotated maximum (or smaller than its minimum), the
annotation is contradicted: rule KS501.

The external file is YAML or JSON: ``{"loopbounds": [{"file": "a.c", "function":
"f", "line": 12, "bound": "n/2"}]}`` (``file`` matches by path suffix).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import sympy
import yaml
from sympy import Expr

_PRAGMA = re.compile(r'(?:_Pragma\s*\(\s*"|#\s*pragma\s+)loopbound\s+min\s+(\S+)\s+max\s+([^"\s)]+)')
_COMMENT = re.compile(r"//\s*certify:\s*loopbound\s+(.+?)(?=\s{2,}|\s+\w+:|\s*$)")


@dataclass(frozen=True)
class Annotation:
    max: Expr
    min: Expr | None
    source: str  # pragma | comment | file
    text: str


@dataclass(frozen=True)
class ExternalBound:
    file: str
    function: str
    line: int
    bound: Expr
    text: str


class AnnotationError(ValueError):
    """A malformed annotations file; ``where`` is ``file:line:col``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: error: {message}")
        self.where = where


def _expr(text: str) -> Expr | None:
    try:
        e = sympy.sympify(text, locals={"ceil": sympy.ceiling})
    except (sympy.SympifyError, SyntaxError, TypeError):
        return None
    if not isinstance(e, Expr):
        return None
    return e.xreplace({s: sympy.Symbol(s.name, integer=True) for s in e.free_symbols})


def load_external(path: str) -> list[ExternalBound]:
    """Read an annotations file; raises OSError or :class:`AnnotationError`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        line = getattr(e, "lineno", None) or (mark.line + 1 if mark is not None else 1)
        raise AnnotationError(f"{path}:{line}:1", f"not valid YAML or JSON: {e}") from None
    entries = doc.get("loopbounds") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise AnnotationError(f"{path}:1:1", "expected a mapping with a 'loopbounds' list")
    out: list[ExternalBound] = []
    for i, entry in enumerate(entries):
        where = f"{path}:1:1"
        if not isinstance(entry, dict) or not all(k in entry for k in ("file", "function", "line", "bound")):
            raise AnnotationError(where, f"loopbounds[{i}] needs file, function, line and bound")
        bound = _expr(str(entry["bound"]))
        if bound is None or not isinstance(entry["line"], int):
            raise AnnotationError(where, f"loopbounds[{i}]: bound must be an expression and line an integer")
        out.append(ExternalBound(str(entry["file"]), str(entry["function"]), entry["line"], bound, str(entry["bound"])))
    return out


def in_source(lines: list[str], loop_line: int) -> Annotation | None:
    """The comment or pragma annotation of the loop whose keyword is on ``loop_line`` (1-based)."""
    for ln in (loop_line, loop_line - 1):
        if 0 < ln <= len(lines):
            m = _COMMENT.search(lines[ln - 1])
            if m:
                e = _expr(m.group(1))
                if e is not None:
                    return Annotation(e, None, "comment", m.group(0))
    for ln in (loop_line, loop_line - 1):
        if 0 < ln <= len(lines):
            m = _PRAGMA.search(lines[ln - 1])
            if m and (ln < loop_line or lines[ln - 1].find(m.group(0)) < _keyword_col(lines[ln - 1])):
                hi, lo = _expr(m.group(2)), _expr(m.group(1))
                if hi is not None:
                    return Annotation(hi, lo, "pragma", m.group(0).strip())
    return None


def _keyword_col(line: str) -> int:
    m = re.search(r"\b(for|while|do)\b", line)
    return m.start() if m else len(line)


def external_for(bounds: list[ExternalBound], file: str, function: str, line: int) -> Annotation | None:
    for b in bounds:
        if b.line == line and (b.function == function or function.endswith("::" + b.function)) and \
                os.path.abspath(file).endswith(os.path.normpath(b.file).lstrip("./")):
            return Annotation(b.bound, None, "file", b.text)
    return None


def contradiction(proven: Expr, status: str, ann: Annotation) -> bool:
    """True when an exact proven bound is provably above the annotated max or below its min."""
    if status != "exact":
        return False
    above = sympy.simplify(proven - ann.max).is_positive
    below = ann.min is not None and sympy.simplify(ann.min - proven).is_positive
    return bool(above) or bool(below)
