"""analyzers.cost: the one cost model.

:mod:`analyzers.cost.functions` computes the symbolic worst-case cost of each
function from its loops and calls; :mod:`analyzers.cost.formula` reads such a
cost back from a record (:class:`~analyzers.cost.formula.CostFormula`: parsed
once, instantiated per element instance, bounded by interval arithmetic);
:mod:`analyzers.cost.fills` types what fills each of its symbols from an
element instance; :mod:`analyzers.cost.methods` names the packet-path methods.
"""
