"""Errors and warnings of the Click language front end.

Malformed input raises :class:`ClickError`, the core's :class:`InputError` for
a configuration Click would refuse; it always carries the file, line and column
of the offending text.  Warnings (Click's own ``lwarning`` cases) never stop a
parse; they are collected as :class:`Diagnostic` values and returned with the
result.
"""

from __future__ import annotations

from certify.core.errors import UNKNOWN, Diagnostic, InputError, Location


class ClickError(InputError):
    """A configuration that Click would refuse, with where and why."""


__all__ = ["UNKNOWN", "ClickError", "Diagnostic", "Location"]
