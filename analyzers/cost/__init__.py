"""analyzers.cost: the one cost model.

:mod:`analyzers.cost.functions` computes the symbolic worst-case cost of each
function from its loops and calls.
"""
