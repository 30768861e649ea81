"""The ``certify`` command line.

Decides exit statuses and the shape of what is printed; the work is done by
the packages.  Exit 0: success; 2: bad input (one ``file:line:col: error:``
line on stderr); 3: an internal error (a bug in certify, never a pass).
Set CERTIFY_DEBUG=1 to see the Python traceback of an internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from certify import __version__

if TYPE_CHECKING:
    from element_db.decision import Context
    from element_db.store import LayeredDatabase

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message}")


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", errors="surrogateescape"))
    sys.stdout.flush()


def _err(line: str) -> None:
    sys.stderr.buffer.write((line + "\n").encode("utf-8", errors="backslashreplace"))
    sys.stderr.flush()


def cmd_parse(args: argparse.Namespace) -> int:
    """Print configurations from the front end's plain graphs: networkx would be most of the command's time."""
    from merge.lang import load_plain_file, load_plain_text, to_json, unparse
    from merge.lang.frontend import decode
    from merge.lang.limits import Limits

    chosen: dict[str, int] = {}
    for item in args.limit:
        name, _, value = item.partition("=")
        if name not in Limits.names() or not value.isdigit() or int(value) < 1:
            raise UsageError(f"certify parse: error: --limit {item}: expected NAME=N with N >= 1 and NAME one of "
                             + ", ".join(Limits.names()))
        chosen[name] = int(value)
    limits = Limits(**chosen)
    results = []
    sources: list[tuple[str, str | None]] = []
    for expr in args.expression or []:
        sources.append(("<expr>", expr))
    for path in args.configs:
        sources.append((path, None) if path != "-" else ("<stdin>", decode(sys.stdin.buffer.read())))
    if not sources:
        raise UsageError("certify parse: error: no configuration given (a file, '-' for stdin, or -e EXPR)")
    for name, text in sources:
        if text is None:
            parsed = load_plain_file(name, flatten=args.flatten, expand_vars=args.expand_vars, limits=limits)
        else:
            parsed = load_plain_text(text, name, flatten=args.flatten, expand_vars=args.expand_vars, limits=limits)
        for w in parsed.warnings:
            _err(str(w))
        results.append((name, parsed.graph))
    if args.json:
        docs = [dict(to_json(g), file=name) for name, g in results]
        doc = docs[0] if len(docs) == 1 else {"configurations": docs}
        _write(json.dumps(doc, indent=2) + "\n")
    else:
        for i, (name, g) in enumerate(results):
            if len(results) > 1:
                _write(("\n" if i else "") + f"// {name}\n")
            _write(unparse(g))
    return EXIT_OK


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None


def cmd_merge(args: argparse.Namespace) -> int:
    from certify.mergejob import run_merge, write_files
    from merge.policy import load_policy
    from merge.system import load_system

    system = load_system(args.system)
    policy = load_policy(args.policy)
    if args.no_certify and (args.db or args.no_stock or args.source_root or args.analyzer_policy):
        raise UsageError("certify merge: error: --no-certify reads no database: drop --db, --no-stock, "
                         "--source-root and --analyzer-policy, or drop --no-certify")
    db = None if args.no_certify else _layers(args, policy.stock_database)
    context = None if args.no_certify else _context(args)
    outcome = run_merge(system, policy, db, args.target, context, args.out, args.verbose, run_dir=args.run_dir)
    for line in outcome.messages:
        _err(line)
    if not outcome.ok:
        if args.json:
            doc = {"ok": False, "refused": outcome.refused, "findings": [f.to_json() for f in outcome.findings]}
            _write(json.dumps(doc, indent=2) + "\n")
        return 1
    os.makedirs(args.out, exist_ok=True)
    write_files(args.out, outcome)
    summary = dict(outcome.summary, ok=True, out=args.out, findings=[f.to_json() for f in outcome.findings])
    if args.json:
        _write(json.dumps(summary, indent=2) + "\n")
    else:
        _write(
            f"merged {summary['networks']} networks into {os.path.join(args.out, 'master.click')}: "
            f"{summary['elements']} elements, {summary['connections']} connections, {summary['threads']} threads\n"
        )
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from certify.catalog import all_rules
    from certify.gate import fingerprint, load_baseline, run_gate, write_baseline
    from merge.policy import load_policy
    from merge.system import load_system
    from reports.junit import to_junit
    from reports.sarif import to_sarif

    system = load_system(args.system)
    policy = load_policy(args.policy)
    db = _layers(args, policy.stock_database)
    baseline = load_baseline(args.baseline) if args.baseline else None
    res = run_gate(system, db, policy, _context(args), baseline=baseline)
    for f in res.findings:
        if f.severity != "note" or args.verbose:
            _write(f"{f}\n")
    for line in res.notes:
        _err(line)
    if res.baselined:
        _write(f"certify: {len(res.baselined)} known problem(s) in the baseline not counted\n")
    if args.sarif:
        root = args.sarif_root or os.getcwd()
        _write_atomic(args.sarif, json.dumps(to_sarif(res.findings, all_rules(), root, fingerprint), indent=2) + "\n")
    if args.junit:
        _write_atomic(args.junit, to_junit(res.networks, res.classes))
    if args.write_baseline:
        write_baseline(args.write_baseline, res.findings + res.baselined)
    errors = sum(1 for f in res.findings if f.severity == "error")
    warnings = sum(1 for f in res.findings if f.severity == "warning")
    verdict = "passed" if res.passed else "FAILED"
    _err(f"certify gate {verdict}: {len(system.networks)} networks, {len(res.classes)} element classes, "
         f"{errors} errors, {warnings} warnings")
    return EXIT_OK if res.passed else 1


# What a record says about its class, as opposed to when, by which versions and from where it was made.
_PROVENANCE = frozenset({"certified_at", "digest", "analyzer_version", "policy_version", "source_base"})


def _content_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The fields, other than provenance, in which two records of a class differ."""
    return [f for f in sorted((set(a) | set(b)) - _PROVENANCE) if a.get(f) != b.get(f)]


