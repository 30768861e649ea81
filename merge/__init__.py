"""merge: the Click language front end, and (later) the merge of virtual networks.

Entry points::

    graph = load_file("router.click")                  # parse + flatten
    graph = load_text(text, "<stdin>", flatten=False)  # top level only
    text = unparse(graph)

Every malformed configuration raises :class:`ClickError` (file:line:column and
a message); nothing else escapes for bad input.
"""

from merge.errors import ClickError, Diagnostic, Location
from merge.frontend import Parsed, load_file, load_text, parse_file, read_config_file
from merge.graph import same_graph, to_json
from merge.unparse import unparse

__all__ = [
    "ClickError",
    "Diagnostic",
    "Location",
    "Parsed",
    "load_file",
    "load_text",
    "parse_file",
    "read_config_file",
    "same_graph",
    "to_json",
    "unparse",
]
