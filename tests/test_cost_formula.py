"""The one cost model: a record's cost formula parsed once (analyzers/cost/formula.py), its typed symbol fills
(analyzers/cost/fills.py), the packet-path method list (analyzers/cost/methods.py), and the cut search of an
over-budget task (merge/cuts.py)."""

from __future__ import annotations

import math

import pytest

from analyzers.cost.fills import (
    Arg,
    ClassifierWords,
    ConfigSetting,
    ConfigWords,
    Constant,
    Instance,
    Maximum,
    NArgs,
    PacketLength,
    PortCount,
    Unfilled,
    UpTo,
    parse_fill,
    parse_fills,
)
from analyzers.cost.formula import INF, CostFormula, Interval
from analyzers.cost.methods import KERNEL_METHODS, PACKET_METHODS, PATH_METHODS, RUN_TASK
from merge.cuts import Cut, Halves, SplitCosts, best_cut, halves, split_costs
from merge.tasks import TaskCost, instance

SETTINGS = {("LENGTH", 1): "10", ("BURST", None): "4", ("NEG", None): "-2", ("WORD", None): "many"}
INST = Instance(args=("12/0806 20/0001", "12/0800", "-"), setting=lambda kw, pos: SETTINGS.get((kw, pos)),
                ninputs=1, noutputs=3, max_packet=1514)


def cost(text: str, fills: dict[str, str], inst: Instance = INST) -> float:
    return CostFormula.parse(text).instantiate(parse_fills(fills), inst)


@pytest.mark.parametrize("spec, fill", [
    ("packet_length", PacketLength()),
    ("nargs", NArgs()),
    ("ninputs", PortCount(False)),
    ("noutputs", PortCount(True)),
    ("config_words", ConfigWords()),
    ("classifier_words", ClassifierWords()),
    ("config:LENGTH@1", ConfigSetting("LENGTH", 1)),
    ("config:BURST", ConfigSetting("BURST", None)),
    ("arg:2", Arg(2)),
    ("max:15", Maximum(15)),
    ("const:7", Constant(7)),
    ("bogus", Unfilled("bogus")),
])
def test_each_record_string_is_one_typed_fill_and_back(spec, fill):
    assert parse_fill(spec) == fill
    assert fill.spec == spec


@pytest.mark.parametrize("spec", ["max:abc", "arg:x", "const:", "config_word"])
def test_a_malformed_fill_is_unfilled(spec):
    assert parse_fill(spec) == Unfilled(spec)
    assert parse_fill(spec).value(INST) is None


def test_each_fill_kind_on_a_concrete_instance():
    assert PacketLength().value(INST) == UpTo(1514)
    assert NArgs().value(INST) == 3
    assert PortCount(False).value(INST) == 1 and PortCount(True).value(INST) == 3
    assert ConfigWords().value(INST) == 4  # "12/0806", "20/0001", "12/0800", "-"
    assert ClassifierWords().value(INST) == 6  # three two-byte terms: two aligned words each; "-" none
    assert ConfigSetting("LENGTH", 1).value(INST) == 10
    assert ConfigSetting("BURST").value(INST) == 4
    assert ConfigSetting("LENGTH").value(INST) is None  # not given (its default is not known here)
    assert ConfigSetting("NEG").value(INST) is None and ConfigSetting("WORD").value(INST) is None
    numbers = Instance(args=("0", "0x10", "many"))
    assert Arg(1).value(numbers) == 16 and Arg(-1).value(numbers) is None and Arg(5).value(numbers) is None
    assert Maximum(15).value(INST) == UpTo(15)
    assert Constant(7).value(INST) == 7
    assert PortCount(True).value(Instance()) is None  # port counts not known


def test_formulas_instantiate_with_exact_values():
    assert cost("6*p + 12", {"p": "packet_length"}) == 6 * 1514 + 12
    assert cost("2*n + 1", {"n": "nargs"}) == 7
    assert cost("i + 10*o", {"i": "ninputs", "o": "noutputs"}) == 31
    assert cost("8*c + 1", {"c": "config_words"}) == 33
    assert cost("4*w + 8", {"w": "classifier_words"}) == 32
    assert cost("4*_n + 1", {"_n": "config:LENGTH@1"}) == 41
    assert cost("3*h_hl + 57", {"h_hl": "max:15"}) == 102
    assert cost("k*k", {"k": "const:7"}) == 49
    assert cost("ceiling(n/2) + floor(n/2) + Min(n, 1)", {"n": "nargs"}) == 4
    assert cost("24", {}) == 24


def test_the_merge_describes_an_instance_from_its_configuration():
    fills = {"_n": "config:LENGTH@1"}
    assert cost("4*_n + 1", fills, instance("0, 10", 1500)) == 41
    assert cost("4*_n + 1", fills, instance("0, LENGTH 3", 1500)) == 13
    assert cost("4*_n + 1", fills, instance("0", 1500)) == INF
    assert cost("a", {"a": "arg:0"}, instance('"0x20", b', 1500)) == 32  # arguments arrive unquoted
    inst = instance("12/0806 20/0001, 12/0800, -", 1500, (1, 2))
    assert (inst.args, inst.ninputs, inst.noutputs, inst.max_packet) == (("12/0806 20/0001", "12/0800", "-"), 1, 2, 1500)
    assert instance("0, 10", 1500, read_config=False).args == ()  # no fill reads it: not read
    assert [parse_fill(s).reads_config for s in ("nargs", "arg:0", "config_words", "classifier_words", "config:X")] == [True] * 5
    assert not any(parse_fill(s).reads_config for s in ("packet_length", "ninputs", "max:3", "const:1", "bogus"))


