"""What a bound's symbol stands for, where the analysis knows it: typed facts, one small type per kind.

What it decides: the facts :mod:`analyzers.bounds` reports per symbol of a bound
or a cost (``BoundsReport.symbols``) and :mod:`analyzers.element_bounds` turns
into what fills the symbol in a record:

* :class:`ConfigurationArgument`: a member set from a configuration keyword in a
  Click ``configure()`` (:func:`configuration_fillers`);
* :class:`PacketLength`: ``p_length``, read from a packet's ``length()``, ``network_length()`` or
  ``transport_length()`` (never a member or parameter named ``*_length``): at most the packet's length;
* :class:`UnsignedBitField`: a member that is an unsigned bit-field of ``bits`` bits.

``str()`` of each is the text ``certify bounds`` prints and its JSON carries
(``configuration argument N``, ``packet length``, ``unsigned bit-field of 4 bits``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigurationArgument:
    """A member read from configuration argument ``keyword`` in ``configure()``."""

    keyword: str

    def __str__(self) -> str:
        return f"configuration argument {self.keyword}"


@dataclass(frozen=True)
class PacketLength:
    """The length of a packet."""

    def __str__(self) -> str:
        return "packet length"


@dataclass(frozen=True)
class UnsignedBitField:
    """A member that is an unsigned bit-field ``bits`` wide: at most ``2**bits - 1``."""

    bits: int

    def __str__(self) -> str:
        return f"unsigned bit-field of {self.bits} bits"


SymbolFact = ConfigurationArgument | PacketLength | UnsignedBitField

_READ = re.compile(r'\bread\w*\s*\(\s*"(\w+)"\s*,\s*(?:\w+\s*\(\s*)?(?:this\s*->\s*)?(\w+)')
_KPARSE = re.compile(r'"(\w+)"\s*,\s*cpk\w*\s*,\s*cp\w+\s*,\s*&\s*(?:this\s*->\s*)?(\w+)')


def configuration_fillers(tokens: list[str]) -> dict[str, str]:
    """Members set from configuration keywords in a Click configure(): ``Args(...).read("N", _n)``
    (also ``read_mp``, ``read_or_set`` ..., and ``cp_va_kparse(..., "N", cpkP, cpInteger, &_n)``)."""
    text = " ".join(tokens)
    out: dict[str, str] = {}
    for pattern in (_READ, _KPARSE):
        for key, member in pattern.findall(text):
            out.setdefault(member, key)
    return out
