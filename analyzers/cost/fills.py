"""Symbol fills: what gives each symbol of a cost formula its value for one element instance.

A certified record's ``cost_symbols`` maps each symbol of its cost formulas to
a fill, stored as a short string (the record format; it does not change).
:func:`parse_fill` reads one into a typed value, once per string:

==========================  ==================  ===========================================
record string               fill                value for an instance
==========================  ==================  ===========================================
``packet_length``           :class:`PacketLength`   any length from 0 to the platform's maximum
``nargs``                   :class:`NArgs`          how many configuration arguments
``arg:N``                   :class:`Arg`            the integer value of argument N
``ninputs``, ``noutputs``   :class:`PortCount`      the instance's input or output port count
``config_words``            :class:`ConfigWords`    whitespace-separated words of the arguments
``classifier_words``        :class:`ClassifierWords`  32-bit words its Classifier patterns compare
``config:KEYWORD@N``        :class:`ConfigSetting`  the integer given by keyword, else as positional
``config:KEYWORD``                                  argument N (not given, or negative: unknown)
``max:V``                   :class:`Maximum`        any value from 0 to V
``const:V``                 :class:`Constant`       V
anything else               :class:`Unfilled`       unknown
==========================  ==================  ===========================================

A fill computes its value from an :class:`Instance`: the element instance as
the merge describes it.  The merge reads the Click configuration string
(merge.lang.confparse) and hands over its arguments split and unquoted, and a
reader of one argument by keyword or position; the analyzers never parse the
Click language themselves.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar


def _not_given(keyword: str, position: int | None) -> str | None:
    return None


@dataclass(frozen=True)
class Instance:
    """One element instance, as far as its cost depends on it."""

    args: tuple[str, ...] = ()
    """Its configuration arguments, split at unquoted commas and unquoted."""
    setting: Callable[[str, int | None], str | None] = field(default=_not_given, compare=False)
    """The value of one configuration argument given by keyword, else the positional argument at that position,
    unquoted; None when the configuration does not give it (merge: ``confparse.config_value`` on its config)."""
    ninputs: int | None = None
    """Its input port count; None: not known."""
    noutputs: int | None = None
    """Its output port count; None: not known."""
    max_packet: int = 0
    """The platform's maximum packet length."""


@dataclass(frozen=True)
class UpTo:
    """A symbol that takes any value from 0 to ``hi``: the cost is the formula's largest value over that range."""

    hi: int


FillValue = int | UpTo | None
"""What a fill gives for one instance: a value, a range from 0, or None (unknown: the cost is unbounded)."""


@dataclass(frozen=True)
class Fill:
    """What fills one symbol; :meth:`value` is the symbol's value for an instance."""

    reads_config: ClassVar[bool] = False
    """Whether the value depends on the instance's configuration (``args`` or ``setting``)."""

    def value(self, inst: Instance) -> FillValue:
        raise NotImplementedError

    @property
    def spec(self) -> str:
        """The fill as a record stores it."""
        raise NotImplementedError


@dataclass(frozen=True)
class PacketLength(Fill):
    def value(self, inst: Instance) -> FillValue:
        return UpTo(inst.max_packet)

    @property
    def spec(self) -> str:
        return "packet_length"


@dataclass(frozen=True)
class NArgs(Fill):
    reads_config = True

    def value(self, inst: Instance) -> FillValue:
        return len(inst.args)

    @property
    def spec(self) -> str:
        return "nargs"


@dataclass(frozen=True)
class PortCount(Fill):
    outputs: bool  # False: ninputs; True: noutputs

    def value(self, inst: Instance) -> FillValue:
        return inst.noutputs if self.outputs else inst.ninputs

    @property
    def spec(self) -> str:
        return "noutputs" if self.outputs else "ninputs"


@dataclass(frozen=True)
class ConfigWords(Fill):
    reads_config = True

    def value(self, inst: Instance) -> FillValue:
        return sum(len(a.split()) for a in inst.args)

    @property
    def spec(self) -> str:
        return "config_words"


@dataclass(frozen=True)
class ClassifierWords(Fill):
    reads_config = True

    def value(self, inst: Instance) -> FillValue:
        return classifier_words(inst.args)

    @property
    def spec(self) -> str:
        return "classifier_words"