def test_unknown_and_unbounded_costs_are_inf():
    assert cost("4*w + 8", {}) == INF  # a symbol nothing fills
    assert cost("4*w + 8", {"w": "bogus"}) == INF  # a fill the model does not know
    assert cost("4*w + 8", {"w": "classifier_words"}, Instance(args=("ip proto tcp",))) == INF  # no patterns
    assert cost("i + 1", {"i": "ninputs"}, Instance()) == INF  # ports not known
    assert cost("x - 5", {"x": "const:2"}) == INF  # negative
    assert cost("100/p", {"p": "packet_length"}) == INF  # division by a ranging symbol: not modelled
    assert cost("1/x", {"x": "const:0"}) == INF  # zoo
    for text in (None, "p_length; rm -rf", "(x", "x +", "1, 2"):
        f = CostFormula.parse(text)
        assert f.expr is None and f.unbounded and cost(text, {"x": "const:1"}) == INF  # type: ignore[arg-type]
    assert CostFormula.parse("2*oo").unbounded and cost("2*oo", {}) == INF
    assert not CostFormula.parse("4*w + 8").unbounded


def test_a_formula_is_parsed_once_and_knows_its_symbols():
    f = CostFormula.parse("Max(0, 60 - p_length) + 4*w")
    assert CostFormula.parse("Max(0, 60 - p_length) + 4*w") is f
    assert f.symbols == ("p_length", "w")  # the functions are not symbols
    assert str(f.expr) == "4*w + Max(0, 60 - p_length)"
    loop_bound = CostFormula.parse("ceiling(log(Max(1, n))/log(2))")
    assert loop_bound.expr is None and loop_bound.written is not None  # not a cost formula, but displayable


def test_interval_bounds():
    f = CostFormula.parse("Max(0, 60 - p) + 3")
    assert f.bounds({"p": Interval(0, 1514)}) == Interval(3, 63)
    assert f.instantiate(parse_fills({"p": "packet_length"}), INST) == 63  # short packets pad the most
    sq = CostFormula.parse("p**2 - 2*p")
    assert sq.bounds({"p": Interval(0, 10)}) == Interval(-20, 100)  # an upper bound, never below the true 80
    assert CostFormula.parse("ceiling(p/4)").bounds({"p": Interval(0, 10)}) == Interval(0, 3)
    assert CostFormula.parse("Min(p, 5)*q").bounds({"p": Interval(0, 10), "q": Interval.point(2)}) == Interval(0, 10)
    assert CostFormula.parse("100/p").bounds({"p": Interval(1, 10)}) == Interval(-INF, INF)
    assert CostFormula.parse("p + 1").bounds({}) == Interval(-INF, INF)  # a symbol outside the box: any value
    assert CostFormula.parse(None).bounds({}) == Interval(-math.inf, math.inf)


def test_one_packet_path_method_list():
    from analyzers import discovery, element_bounds
    from merge import tasks

    assert PACKET_METHODS == ("push", "pull", "simple_action", "smaction", "run_task", "run_timer", "selected")
    assert KERNEL_METHODS == PACKET_METHODS[:-1] and PATH_METHODS == PACKET_METHODS[:4] and RUN_TASK == "run_task"
    assert discovery.PACKET_METHODS is PACKET_METHODS
    assert element_bounds.PACKET_METHODS is KERNEL_METHODS
    assert tasks.PATH_METHODS is PATH_METHODS


def test_the_cut_search_balances_the_halves():
    tc = TaskCost("t", 65.0, ["a", "t", "b", "c"], [10.0, 5.0, 20.0, 30.0], task_index=1)
    split = SplitCosts(queue_push=2, queue_pull=3, unqueue=4)
    assert halves(tc, 0, split) == Halves(3 + 55, 4 + 10 + 2)  # upstream: the new task runs a
    assert halves(tc, 1, split) == Halves(15 + 2, 4 + 3 + 50)  # downstream: the task pushes into the queue
    assert halves(tc, 2, split) == Halves(37, 37)
    assert best_cut(tc, split) == Cut(2, Halves(37, 37)) and best_cut(tc, split).worst == 37  # type: ignore[union-attr]
    assert best_cut(TaskCost("t", 65.0, tc.path, [10.0, 5.0, INF, 30.0], 1), split) is None
    assert best_cut(tc, SplitCosts(2, 3, INF)) is None
    assert best_cut(TaskCost("t", 20.0, ["t", "b"], [10.0, 10.0], 0), SplitCosts(20, 20, 20)) is None  # no cut helps


def test_split_costs_come_from_records_else_declarations():
    records = {"Unqueue": {"cost": {"run_task": "p + 1"}, "cost_symbols": {"p": "packet_length"}}}
    declared = {"Queue": {"cost": {"push": "24", "pull": "20"}}}
    assert split_costs(records, 1500, declared) == SplitCosts(24, 20, 1501)
    assert split_costs({}, 1500) == SplitCosts(INF, INF, INF)
