"""merge.lang: the Click language front end, a layer that imports only :mod:`certify.core`.

Entry points::

    graph = load_file("router.click")                  # parse + flatten
    graph = load_text(text, "<stdin>", flatten=False)  # top level only
    text = unparse(graph)
    plain = load_plain_file("router.click")            # the same content, without networkx

Every malformed configuration raises :class:`ClickError` (file:line:column and
a message); nothing else escapes for bad input.  The modules: :mod:`lexer`,
:mod:`parser` and :mod:`ast` (the syntax), :mod:`build` and :mod:`router`
(scoping, compound classes), :mod:`flatten`, :mod:`graph` (networkx, or plain data),
:mod:`confparse` (configuration strings, as Click's ``cp_*``), :mod:`unparse`,
:mod:`frontend` (the pipeline of all of them).
"""

from merge.lang.errors import ClickError, Diagnostic, Location
from merge.lang.frontend import Parsed, load_file, load_plain_file, load_plain_text, load_text, parse_file, read_config_file
from merge.lang.graph import PlainGraph, same_graph, to_json
from merge.lang.unparse import unparse

__all__ = [
    "ClickError",
    "Diagnostic",
    "Location",
    "Parsed",
    "PlainGraph",
    "load_file",
    "load_plain_file",
    "load_plain_text",
    "load_text",
    "parse_file",
    "read_config_file",
    "same_graph",
    "to_json",
    "unparse",
]
