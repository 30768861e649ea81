"""``certify element FILE...``: the safety verdict of C++ element sources, as text, JSON or SARIF.

Decides the command's input checks, output shapes and exit status; the analysis
is :mod:`analyzers.engine`.  Exit status:

- 0: every element of every file is ``kernel``.
- 1: some element is not, or some file certifies nothing because it exports no
  element (no ``EXPORT_ELEMENT``), whether it parsed with errors or cleanly.  The
  user named the file, so a file that certifies nothing fails the run rather than
  passing it; ``certify library DIR`` is the command that walks a tree and skips
  helper files.
- 2: bad input, one line on stderr and no analysis: a missing or unreadable file;
  a file that is not C/C++ source at all (a name without a C/C++ suffix, such as
  a Click configuration or a Python script, as compilers decide by the name; an
  empty or whitespace-only file; a file holding NUL bytes, i.e. binary data); an
  unreadable or invalid policy; a bad --click-root or -p.

Text output: one compiler-style line per packet-path finding,
``file:line:col: KSnnn: message [symbol]``, then one line per trusted routine
the packet path reaches, as one line naming them (``file:line:1: assumes: 5
trusted routines (...): Packet::uniqueify, ..., memcpy``), or with
``--verbose`` one line per routine saying what is assumed and where it is
declared: what the verdict rests on without a proof; then one verdict line per element
(``file: verdict: no exported element`` for a file without one).  A file that
certifies nothing is also reported on stderr as a compiler reports a failed
compilation: its first parse errors, ``file:line:col: error: message``, then a
summary, ``file: error: N parse errors and no exported element: nothing
certified``.  JSON carries those lines as ``errors`` (``line`` and ``column``
null when the line has no position); SARIF carries the file's parse errors as
KS001 results and the summary as a failed invocation's notification.  Every
element's ``assumptions`` (:mod:`analyzers.assumptions`) are in the JSON, and in
SARIF in each of its results' property bags, in the run's property bag (every
element, kernel ones included) and as one note-level tool configuration
notification per element that has any: a verdict resting on trusted routines
is never silent, in any format.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from certify.core.findings import position

if TYPE_CHECKING:
    from analyzers.report import FileResult

EXIT_KERNEL = 0
EXIT_NOT_KERNEL = 1
EXIT_BAD_INPUT = 2
ASSUMPTIONS_NOTE = "CERTIFY-ASSUMPTIONS"  # the SARIF notification descriptor of a verdict's trusted assumptions

# the names compilers take for C or C++ source and headers (the parse is C++ whatever the suffix)
SOURCE_SUFFIXES = (".cc", ".cpp", ".cxx", ".c++", ".cp", ".c", ".ii",
                   ".hh", ".hpp", ".hxx", ".h++", ".h", ".tcc", ".ipp", ".inl")
_SNIFF_BYTES = 65536


def add_parser(subparsers: Any) -> None:
    """Add the ``element`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser("element", help="check C++ element sources and give each element class a verdict",
                              description="Check C++ Click element sources; verdict kernel, userspace or reject per "
                                          "class. Exit 0: every element is kernel; 1: some element is not, or a file "
                                          "certifies nothing (it exports no element: parse errors, or a helper file); "
                                          "2: bad input: a missing or unreadable file, a file that is not C/C++ source "
                                          "at all (no C/C++ suffix such as .cc or .hh, empty, or binary), a bad "
                                          "--policy, --click-root or -p.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="element source files (.cc; any C/C++ suffix is accepted: " + " ".join(SOURCE_SUFFIXES) + ")")
    p.add_argument("--click-root", metavar="DIR", help="a configured Click source or install tree")
    p.add_argument("-p", dest="build_dir", metavar="BUILD_DIR", help="a directory holding compile_commands.json")
    p.add_argument("--policy", metavar="FILE", help="a policy (YAML or JSON) extending the shipped default")
    p.add_argument("-I", dest="includes", action="append", default=[], metavar="DIR", help="add an include directory")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="MACRO[=VALUE]", help="define a macro")
    p.add_argument("--userlevel", action="store_true",
                   help="analyze the user-level build only (kernel-only code is not held against the element)")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="worker processes (default: CPU count)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="text output: one line per trusted routine the verdict rests on, saying what is assumed and "
                        "where it is declared (default: one line naming them)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the report as JSON")
    fmt.add_argument("--sarif", action="store_true", help="print the report as SARIF 2.1.0")
    p.set_defaults(func=run)


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _not_source(path: str) -> str | None:
    """Why the readable file ``path`` is not C/C++ source at all, or None."""
    if os.path.splitext(path)[1].lower() not in SOURCE_SUFFIXES:
        return "not a C/C++ source file (its name does not end in .cc, .cpp, .hh, .h or another C/C++ suffix)"
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if b"\0" in head:
        return "binary file (it holds NUL bytes), not C/C++ source"
    if not head.strip() and len(head) < _SNIFF_BYTES:
        return "empty file, not C/C++ source"
    return None


def _check_input(args: argparse.Namespace) -> str | None:
    """The one-line error for bad input, or None."""
    for f in args.files:
        if not os.path.isfile(f):
            return f"certify: error: {f}: no such file"
        if not os.access(f, os.R_OK):
            return f"certify: error: {f}: cannot be read"
        why = _not_source(f)
        if why:
            return f"certify: error: {f}: {why}"
    if args.click_root and not os.path.isdir(os.path.join(args.click_root, "include", "click")):
        return f"certify: error: --click-root {args.click_root}: no include/click directory there"
    if args.build_dir and not os.path.isfile(os.path.join(args.build_dir, "compile_commands.json")):
        return f"certify: error: -p {args.build_dir}: no compile_commands.json there"
    if args.jobs < 0:
        return "certify: error: -j must be positive"
    return None


def _uncertified(r: FileResult) -> list[dict[str, Any]]:
    """The error lines of a file that exports no element: its first parse errors, then a summary
    without a position."""
    out: list[dict[str, Any]] = [{"file": f, "line": line, "column": col, "severity": sev, "message": msg}
                                 for f, line, col, sev, msg in r.diagnostics]
    if r.errors:
        shown = f" (the first {len(r.diagnostics)} shown)" if r.errors > len(r.diagnostics) else ""
        what = f"{r.errors} parse error{'s' if r.errors != 1 else ''}{shown} and no exported element"
    else:
        what = "no exported element (no EXPORT_ELEMENT in the file)"
    out.append({"file": r.file, "line": None, "column": None, "severity": "error",
                "message": f"{what}: nothing certified"})
    return out


def _error_line(e: dict[str, Any]) -> str:
    """One error as a compiler prints it: ``file:line:col: error: message`` (``fatal error`` for a fatal one)."""
    severity = "fatal error" if e["severity"] == "fatal" else e["severity"]
    return f"{position(e['file'], e['line'] or 0, e['column'] or 0)}: {severity}: {e['message']}"


def _sarif_location(file: str, line: int | None, column: int | None) -> dict[str, Any]:
    """A SARIF location; the region only when the line (and column) is known (SARIF positions start at 1)."""
    where: dict[str, Any] = {"artifactLocation": {"uri": file}}
    if line and line > 0:
        where["region"] = {"startLine": line, **({"startColumn": column} if column and column > 0 else {})}
    return {"physicalLocation": where}


SHOWN_ROUTINES = 10  # routines named on the one summary line; --verbose gives every one a line of its own


def _assumption_lines(file: str, line: int, assumptions: list[dict[str, Any]], verbose: bool) -> list[str]:
    """What an element's verdict rests on, at the class, as compilers print a note: one summary line (how many
    trusted routines, the first names), or with ``verbose`` one line per routine: what is assumed, and where."""
    where = position(file, line, 1)
    if not assumptions:
        return []
    if verbose:
        return [f"{where}: assumes: {a['routine']}: {a['assumed']} [{a['declared_in']}]" for a in assumptions]
    names = [a["routine"] for a in assumptions]
    more = f", and {len(names) - SHOWN_ROUTINES} more" if len(names) > SHOWN_ROUTINES else ""
    n = len(names)
    return [f"{where}: assumes: {n} trusted routine{'s' if n != 1 else ''} (not analysed, or costs declared; "
            f"--verbose says what and where): {', '.join(names[:SHOWN_ROUTINES])}{more}"]


def _sarif(doc: dict[str, Any]) -> dict[str, Any]:
    from analyzers.rules import RULES

    def level(severity: str) -> str:
        return {"error": "error", "warning": "warning"}.get(severity, "note")

    results = []
    for e in doc["elements"]:
        for f in e["findings"]:
            results.append({
                "ruleId": f["rule"],
                "level": level(f["severity"]),
                "message": {"text": f"{e['class']}: {f['message']}"},
                "locations": [_sarif_location(f["file"], f["line"], f["column"])],
                "properties": {"element": e["class"], "verdict": e["verdict"], "path": f["path"],
                               "assumptions": e["assumptions"]},
            })
    for r in doc["files"]:  # findings of a file that has no element (its parse errors, a crash)
        for f in r["findings"]:
            results.append({
                "ruleId": f["rule"],
                "level": level(f["severity"]),
                "message": {"text": f["message"]},
                "locations": [_sarif_location(f["file"], f["line"], f["column"])],
                "properties": {"path": f["path"]},
            })
    notifications = [{"level": "error", "message": {"text": e["message"]},
                      "locations": [_sarif_location(e["file"], e["line"], e["column"])]}
                     for e in doc["errors"] if e["line"] is None]
    rules = [{"id": r.id, "name": r.symbol, "shortDescription": {"text": r.rationale},
              "defaultConfiguration": {"level": level(r.severity)}}
             for r in RULES]
    # what each verdict assumes: in the run's property bag (every element, kernel ones with no finding included)
    # and, for each element resting on trusted routines, a note about the tool's configuration (the policy's
    # allowed_api, the declared API costs) that viewers show beside the results
    assumed = [e for e in doc["elements"] if e.get("assumptions")]
    config_notes = [{"level": "note",
                     "descriptor": {"id": ASSUMPTIONS_NOTE, "index": 0},
                     "message": {"text": f"{e['class']}: verdict {e['verdict']} rests on {len(e['assumptions'])} "
                                         f"trusted routine{'s' if len(e['assumptions']) != 1 else ''} whose bodies or "
                                         "costs are declared, not analysed: "
                                         + ", ".join(a["routine"] for a in e["assumptions"])},
                     "locations": [_sarif_location(e["file"] if e.get("class_file") is None else e["class_file"],
                                                   e.get("class_line"), 1)],
                     "properties": {"element": e["class"], "verdict": e["verdict"], "assumptions": e["assumptions"]}}
                    for e in assumed]
    invocation: dict[str, Any] = {"executionSuccessful": not doc["errors"], "toolExecutionNotifications": notifications}
    if config_notes:
        invocation["toolConfigurationNotifications"] = config_notes
    driver: dict[str, Any] = {"name": "certify-element", "rules": rules}
    if config_notes:
        driver["notifications"] = [{
            "id": ASSUMPTIONS_NOTE, "name": "trusted-assumptions",
            "shortDescription": {"text": "A verdict that rests on trusted routines (policy allowed_api) or declared "
                                         "API costs (api_costs.yaml), not on analysis."}}]
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [{"tool": {"driver": driver},
                      "invocations": [invocation],
                      "results": results,
                      "properties": {"elements": [{"class": e["class"], "verdict": e["verdict"],
                                                   "file": e["file"], "assumptions": e["assumptions"]}
                                                  for e in doc["elements"]]}}]}


def run(args: argparse.Namespace) -> int:
    """Run ``certify element``; returns the exit status, never raises on bad input."""
    from analyzers.engine import analyze_paths
    from analyzers.frontend import ParseOptions
    from analyzers.guards import condition_text
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
    errors = [line for r in results if not r.elements for line in _uncertified(r)]
    doc = {"elements": [e.to_json() for e in elements],
           "files": [{"file": r.file, "parse_errors": r.errors, "findings": [f.to_json() for f in r.findings]}
                     for r in results],
           "errors": errors}
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.sarif:
        sys.stdout.write(json.dumps(_sarif(doc), indent=2) + "\n")
    else:
        lines: list[str] = []
        for r in results:
            # a file without an element: its parse errors go to stderr below, as a compiler's would
            lines.extend(str(f) for f in r.findings if not (r.diagnostics and f.rule == "KS001"))
            for e in r.elements:
                lines.extend(str(f) for f in e.findings)
                lines.extend(_assumption_lines(e.file, e.line, e.assumptions, args.verbose))
                # a configuration-conditional verdict says first what an instance gets without the keywords
                unless = condition_text(e.verdict_unless_configured, e.conditions, e.verdict)
                reasons = "; ".join(([unless] if unless else []) + e.reasons)
                lines.append(f"{e.file}:{e.line}:1: verdict: {e.cls}: {e.verdict}" + (f" ({reasons})" if reasons else ""))
            if not r.elements:
                lines.append(f"{r.file}: verdict: no exported element")
        sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()
    if errors:
        sys.stderr.write("".join(_error_line(e) + "\n" for e in errors))
        sys.stderr.flush()
    all_kernel = bool(elements) and all(e.verdict == "kernel" for e in elements) and all(r.elements for r in results)
    return EXIT_KERNEL if all_kernel else EXIT_NOT_KERNEL
