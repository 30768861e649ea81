"""The element policy: which Click API is trusted, which APIs are the kernel's, and what each rule does.

A policy is YAML or JSON validated by ``policy.schema.json`` (JSON Schema
2020-12).  The shipped default (``policy_default.yaml``) is always loaded; a
user policy extends it (lists are added to, maps are updated key by key), so a
user can trust more API, name more kernel APIs, or move a rule to another
verdict class.  What each rule does by default (its verdict class) is not in
the policy file: it is the rule's ``effect`` in the one registry
(:func:`certify.core.rules.default_effects`); a policy's ``verdicts`` change it.
Name matching is fnmatch over qualified names with template arguments dropped
(``Vector::push_back``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml

from analyzers.rules import BY_ID
from certify.core.rules import default_effects

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_POLICY = os.path.join(HERE, "policy_default.yaml")
SCHEMA = os.path.join(HERE, "policy.schema.json")
VERDICT_CLASSES = ("reject", "userspace", "error", "none")


class PolicyError(Exception):
    """A policy file that cannot be read or does not match the schema; str() is one located line."""


class _Patterns:
    """A set of fnmatch patterns compiled into one regular expression."""

    def __init__(self, patterns: Iterable[str]) -> None:
        pats = list(patterns)
        self.regex = re.compile("|".join(fnmatch.translate(p) for p in pats)) if pats else None

    def match(self, name: str) -> bool:
        return bool(self.regex and self.regex.match(name))


@dataclass
class Policy:
    verdicts: dict[str, str]
    severities: dict[str, str] = field(default_factory=dict)
    unsuppressible: frozenset[str] = frozenset()
    lists: dict[str, list[str]] = field(default_factory=dict)
    path: str | None = None  # the user's policy file extending the shipped one, when there is one
    # platform policy: may tenants call the write handlers of kernel elements?  False (the shipped default): only
    # the platform operator reaches them, as reconfiguration, so what handlers do counts as configuration time
    # for loop bounds (analyzers.element_bounds); True: a container a handler grows bounds no loop
    tenant_write_handlers: bool = False

    def __post_init__(self) -> None:
        self._compiled = {k: _Patterns(v) for k, v in self.lists.items()}

    def matches(self, list_name: str, name: str) -> bool:
        p = self._compiled.get(list_name)
        return bool(p and p.match(name))

    def verdict_class(self, rule_id: str) -> str:
        return self.verdicts.get(rule_id, "userspace")  # an unlisted rule is never harmless

    def severity(self, rule_id: str) -> str:
        return self.severities.get(rule_id, BY_ID[rule_id].severity if rule_id in BY_ID else "error")


def _read(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise PolicyError(f"certify: error: cannot read policy {path}: {e.strerror}") from e
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise PolicyError(f"{path}:{e.lineno}:{e.colno}: error: {e.msg}") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PolicyError(f"{path}:{line}:{col}: error: invalid YAML: {getattr(e, 'problem', e)}") from e


def _validate(doc: Any, path: str) -> dict[str, Any]:
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if err is not None:
        raise PolicyError(f"{path}:1:1: error: policy {err.json_path}: {err.message}")
    assert isinstance(doc, dict)
    for rid in list(doc.get("verdicts", {})) + list(doc.get("severities", {})) + list(doc.get("unsuppressible", [])):
        if rid not in BY_ID:
            raise PolicyError(f"{path}:1:1: error: policy names unknown rule {rid}")
    return doc


def load_policy(path: str | None = None) -> Policy:
    """The default policy, extended by ``path`` when given; the verdict classes start from the registry's effects."""
    base = _validate(_read(DEFAULT_POLICY), DEFAULT_POLICY)
    docs = [base]
    if path:
        docs.append(_validate(_read(path), path))
    verdicts: dict[str, str] = default_effects()
    severities: dict[str, str] = {}
    unsuppressible: set[str] = set()
    lists: dict[str, list[str]] = {}
    tenant_write_handlers = False
    for d in docs:
        tenant_write_handlers = bool(d.get("tenant_write_handlers", tenant_write_handlers))
        verdicts.update(d.get("verdicts", {}))
        severities.update(d.get("severities", {}))
        unsuppressible.update(d.get("unsuppressible", []))
        for k, v in d.items():
            if isinstance(v, list) and k != "unsuppressible":
                lists.setdefault(k, []).extend(v)
    return Policy(verdicts, severities, frozenset(unsuppressible), lists, path or None, tenant_write_handlers)
