"""``certify bounds FILE...``: loop bounds and function costs of any C or C++ file, as text or JSON.

Decides the command's input checks, output shapes and exit status; the analysis is
:mod:`analyzers.bounds`.  Exit 0: analyzed (unbounded loops are results, not
errors); 2: bad input (a missing file, a parse error, a bad annotations file),
reported as one ``file:line:col: error: ...`` line on stderr, never a traceback.

JSON (DESIGN.md): ``{"loops": [{"file", "line", "column", "function", "kind",
"bound", "bound_symbolic", "status", ...}], "functions": [{"name", "file", "line",
"cost"}]}``, plus the added fields ``total``, ``reason`` and ``annotation`` per
loop and a ``findings`` list.  Text: one line per loop, then one per function,
then the findings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> None:
    """Add the ``bounds`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("bounds", help="loop bounds and worst-case cost of C or C++ functions",
                              description="Bound every for/while/do loop and cost every function of C or C++ files.")
    p.add_argument("files", nargs="+", metavar="FILE", help="C or C++ source files")
    p.add_argument("-I", dest="includes", action="append", default=[], metavar="DIR", help="add an include directory")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="MACRO[=VALUE]", help="define a macro")
    p.add_argument("--whole-program", action="store_true",
                   help="the files are the whole program: substitute constants from call sites and globals")
    p.add_argument("--annotations", metavar="FILE", help="external loop-bound annotations (YAML or JSON)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run, func=run)


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from analyzers import annotations as ann
    from analyzers.bounds import BoundsInputError, analyze
    from analyzers.frontend import ParseOptions

    for f in args.files:
        if not os.path.isfile(f) or not os.access(f, os.R_OK):
            _err(f"{f}:1:1: error: no such readable file")
            return EXIT_BAD_INPUT
    external: list[ann.ExternalBound] = []
    if args.annotations:
        try:
            external = ann.load_external(args.annotations)
        except OSError as e:
            _err(f"{args.annotations}:1:1: error: {e.strerror or e}")
            return EXIT_BAD_INPUT
        except ann.AnnotationError as e:
            _err(str(e))
            return EXIT_BAD_INPUT
    opts = ParseOptions(includes=tuple(args.includes), defines=tuple(args.defines))
    try:
        report = analyze(list(args.files), opts, whole_program=args.whole_program, external=external)
    except BoundsInputError as e:
        _err(str(e))
        return EXIT_BAD_INPUT
    except OSError as e:
        _err(f"{e.filename or args.files[0]}:1:1: error: {e.strerror or e}")
        return EXIT_BAD_INPUT
    doc = report.to_json()
    loops: list[dict[str, Any]] = doc["loops"]  # type: ignore[assignment]
    functions: list[dict[str, Any]] = doc["functions"]  # type: ignore[assignment]
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    out: list[str] = []
    for lp in loops:
        bound = lp["bound"] if lp["bound"] is not None else "-"
        extra = f" (symbolic {lp['bound_symbolic']})" if lp["bound_symbolic"] not in (None, lp["bound"]) else ""
        why = f": {lp['reason']}" if lp["reason"] and lp["status"] != "exact" else ""
        out.append(f"{lp['file']}:{lp['line']}:{lp['column']}: {lp['kind']} in {lp['function']}: "
                   f"bound {bound}{extra} [{lp['status']}]{why}")
    for fn in functions:
        out.append(f"{fn['file']}:{fn['line']}: function {fn['name']}: cost {fn['cost']}")
    for fd in report.findings:
        out.append(str(fd))
    sys.stdout.write("".join(line + "\n" for line in out))
    return EXIT_OK
