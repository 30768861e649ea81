"""Errors and warnings of the Click language front end.

Malformed input raises :class:`ClickError`; it always carries the file, line and
column of the offending text so that the command line can print the one-line
``file:line:col: error: message`` form and exit with status 2.  Warnings (Click's
own ``lwarning`` cases) never stop a parse; they are collected as
:class:`Diagnostic` values and returned with the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from certify.findings import position


@dataclass(frozen=True, order=True)
class Location:
    """A position in a configuration: file name, 1-based line and column (0: unknown).

    Printed as compilers do: ``file:line:col``, ``file:line`` when the column is
    unknown, ``file`` alone when the line is unknown too (a file that cannot be
    read, a missing option: ``certify: error: ...``)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return position(self.file, self.line, self.column)


UNKNOWN = Location("<unknown>", 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    """A warning (or note) attached to a location."""

    location: Location
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class ClickError(Exception):
    """A configuration that Click would refuse, with where and why."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: error: {message}")
        self.location = location
        self.message = message

    def __str__(self) -> str:
        return f"{self.location}: error: {self.message}"
