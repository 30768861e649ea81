"""The network policy: which classes a virtual network may not use, which classes
name devices, which run tasks, how many packets a task handles per run, and
whether the shipped stock database is the bottom layer of the certified-element
database (``stock_database``; ``--no-stock`` turns it off too), and the limits on
what one network's configuration may expand to (``limits``: the fields of
:class:`merge.lang.limits.Limits`, each checked while the configuration is
expanded; a user file's entries replace the default's one by one).

The shipped default is ``merge/data/network_policy.yaml``; a user file of the
same shape extends it (its entries are added, or replace the default's).  Both
are validated against a JSON Schema; a bad policy is refused with the JSON path
of the bad value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml

from merge.lang.errors import ClickError, Location
from merge.lang.limits import DEFAULT_LIMITS, MAXIMUM, Limits

DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "network_policy.yaml")

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "device_classes": {
            "type": "object",
            "additionalProperties": {"enum": ["source", "sink"]},
        },
        "forbidden_classes": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "task_classes": {"type": "array", "items": {"type": "string"}},
        "stock_database": {"type": "boolean"},
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: {"type": "integer", "minimum": 1, **({"maximum": MAXIMUM[name]} if name in MAXIMUM else {})}
                           for name in Limits.names()},
        },
        "task_bursts": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["default"],
                "additionalProperties": False,
                "properties": {
                    "keyword": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"},
                    "position": {"type": "integer", "minimum": 0},
                    "default": {"type": "integer", "minimum": 1},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Policy:
    device_classes: dict[str, str] = field(default_factory=dict)
    forbidden_classes: dict[str, str] = field(default_factory=dict)
    task_classes: frozenset[str] = frozenset()
    task_bursts: dict[str, dict[str, Any]] = field(default_factory=dict)  # class -> packets per task run
    stock_database: bool = True  # the shipped stock records are the bottom database layer
    limits: Limits = DEFAULT_LIMITS  # what one network's configuration may expand to


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise ClickError(Location(path, 0, 0), f"cannot read policy: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1, 1)
        raise ClickError(loc, f"policy is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    v = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(v.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        e = errors[0]
        raise ClickError(Location(path, 1, 1), f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}")
    assert isinstance(data, dict)
    return data


def load_policy(extra: str | None = None) -> Policy:
    docs = [_read(DEFAULT)] + ([_read(extra)] if extra else [])
    devices: dict[str, str] = {}
    forbidden: dict[str, str] = {}
    tasks: set[str] = set()
    bursts: dict[str, dict[str, Any]] = {}
    stock = True
    limits: dict[str, int] = {}
    for d in docs:
        devices.update(d.get("device_classes", {}))
        forbidden.update(d.get("forbidden_classes", {}))
        tasks.update(d.get("task_classes", []))
        bursts.update(d.get("task_bursts", {}))
        stock = bool(d.get("stock_database", stock))
        limits.update(d.get("limits", {}))
    return Policy(devices, forbidden, frozenset(tasks), bursts, stock, Limits(**limits))
