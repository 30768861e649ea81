"""``certify element FILE...``: the safety verdict of C++ element sources, as text, JSON or SARIF.

Decides the command's input checks, output shapes and exit status; the analysis
is :mod:`analyzers.engine`.  Exit 0: every element is ``kernel``; 1: some element
is not (or a file exports none); 2: bad input (a missing file, an unreadable or
invalid policy, a bad --click-root or -p), reported as one line on stderr.

Text output: one compiler-style line per packet-path finding,
``file:line:col: KSnnn: message [symbol]``, then one verdict line per element.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_KERNEL = 0
EXIT_NOT_KERNEL = 1
EXIT_BAD_INPUT = 2


def add_parser(subparsers: Any) -> None:
    """Add the ``element`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("element", help="check C++ element sources and give each element class a verdict",
                              description="Check C++ Click element sources; verdict kernel, userspace or reject per class.")
    p.add_argument("files", nargs="+", metavar="FILE", help="element source files (.cc)")
    p.add_argument("--click-root", metavar="DIR", help="a configured Click source or install tree")
    p.add_argument("-p", dest="build_dir", metavar="BUILD_DIR", help="a directory holding compile_commands.json")
    p.add_argument("--policy", metavar="FILE", help="a policy (YAML or JSON) extending the shipped default")
    p.add_argument("-I", dest="includes", action="append", default=[], metavar="DIR", help="add an include directory")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="MACRO[=VALUE]", help="define a macro")
    p.add_argument("--userlevel", action="store_true",
                   help="analyze the user-level build only (kernel-only code is not held against the element)")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="worker processes (default: CPU count)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON")
    fmt.add_argument("--sarif", action="store_true", help="print the report as SARIF 2.1.0")
    p.set_defaults(func=run)


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _check_input(args: argparse.Namespace) -> str | None:
    """The one-line error for bad input, or None."""
    for f in args.files:
        if not os.path.isfile(f):
            return f"certify: error: {f}: no such file"
        if not os.access(f, os.R_OK):
            return f"certify: error: {f}: cannot be read"
    if args.click_root and not os.path.isdir(os.path.join(args.click_root, "include", "click")):
        return f"certify: error: --click-root {args.click_root}: no include/click directory there"
    if args.build_dir and not os.path.isfile(os.path.join(args.build_dir, "compile_commands.json")):
        return f"certify: error: -p {args.build_dir}: no compile_commands.json there"
    if args.jobs < 0:
        return "certify: error: -j must be positive"
    return None


def _sarif(doc: dict[str, Any]) -> dict[str, Any]:
    from analyzers.rules import RULES

    results = []
    for e in doc["elements"]:
        for f in e["findings"]:
            level = {"error": "error", "warning": "warning"}.get(f["severity"], "note")
            results.append({
                "ruleId": f["rule"],
                "level": level,
                "message": {"text": f"{e['class']}: {f['message']}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": f["file"]},
                                                    "region": {"startLine": f["line"], "startColumn": f["column"]}}}],
                "properties": {"element": e["class"], "verdict": e["verdict"], "path": f["path"]},
            })
    rules = [{"id": r.id, "name": r.symbol, "shortDescription": {"text": r.rationale},
              "defaultConfiguration": {"level": {"error": "error", "warning": "warning"}.get(r.severity, "note")}}
             for r in RULES]
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": {"name": "certify-element", "rules": rules}}, "results": results}]}


def run(args: argparse.Namespace) -> int:
    """Run ``certify element``; returns the exit status, never raises on bad input."""
    from analyzers.engine import analyze_paths
    from analyzers.frontend import ParseOptions
    from analyzers.policy import PolicyError, load_policy

    problem = _check_input(args)
    if problem:
        _err(problem)
        return EXIT_BAD_INPUT
    try:
        load_policy(args.policy)
    except PolicyError as bad:
        _err(str(bad))
        return EXIT_BAD_INPUT
    opts = ParseOptions(click_root=args.click_root, build_dir=args.build_dir, includes=tuple(args.includes),
                        defines=tuple(args.defines))
    try:
        results = analyze_paths(args.files, opts, args.policy, kernel_mode=not args.userlevel, jobs=args.jobs or None)
    except OSError as oserr:
        _err(f"certify: error: {oserr.filename or ''}: {oserr.strerror}")
        return EXIT_BAD_INPUT
    elements = [e for r in results for e in r.elements]
    doc = {"elements": [e.to_json() for e in elements],
           "files": [{"file": r.file, "parse_errors": r.errors, "findings": [f.to_json() for f in r.findings]}
                     for r in results]}
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.sarif:
        sys.stdout.write(json.dumps(_sarif(doc), indent=2) + "\n")
    else:
        lines: list[str] = []
        for r in results:
            lines.extend(str(f) for f in r.findings)
            for e in r.elements:
                lines.extend(str(f) for f in e.findings)
                reasons = "; ".join(e.reasons)
                lines.append(f"{e.file}:{e.line}:1: verdict: {e.cls}: {e.verdict}" + (f" ({reasons})" if reasons else ""))
            if not r.elements:
                lines.append(f"{r.file}:1:1: verdict: no exported element")
        sys.stdout.write("".join(line + "\n" for line in lines))
    all_kernel = bool(elements) and all(e.verdict == "kernel" for e in elements) and all(r.elements for r in results)
    return EXIT_KERNEL if all_kernel else EXIT_NOT_KERNEL
