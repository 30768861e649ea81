"""The explicit list of checks run by the one shared walk, one module per check family."""

from __future__ import annotations

from typing import Any

from analyzers.checks.alias import AliasCheck
from analyzers.checks.calls import CallCheck
from analyzers.checks.kernel import KernelCheck
from analyzers.checks.layout import LayoutCheck
from analyzers.checks.router import RouterCheck
from analyzers.checks.state import StateCheck
from analyzers.checks.trusted import TrustedCheck
from analyzers.checks.unsafe import UnsafeCheck


def all_checks() -> list[Any]:
    """Fresh instances of every check, in a fixed order."""
    return [CallCheck(), StateCheck(), RouterCheck(), KernelCheck(), UnsafeCheck(), LayoutCheck(), TrustedCheck(), AliasCheck()]
