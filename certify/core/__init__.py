"""The bottom layer: what every package of certify shares, importing nothing of theirs.

* :mod:`certify.core.errors`: :class:`Location`, :class:`Diagnostic` and
  :class:`InputError`, the one error for input certify cannot use;
* :mod:`certify.core.findings`: :class:`Rule` and :class:`Finding`;
* :mod:`certify.core.version`: ``__version__``.
"""

from certify.core.errors import UNKNOWN, Diagnostic, InputError, Location, position
from certify.core.findings import SEVERITIES, Finding, Rule, make_finding
from certify.core.version import __version__

__all__ = ["SEVERITIES", "UNKNOWN", "Diagnostic", "Finding", "InputError", "Location", "Rule", "__version__",
           "make_finding", "position"]
