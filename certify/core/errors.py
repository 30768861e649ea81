"""Where things are, and the one error for bad input.

Every input a user gives certify (a configuration, a system file, a policy, a
database directory, a plan, a baseline) that cannot be used raises
:class:`InputError`, which carries the :class:`Location` of the offending text;
the command line prints it as ``file:line:col: error: message`` and exits with
status 2.  Warnings that never stop a run are :class:`Diagnostic` values.
"""

from __future__ import annotations

from dataclasses import dataclass


def position(file: str, line: int, column: int) -> str:
    """``file:line:col`` as compilers print it: ``file:line`` when the column is unknown (0),
    ``file`` alone when the line is unknown too, never ``file:0:0``."""
    if line <= 0:
        return file
    if column <= 0:
        return f"{file}:{line}"
    return f"{file}:{line}:{column}"


@dataclass(frozen=True, order=True)
class Location:
    """A position in an input file: file name, 1-based line and column (0: unknown).

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


class InputError(Exception):
    """Input certify cannot use, with where and why (exit status 2)."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: error: {message}")
        self.location = location
        self.message = message

    def __str__(self) -> str:
        return f"{self.location}: error: {self.message}"
