"""SARIF 2.1.0 output of findings, as GitHub code scanning reads it.

Decides how a finding becomes a SARIF result: the rule id is the stable
``ruleId`` with full rule metadata (name, short and full description, help in
text and Markdown with a bad and a good example, default level); locations are
repository-relative URIs under ``%SRCROOT%`` with a region (line, column);
``partialFingerprints`` carry a line-independent fingerprint so that a moved
problem stays the same alert.  Files outside the root keep their absolute
``file://`` URI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from certify.core.findings import Finding, Rule
from certify.core.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def _rule(r: Rule) -> dict[str, Any]:
    help_md = f"**{r.id} {r.symbol}**\n\n{r.rationale}"
    help_text = r.rationale
    if r.bad:
        help_md += f"\n\nBad:\n\n```\n{r.bad}\n```"
        help_text += f"\n\nBad: {r.bad}"
    if r.good:
        help_md += f"\n\nGood:\n\n```\n{r.good}\n```"
        help_text += f"\nGood: {r.good}"
    return {
        "id": r.id,
        "name": r.symbol,
        "shortDescription": {"text": f"{r.id} {r.symbol}"},
        "fullDescription": {"text": r.rationale},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": _LEVEL[r.severity]},
        "properties": {"tags": ["click", "safety"]},
    }


def _uri(path: str, root: str) -> tuple[str, bool]:
    ap = os.path.abspath(path)
    rel = os.path.relpath(ap, root)
    if rel.startswith(".."):
        return "file://" + quote(ap), False
    return quote(rel.replace(os.sep, "/")), True


def to_sarif(
    findings: Iterable[Finding],
    rules: Iterable[Rule],
    root: str,
    fingerprint: Callable[[Finding], str],
) -> dict[str, Any]:
    root = os.path.abspath(root)
    catalog = list(rules)
    index = {r.id: i for i, r in enumerate(catalog)}
    results = []
    for f in findings:
        uri, relative = _uri(f.file, root)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = "%SRCROOT%"
        region: dict[str, Any] = {"startLine": max(f.line, 1)}
        if f.column > 0:
            region["startColumn"] = f.column
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
            "partialFingerprints": {"certifyFinding/v1": fingerprint(f)},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        props: dict[str, Any] = {k: v for k, v in (("network", f.network), ("element", f.element), ("symbol", f.symbol)) if v}
        if f.path:
            props["callPath"] = list(f.path)
        if props:
            result["properties"] = props
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "certify",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(r) for r in catalog],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + quote(root.rstrip("/") + "/")}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