@dataclass(frozen=True)
class ConfigSetting(Fill):
    """The integer an instance gives for a configuration argument its configure() reads: by ``keyword``, else as
    positional argument ``position``.  Not given (its default is not known here), negative or not an integer:
    unknown."""

    keyword: str
    position: int | None = None
    reads_config = True

    def value(self, inst: Instance) -> FillValue:
        raw = inst.setting(self.keyword, self.position)
        if raw is None:
            return None
        try:
            n = int(raw, 0)
        except ValueError:
            return None
        return n if n >= 0 else None

    @property
    def spec(self) -> str:
        return f"config:{self.keyword}" + (f"@{self.position}" if self.position is not None else "")


@dataclass(frozen=True)
class Arg(Fill):
    """The integer value of configuration argument ``index`` (Python indexing); unknown when it is not one."""

    index: int
    reads_config = True

    def value(self, inst: Instance) -> FillValue:
        try:
            return int(inst.args[self.index], 0)
        except (ValueError, IndexError):
            return None

    @property
    def spec(self) -> str:
        return f"arg:{self.index}"


@dataclass(frozen=True)
class Maximum(Fill):
    """A declared maximum: any value from 0 to ``hi`` (an unsigned bit-field of w bits: 2^w - 1)."""

    hi: int

    def value(self, inst: Instance) -> FillValue:
        return UpTo(self.hi)

    @property
    def spec(self) -> str:
        return f"max:{self.hi}"


@dataclass(frozen=True)
class Constant(Fill):
    constant: int

    def value(self, inst: Instance) -> FillValue:
        return self.constant

    @property
    def spec(self) -> str:
        return f"const:{self.constant}"


@dataclass(frozen=True)
class Unfilled(Fill):
    """A fill this cost model does not know (or a malformed one): the symbol's value is unknown."""

    text: str

    def value(self, inst: Instance) -> FillValue:
        return None

    @property
    def spec(self) -> str:
        return self.text


_SIMPLE: dict[str, Fill] = {"packet_length": PacketLength(), "nargs": NArgs(), "ninputs": PortCount(False),
                            "noutputs": PortCount(True), "config_words": ConfigWords(),
                            "classifier_words": ClassifierWords()}


@functools.lru_cache(maxsize=1024)
def parse_fill(spec: str) -> Fill:
    """The typed fill of one ``cost_symbols`` value."""
    if spec in _SIMPLE:
        return _SIMPLE[spec]
    try:
        if spec.startswith("config:"):  # config:KEYWORD or config:KEYWORD@POSITION (the element's configure())
            kw, _, pos = spec[7:].partition("@")
            return ConfigSetting(kw, int(pos) if pos.isdigit() else None)
        if spec.startswith("arg:"):
            return Arg(int(spec[4:]))
        if spec.startswith("max:"):
            return Maximum(int(spec[4:]))
        if spec.startswith("const:"):
            return Constant(int(spec[6:]))
    except ValueError:
        pass
    return Unfilled(spec)


def parse_fills(cost_symbols: Mapping[str, str]) -> dict[str, Fill]:
    """A record's ``cost_symbols`` as typed fills, by symbol."""
    return {name: parse_fill(spec) for name, spec in cost_symbols.items()}


_TERM = re.compile(r"!?(\d+)/([0-9a-fA-F?]+)(?:%([0-9a-fA-F]+))?")


def classifier_words(args: Sequence[str]) -> int | None:
    """How many 32-bit words a Classifier's patterns (its arguments, unquoted) compare: each
    ``offset/value[%mask]`` term spans at most ceil(bytes/4) + 1 aligned words; ``-``, ``true`` and ``false``
    compare none.  None: not Classifier patterns."""
    total = 0
    for arg in args:
        for term in arg.split():
            if term in ("-", "true", "false", "!true", "!false"):
                continue
            m = _TERM.fullmatch(term)
            if m is None:
                return None
            nbytes = (len(m.group(2)) + 1) // 2
            total += -(-nbytes // 4) + 1
    return total


__all__ = ["Arg", "ClassifierWords", "ConfigSetting", "ConfigWords", "Constant", "Fill", "FillValue", "Instance",
           "Maximum", "NArgs", "PacketLength", "PortCount", "Unfilled", "UpTo", "classifier_words", "parse_fill",
           "parse_fills"]