def cmd_db(args: argparse.Namespace) -> int:
    from element_db.decision import Decisions
    from element_db.record import ASSUMPTIONS_NOT_RECORDED, assumptions_of
    from element_db.store import Database

    if args.db_command == "diff":
        old, new = Database(args.old), Database(args.new)
        lines = []
        for k in sorted(set(old.classes()) | set(new.classes())):
            a, b = old.read(k), new.read(k)
            va = a.record["verdict"] if a.record else a.state
            vb = b.record["verdict"] if b.record else b.state
            if a.state == "missing":
                lines.append(f"+ {k}: {vb}")
            elif b.state == "missing":
                lines.append(f"- {k}: {va}")
            elif args.content:
                changed = _content_changes(a.record or {}, b.record or {})
                if changed:
                    lines.append(f"~ {k}: {va} -> {vb} ({', '.join(changed)})")
            elif va != vb or (a.record or {}).get("digest") != (b.record or {}).get("digest"):
                lines.append(f"~ {k}: {va} -> {vb}")
        _write("".join(line + "\n" for line in lines))
        return 1 if args.content and lines else EXIT_OK
    db = _layers(args, True)
    decisions = Decisions(db, _context(args))
    if args.db_command == "list":
        width = max(len(n) for n in db.names())
        for d in decisions.all():
            extra = "; sources unavailable" if d.sources == "unavailable" and not d.stock else ""
            _write(f"{d.klass:<28} {d.verdict or '-':<10} {d.layer or '-':<{width}} {d.state}"
                   f"{': ' + d.reason if d.reason else ''}{extra}\n")
        for line in decisions.notes():
            _err(line)
        return EXIT_OK
    if args.db_command == "show":
        d = decisions.get(args.klass)
        if d.record is None:
            _err(f"certify: error: {args.klass}: {d.state}: {d.reason}")
            return EXIT_BAD_INPUT
        doc = dict(d.record, status=d.state, layer=d.layer, decision=d.to_json(),
                   **({"status_reason": d.reason} if d.reason else {}))
        if assumptions_of(d.record) is None:  # an older record: say so, never print it as "none"
            doc["assumptions_note"] = ASSUMPTIONS_NOT_RECORDED
        _write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    if args.db_command == "verify":
        every = decisions.all()
        bad = [d for d in every if d.state != "fresh"]
        unchecked = [d for d in every if d.state == "fresh" and d.sources == "unavailable" and not d.stock]
        unchecked_classes = {d.klass for d in unchecked}
        for d in every:
            where = os.path.join(d.layer_path or "", d.klass + ".json")
            if d.state != "fresh":
                _write(f"{where}: {d.state}: {d.reason}\n")
            elif d.klass in unchecked_classes:
                _write(f"{where}: sources unavailable: {d.sources_reason}\n")
        for line in decisions.notes():
            _err(line)
        _err(f"certify db verify: {len(every)} records in {len(db.layers)} layer{'s' if len(db.layers) > 1 else ''} "
             f"({', '.join(db.names())}), {len(bad)} not fresh, {len(unchecked)} with sources unavailable")
        return EXIT_OK if not bad else 1
    if args.db_command == "export":
        out = {d.klass: dict(d.record or {}, status=d.state, layer=d.layer) for d in decisions.all()}
        _write(json.dumps({"records": out}, indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    raise UsageError("certify db: error: unknown command")


def _layers(args: argparse.Namespace, policy_stock: bool) -> LayeredDatabase:
    """The layered database of a reading command: --db (repeatable, first is top) or $CERTIFY_DB, over the stock
    database unless --no-stock or the network policy's ``stock_database: false``."""
    from element_db.store import LayeredDatabase

    return LayeredDatabase.open(args.db, stock=policy_stock and not args.no_stock)


def _context(args: argparse.Namespace) -> Context:
    from element_db.decision import Context

    return Context.current(args.source_root, args.analyzer_policy)


def _add_database_options(p: argparse.ArgumentParser, source_help: str) -> None:
    """--db (repeatable), --no-stock, --source-root, --analyzer-policy: the same for every command that reads
    certification records."""
    p.add_argument("--db", action="append", metavar="DB",
                   help="a certified-element database, as a layer over the stock one; repeat for more layers, the "
                   "first given on top (default: $CERTIFY_DB when set, over the stock database)")
    p.add_argument("--no-stock", action="store_true", help="do not put the shipped stock database under the others")
    p.add_argument("--source-root", metavar="DIR", help=source_help)
    p.add_argument("--analyzer-policy", metavar="FILE",
                   help="the analyzer policy the records were certified under (certify library --policy); "
                   "default: the shipped one")


_SOURCES_HELP = ("where the records' sources are (relocation; by default they are found through each record's "
                 "source_base, the current directory or $CLICK_SRC for stock records)")


def cmd_rules(args: argparse.Namespace) -> int:
    from certify.catalog import all_rules

    for r in all_rules():
        _write(f"{r.id}  {r.symbol:<24} {r.severity:<8} {r.effect:<9} {r.message}\n")
    return EXIT_OK


def _explain_record(d: Any) -> str:
    """What a class's record says and how it is decided: verdict, reasons, findings, and the assumptions the
    verdict rests on."""
    from element_db.record import ASSUMPTIONS_NOT_RECORDED, assumptions_of

    rec = d.record
    where = f"layer {d.layer}" if d.layer else "no layer"
    lines = [f"{d.klass}: {rec['verdict']} (record {d.state}{': ' + d.reason if d.reason else ''}; {where}; "
             f"placement {d.placement})", "", "Reasons:"]
    lines += [f"    {r}" for r in rec.get("reasons", [])] or ["    (none recorded)"]
    findings = rec.get("findings", [])
    lines += ["", f"Findings on the packet path ({len(findings)}):" if findings else "Findings on the packet path: none"]
    lines += [f"    {f['file']}:{f['line']}:{f['column']}: {f['rule']}: {f['message']}" for f in findings]
    found = assumptions_of(rec)
    lines.append("")
    if found is None:
        lines.append(f"Assumptions: {ASSUMPTIONS_NOT_RECORDED}")
    elif not found:
        lines.append("Assumptions: none (no trusted routine on the packet path)")
    else:
        lines.append(f"Assumptions ({len(found)}): what the verdict rests on without a proof, one trusted routine each:")
        for a in found:
            lines.append(f"    {a['routine']}: {a['assumed']}")
            lines.append(f"        declared in {a['declared_in']}")
    return "\n".join(lines) + "\n"


def cmd_explain(args: argparse.Namespace) -> int:
    from certify.catalog import effect_text, find_rule

    r = find_rule(args.rule)
    if r is None:
        from element_db.decision import Decisions

        if args.rule.isidentifier() or "@" in args.rule:  # an element class: what its record says
            d = Decisions(_layers(args, True), _context(args)).get(args.rule)
            if d.record is not None:
                _write(_explain_record(d))
                return EXIT_OK
        raise UsageError(f"certify explain: error: no rule or element class {args.rule!r} (see 'certify rules' and "
                         "'certify db list')")
    text = f"{r.id} {r.symbol} ({r.severity})\n\n{r.rationale}\n\nEffect: {effect_text(r)}.\n"
    if r.bad:
        text += f"\nBad:\n    {r.bad}\n"
    if r.good:
        text += f"\nGood:\n    {r.good}\n"
    _write(text)
    return EXIT_OK


def cmd_library(args: argparse.Namespace) -> int:
    import time

    from certify.library import certify_library
    from element_db.store import Database, default_location

    for d in args.dirs:
        if not os.path.isdir(d):
            raise UsageError(f"certify library: error: {d}: not a directory")
    db = Database(default_location(args.db), create=True)
    root = args.root or args.click_root or os.path.commonpath([os.path.abspath(d) for d in args.dirs])
    tty = sys.stderr.isatty() and not args.no_progress
    t0 = time.monotonic()
    last = [-1]

    def progress(done: int, total: int) -> None:
        if args.no_progress:
            return
        if tty:
            width = 30
            fill = width * done // max(total, 1)
            sys.stderr.write(f"\r[{'#' * fill}{' ' * (width - fill)}] {done}/{total} files")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif done == total or done * 10 // max(total, 1) != last[0]:
            last[0] = done * 10 // max(total, 1)
            _err(f"certify library: {done}/{total} files analyzed")

    res = certify_library(args.dirs, db, os.path.abspath(root), args.click_root, args.policy, args.jobs or None,
                          progress, args.force)
    for line in res.skipped_names:
        _err(f"certify library: warning: {line}")
    totals: dict[str, int] = {v: 0 for v in ("kernel", "userspace", "reject", "error")}
    lines = [f"{'directory':<28} {'kernel':>7} {'userspace':>9} {'reject':>7} {'error':>6}"]
    for d in sorted(res.per_dir):
        c = res.per_dir[d]
        for v in totals:
            totals[v] += c.get(v, 0)
        lines.append(f"{d:<28} {c.get('kernel', 0):>7} {c.get('userspace', 0):>9} {c.get('reject', 0):>7} {c.get('error', 0):>6}")
    lines.append(f"{'all':<28} {totals['kernel']:>7} {totals['userspace']:>9} {totals['reject']:>7} {totals['error']:>6}")
    _write("\n".join(lines) + "\n")
    _err(f"certify library: {res.analyzed} files analyzed, {res.skipped} unchanged, {res.records} records written "
         f"to {db.path} in {time.monotonic() - t0:.1f} s")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from reports.html import render_site
    from reports.markdown import to_markdown
    from reports.model import load_report_data

    data = load_report_data(_layers(args, True), args.plan, args.source_root, _context(args))
    os.makedirs(args.out, exist_ok=True)
    render_site(data, args.out)
    _write_atomic(os.path.join(args.out, "summary.md"), to_markdown(data))
    _write(f"report: {os.path.join(os.path.abspath(args.out), 'index.html')}\n"
           f"summary: {os.path.join(os.path.abspath(args.out), 'summary.md')}\n")
    return EXIT_OK


DEFAULT_SOCKET = "/run/certify/coordinator.sock"


def cmd_serve(args: argparse.Namespace) -> int:
    from certify.coordinator import Coordinator, serve

    if args.no_certify and (args.db or args.no_stock or args.source_root or args.analyzer_policy):
        raise UsageError("certify serve: error: --no-certify reads no database: drop --db, --no-stock, "
                         "--source-root and --analyzer-policy, or drop --no-certify")
    coordinator = Coordinator(args.system, args.state, args.install_to or os.path.join(args.state, "installed"),
                              db=args.db, target=args.target, policy_path=args.policy, allow_root=args.allow_root,
                              source_root=args.source_root, run_dir=args.run_dir, stock=not args.no_stock,
                              certify=not args.no_certify, analyzer_policy=args.analyzer_policy,
                              max_pending=args.max_pending, merge_seconds=args.merge_timeout,
                              merge_memory_mib=args.merge_memory)
    if args.no_certify:
        _err("certify: warning: certification is off (--no-certify): every install is merged without any "
             "certification record")
    serve(coordinator, args.socket)
    return EXIT_OK


def _ask(socket_path: str, msg: dict[str, Any]) -> dict[str, Any]:
    import socket

    from certify.protocol import ProtocolError, read_message, send_message

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            send_message(sock, msg)
            return read_message(sock, timeout=600)
    except (OSError, ProtocolError) as exc:
        raise UsageError(f"certify: error: cannot talk to the coordinator at {socket_path}: {exc}") from None


def _verdict(reply: dict[str, Any], what: str) -> int:
    for line in reply.get("messages", []):
        _err(str(line))
    verdict = reply.get("verdict")
    if verdict == "accepted":
        _write(f"accepted: {what} network {reply.get('network')}\n")
        return EXIT_OK
    if verdict == "refused":
        _err(f"certify: refused: network {reply.get('network', '?')} was not {what}")
        return 1
    return EXIT_BAD_INPUT


def cmd_install(args: argparse.Namespace) -> int:
    from merge.lang.frontend import read_config_file

    text = read_config_file(args.config)
    msg: dict[str, Any] = {"version": 1, "op": "install", "config": text, "name": args.config}
    if args.network:
        msg["network"] = args.network
    return _verdict(_ask_patiently(args.socket, msg, args.wait), "installed")


def _ask_patiently(socket_path: str, msg: dict[str, Any], wait: float) -> dict[str, Any]:
    """Ask; while the coordinator answers busy (its queue of waiting installs is full), ask again after a
    growing, jittered pause, for at most ``wait`` seconds in all (0: once)."""
    import random
    import time

    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        reply = _ask(socket_path, msg)
        if not reply.get("busy") or time.monotonic() + pause > deadline:
            return reply
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 2.0)


def cmd_uninstall(args: argparse.Namespace) -> int:
    msg: dict[str, Any] = {"version": 1, "op": "uninstall"}
    if args.network:
        msg["network"] = args.network
    return _verdict(_ask_patiently(args.socket, msg, args.wait), "uninstalled")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _run_dir(text: str) -> str:
    """--run-dir: an absolute path the generated scripts and systemd units can name without quoting."""
    import re

    if not re.fullmatch(r"/[A-Za-z0-9._/-]*", text) or "/../" in text + "/":
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute path of letters, digits and . _ - / without '..'")
    return text.rstrip("/") or "/"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="certify", description="Safety verifier and element certification for the Click modular router.")
    p.add_argument("--version", action="version", version=f"certify {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    pp = sub.add_parser(
        "parse",
        help="parse (and flatten) Click configurations",
        description="Parse Click configurations and print them as canonical Click text or JSON.",
    )
    pp.add_argument("configs", nargs="*", metavar="CONFIG", help="configuration file ('-' for standard input)")
    pp.add_argument("-e", "--expression", action="append", metavar="EXPR", help="a configuration given on the command line")
    pp.add_argument("--flatten", action="store_true", help="expand compound elements (as click-flatten)")
    pp.add_argument("--expand-vars", action="store_true", help="with --flatten, substitute global define()d variables")
    pp.add_argument("--json", action="store_true", help="print the graph as JSON")
    pp.add_argument("--limit", action="append", metavar="NAME=N", default=[],
                    help="raise or lower one of the limits on what a configuration may expand to "
                         "(max_elements, max_connections, max_depth, max_compound_instances, max_config_bytes, "
                         "max_define_bytes; the defaults are the network policy's); repeatable")
    pp.set_defaults(func=cmd_parse)

    from certify.bounds_cmd import add_parser as add_bounds_parser
    from certify.element_cmd import add_parser as add_element_parser

    add_element_parser(sub)
    add_bounds_parser(sub)
    pm = sub.add_parser(
        "merge",
        help="check virtual networks and merge them into one master configuration",
        description="Check each virtual network's configuration and merge them all into DIR/master.click and "
        "DIR/plan.json. Exit 0: merged; 1: a network failed its checks (nothing written); 2: bad input.",
    )
    pm.add_argument("--system", required=True, metavar="SYSTEM", help="system configuration (YAML or JSON)")
    pm.add_argument("--out", required=True, metavar="DIR", help="output directory")
    pm.add_argument("--target", choices=["linuxmodule", "userlevel"], default="linuxmodule")
    pm.add_argument("--policy", metavar="FILE", help="network policy extending the shipped default")
    _add_database_options(pm, _SOURCES_HELP)
    pm.add_argument("--no-certify", action="store_true",
                    help="merge without certification (every element in the master; warned on every run)")
    pm.add_argument("--run-dir", default="/run/certify", metavar="DIR", type=_run_dir,
                    help="where the containers' control sockets live at run time (default /run/certify)")
    pm.add_argument("--json", action="store_true", help="print the result as JSON")
    pm.add_argument("-v", "--verbose", action="store_true", help="also print notes")
    pm.set_defaults(func=cmd_merge)

    pg = sub.add_parser(
        "gate",
        help="pre-merge CI gate: refuse uncertified, rejected or isolation-breaking configurations",
        description="Check every network of SYSTEM against the certified-element database. Exit 0: pass; "
        "1: fail; 2: bad input.",
    )
    pg.add_argument("--system", required=True, metavar="SYSTEM")
    _add_database_options(pg, _SOURCES_HELP)
    pg.add_argument("--policy", metavar="FILE", help="network policy extending the shipped default")
    pg.add_argument("--sarif", metavar="FILE", help="write SARIF 2.1.0")
    pg.add_argument("--sarif-root", metavar="DIR", help="repository root for SARIF URIs (default: current directory)")
    pg.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    pg.add_argument("--baseline", metavar="FILE", help="known problems that do not fail the gate")
    pg.add_argument("--write-baseline", metavar="FILE", help="write the current problems as a baseline")
    pg.add_argument("-v", "--verbose", action="store_true", help="also print notes")
    pg.set_defaults(func=cmd_gate)

    pl = sub.add_parser("library", help="certify every element under directories into the database",
                        description="Find every exported element, certify it, record it; incremental.")
    pl.add_argument("dirs", nargs="+", metavar="DIR")
    pl.add_argument("--db", metavar="DB", help="the one database to write into (default: $CERTIFY_DB; never the stock one)")
    pl.add_argument("--click-root", metavar="DIR", help="a configured Click tree (headers for the analysis)")
    pl.add_argument("--root", metavar="DIR", help="record source paths relative to DIR (default: --click-root)")
    pl.add_argument("--policy", metavar="FILE", help="analyzer policy extending the shipped default")
    pl.add_argument("-j", "--jobs", type=int, default=0, metavar="N", help="worker processes (default: CPUs)")
    pl.add_argument("--no-progress", action="store_true", help="no progress output")
    pl.add_argument("--force", action="store_true", help="re-analyze even unchanged files")
    pl.set_defaults(func=cmd_library)

    pd = sub.add_parser("db", help="inspect the certified-element database")
    dsub = pd.add_subparsers(dest="db_command", metavar="COMMAND", parser_class=_Parser)
    dsub.required = True
    for name, text in (("list", "one line per record"), ("verify", "check every record (exit 1 if any is not fresh)"),
                       ("export", "all records as one JSON document")):
        q = dsub.add_parser(name, help=text)
        _add_database_options(q, _SOURCES_HELP)
        if name == "export":
            q.add_argument("--json", action="store_true", help="(the only format)")
    q = dsub.add_parser("show", help="one record")
    q.add_argument("klass", metavar="CLASS")
    _add_database_options(q, _SOURCES_HELP)
    q = dsub.add_parser("diff", help="what changed between two databases")
    q.add_argument("--content", action="store_true",
                   help="compare what records say (verdict, reasons, findings, costs, ports ...), not when or under which "
                        "versions they were made; exit 1 when any class differs (e.g. a regenerated database against "
                        "the shipped one)")
    q.add_argument("old", metavar="OLD")
    q.add_argument("new", metavar="NEW")
    pd.set_defaults(func=cmd_db)

    sock_default = os.environ.get("CERTIFY_SOCKET", DEFAULT_SOCKET)
    ps = sub.add_parser("serve", help="run the coordinator: the only process that installs the shared Click",
                        description="Serve install requests on a Unix socket; see docs/coordinator.md.")
    ps.add_argument("--system", required=True, metavar="SYSTEM")
    _add_database_options(ps, _SOURCES_HELP)
    ps.add_argument("--no-certify", action="store_true",
                    help="merge installs without certification (every element in the master; warned at start)")
    ps.add_argument("--socket", default=sock_default, metavar="PATH")
    ps.add_argument("--state", required=True, metavar="DIR", help="where accepted configurations are kept")
    ps.add_argument("--install-to", metavar="DIR", help="/click (kernel hot-swap) or a directory (default STATE/installed)")
    ps.add_argument("--target", choices=["linuxmodule", "userlevel"], default="linuxmodule")
    ps.add_argument("--policy", metavar="FILE")
    ps.add_argument("--allow-root", action="store_true", help="let uid 0 install any network")
    ps.add_argument("--max-pending", type=_positive_int, default=16, metavar="N",
                    help="installs that may wait for the merge at once; one more is refused as busy (default 16)")
    ps.add_argument("--merge-timeout", type=_positive_float, default=120.0, metavar="SECONDS",
                    help="wall-clock limit of one merge; a merge past it is refused (default 120)")
    ps.add_argument("--merge-memory", type=_positive_float, default=4096.0, metavar="MIB",
                    help="memory one merge may add to the coordinator; a merge past it is refused (default 4096)")
    ps.add_argument("--run-dir", default="/run/certify", metavar="DIR", type=_run_dir,
                    help="where the containers' control sockets live at run time (default /run/certify)")
    ps.set_defaults(func=cmd_serve)
    pi = sub.add_parser("install", help="send a network's configuration to the coordinator")
    pi.add_argument("config", metavar="CONFIG")
    pi.add_argument("--socket", default=sock_default, metavar="PATH")
    pi.add_argument("--network", metavar="NAME", help="needed when your uid owns several networks")
    wait_help = "while the coordinator is busy (its install queue is full), retry for up to SECONDS (default 120; 0: once)"
    pi.add_argument("--wait", type=float, default=120.0, metavar="SECONDS", help=wait_help)
    pi.set_defaults(func=cmd_install)
    pu = sub.add_parser("uninstall", help="remove a network's configuration")
    pu.add_argument("--socket", default=sock_default, metavar="PATH")
    pu.add_argument("--network", metavar="NAME")
    pu.add_argument("--wait", type=float, default=120.0, metavar="SECONDS", help=wait_help)
    pu.set_defaults(func=cmd_uninstall)

    prp = sub.add_parser("report", help="write the HTML safety report and a Markdown summary",
                         description="A static HTML site (works from file://) and summary.md from the database and a merge plan.")
    _add_database_options(prp, "where the records' sources are, to show them around findings (and check them)")
    prp.add_argument("--plan", metavar="DIR", help="a certify merge output directory (plan.json, master.click)")
    prp.add_argument("--out", required=True, metavar="DIR")
    prp.set_defaults(func=cmd_report)

    pr = sub.add_parser("rules", help="print the rule catalog")
    pr.set_defaults(func=cmd_rules)
    pe = sub.add_parser("explain", help="explain one rule, with a bad and a good example; or an element class's "
                        "record: its verdict, reasons and the assumptions it rests on",
                        description="certify explain RULE: the rule (by id or symbol), why it exists, a bad and a good "
                        "example.  certify explain CLASS: the class's record in the layered database (--db ...): "
                        "verdict, reasons, findings and the trusted assumptions the verdict rests on.  Exit 0; 2: no "
                        "such rule and no readable record of such a class.")
    pe.add_argument("rule", metavar="RULE|CLASS")
    _add_database_options(pe, _SOURCES_HELP)
    pe.set_defaults(func=cmd_explain)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from certify.core.errors import InputError

    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except InputError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("certify: interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a file we were told to read or write: bad input, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        _err(f"certify: error: {where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug in certify: never a pass, never a traceback by default
        if os.environ.get("CERTIFY_DEBUG"):
            traceback.print_exc()
        _err(f"certify: internal error: {type(exc).__name__}: {exc} (set CERTIFY_DEBUG=1 for details)")
        return EXIT_INTERNAL
