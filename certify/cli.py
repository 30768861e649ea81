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

from certify import __version__

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
    from merge import load_file, load_text, to_json, unparse
    from merge.frontend import decode

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
            parsed = load_file(name, flatten=args.flatten, expand_vars=args.expand_vars)
        else:
            parsed = load_text(text, name, flatten=args.flatten, expand_vars=args.expand_vars)
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
    pp.set_defaults(func=cmd_parse)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from merge.errors import ClickError

    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except ClickError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _err("certify: interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in certify: never a pass, never a traceback by default
        if os.environ.get("CERTIFY_DEBUG"):
            traceback.print_exc()
        _err(f"certify: internal error: {type(exc).__name__}: {exc} (set CERTIFY_DEBUG=1 for details)")
        return EXIT_INTERNAL
