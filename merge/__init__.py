"""merge: the merge of virtual networks into one master configuration.

:mod:`merge.lang` is the Click language front end (lexer, parser, scoping,
flattening, configuration strings, unparsing), a layer of its own that imports
only :mod:`certify.core`.  Above it: the per-network checks (:mod:`merge.checks`,
:mod:`merge.ports`), the system file (:mod:`merge.system`), the merge
(:mod:`merge.combine`), the partition between kernel and containers
(:mod:`merge.partition`, :mod:`merge.channels`, :mod:`merge.tasks`,
:mod:`merge.pipeline`) and the launch files (:mod:`merge.launch`).
"""
