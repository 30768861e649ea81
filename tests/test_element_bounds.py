"""Bounds in element verdicts fail closed: a bound analysis that fails, or never sees a packet method, is not kernel."""

import os

import analyzers.element_bounds as eb
from analyzers.analysis import analyze_file
from analyzers.frontend import ParseOptions, parse
from analyzers.policy import load_policy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPTS = ParseOptions(includes=(os.path.join(HERE, "fixtures", "include"), os.path.join(ROOT, "examples", "include")))
GOOD = os.path.join(HERE, "fixtures", "analyzers", "KS502", "good_bounded_loop.cc")


def test_bounded_element_is_kernel_with_its_cost():
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "kernel"
    assert rep.cost == {"simple_action": "7*p_length + 12"} and rep.cost_symbols == {"p_length": "packet_length"}


def test_a_failing_bound_analysis_is_never_kernel(monkeypatch):
    def boom(parsed, opts, path=None, grown=None):
        raise RuntimeError("simulated")

    monkeypatch.setattr(eb, "element_bounds", boom)
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "userspace"
    assert [f.rule for f in rep.findings] == ["KS502"] and rep.cost == {"simple_action": None}


def test_a_packet_method_the_bound_analysis_never_saw_is_never_kernel(monkeypatch):
    monkeypatch.setattr(eb, "element_bounds", lambda parsed, opts, path=None, grown=None: eb.ElementBounds({}, {}))
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert rep.verdict == "userspace"
    f = rep.findings[0]
    assert (f.rule, f.line, f.message) == ("KS502", 9, "packet-path method SumBytes::simple_action was not "
                                           "bound-analyzed (its body is outside this file)")
    # the finding's element is the class and its symbol the method, as for every other finding (they were swapped)
    assert (f.element, f.symbol) == ("SumBytes", "SumBytes::simple_action")


def test_checks_and_bounds_share_one_parse(monkeypatch):
    """analyze_file parses the element file once: the bound analysis works on the checks' translation unit."""
    import clang.cindex as ci

    calls = []
    parse = ci.Index.parse

    def counted(self, path, *args, **kwargs):
        calls.append(path)
        return parse(self, path, *args, **kwargs)

    monkeypatch.setattr(ci.Index, "parse", counted)
    rep = analyze_file(GOOD, OPTS, load_policy()).elements[0]
    assert calls == [GOOD]
    assert rep.cost == {"simple_action": "7*p_length + 12"}


def test_the_shared_parse_gives_what_a_parse_of_its_own_gives():
    """element_bounds on the checks' parse equals a separate certify-bounds analysis of the file with its headers."""
    from analyzers.bounds import analyze
    from analyzers.frontend import parse

    owned = os.path.join(HERE, "fixtures", "costs", "owned.cc")
    got = eb.element_bounds(parse(owned, OPTS), OPTS)
    per, costs = got.per_class, got.costs
    alone = analyze([owned], OPTS, own_headers=True)
    assert costs == {f.name: str(f.cost) for f in alone.functions}
    assert [lp for c in per.values() for lp in c["loops"]] == [
        {k: v for k, v in lp.items() if k in eb._LOOP_KEYS} for lp in alone.to_json()["loops"]]


def test_symbol_facts_are_typed_and_keep_their_text():
    from analyzers.bounds import analyze
    from analyzers.symbolfacts import ConfigurationArgument, PacketLength, UnsignedBitField

    members = analyze([os.path.join(HERE, "fixtures", "bounds", "members.cc")], OPTS)
    assert members.symbols["_burst"] == ConfigurationArgument("BURST")
    assert members.symbols["p_length"] == PacketLength()
    assert members.to_json()["symbols"]["_burst"] == "configuration argument BURST"
    owned = analyze([os.path.join(HERE, "fixtures", "costs", "owned.cc")], OPTS, own_headers=True)
    assert owned.symbols["h_hl"] == UnsignedBitField(4)
    assert owned.to_json()["symbols"]["h_hl"] == "unsigned bit-field of 4 bits"


def test_own_files_and_bound_headers_come_from_one_include_list(tmp_path):
    """The checks take the files beside the element that it includes itself; the bounds also the headers those
    include beside it (a base class's header); both from Parsed.beside."""
    from analyzers.analysis import own_files
    from analyzers.bounds import _own_headers
    from analyzers.frontend import parse

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.hh").write_text("int other();\n")
    (tmp_path / "base.hh").write_text("int base();\n")
    (tmp_path / "table.icc").write_text("int table();\n")
    (tmp_path / "elem.hh").write_text('#include "base.hh"\n#include "sub/other.hh"\nint elem();\n')
    (tmp_path / "elem.cc").write_text('#include "elem.hh"\n#include "table.icc"\nint f() { return 0; }\n')
    parsed = parse(str(tmp_path / "elem.cc"), OPTS)
    assert parsed.beside(direct=True) == [str(tmp_path / "elem.hh"), str(tmp_path / "table.icc")]
    assert own_files(parsed) == [str(tmp_path / n) for n in ("elem.cc", "elem.hh", "table.icc")]
    assert _own_headers(parsed) == [str(tmp_path / "base.hh"), str(tmp_path / "elem.hh")]


def test_an_element_file_named_dot_c_is_bound_on_the_cpp_parse_its_checks_use(tmp_path):
    """Element files are C++ whatever their suffix (certify element parses them so): the bounds come from that
    parse.  (A separate bound analysis parsed a .c file as C, failed on the class, and left the methods unbounded.)"""
    path = tmp_path / "good.c"
    path.write_text(open(GOOD, encoding="utf-8").read())
    rep = analyze_file(str(path), OPTS, load_policy()).elements[0]
    assert rep.verdict == "kernel" and rep.cost == {"simple_action": "7*p_length + 12"}


def test_handler_growth_is_configuration_time_unless_tenants_may_call_write_handlers():
    """The platform policy (tenant_write_handlers, analyzers/policy_default.yaml): false, a table only a write
    handler grows bounds the packet path's loop; true, the loop is KS502 at the handler's growth."""
    import dataclasses

    path = os.path.join(HERE, "fixtures", "adversarial", "growth", "good_handler_filled.cc")
    shipped = load_policy()
    assert shipped.tenant_write_handlers is False
    rep = analyze_file(path, OPTS, shipped).elements[0]
    assert rep.verdict == "kernel" and rep.cost["simple_action"] is not None
    rep = analyze_file(path, OPTS, dataclasses.replace(shipped, tenant_write_handlers=True)).elements[0]
    assert rep.verdict == "userspace" and rep.cost["simple_action"] is None
    assert [(f.rule, f.line) for f in rep.findings] == [("KS502", 13)]
    assert "_entries" in rep.findings[0].message and "good_handler_filled.cc:21" in rep.findings[0].message


def test_a_contradicted_loopbound_annotation_reaches_the_element_verdict(tmp_path):
    """KS501 (the analysis proves more iterations than a loopbound annotation allows) is a packet-path finding."""
    path = tmp_path / "annotated.cc"
    path.write_text(open(GOOD, encoding="utf-8").read().replace(
        "for (unsigned i = 0; i < p->length(); i++)", "for (unsigned i = 0; i < 8; i++)  // certify: loopbound 3"))
    rep = analyze_file(str(path), OPTS, load_policy()).elements[0]
    assert [(f.rule, f.line) for f in rep.findings] == [("KS501", 12)]
    assert rep.verdict == "userspace"


def test_only_a_packets_length_accessors_are_filled_with_the_packet_length():
    """A member named ``*_length`` is a member: filled from its keyword when configure reads it, else not at all
    (it used to be filled with the platform's maximum packet length by its name: a cost below the real one)."""
    opts = ParseOptions(includes=(os.path.join(HERE, "fixtures", "include"), os.path.join(ROOT, "examples", "include")))
    got = eb.element_bounds(parse(os.path.join(HERE, "fixtures", "costs", "lengths.cc"), opts), opts)
    assert got is not None
    assert got.per_class["Lengths"]["cost_symbols"] == {"p_length": "packet_length", "_data_length": "config:LENGTH@0"}
    assert "_scratch_length" in got.costs["Lengths::simple_action"]


def test_loops_of_a_macro_body_are_read_per_expansion():
    """The token memo is keyed by a cursor's raw range: every cursor of a macro expansion has the invocation's range
    in the file, and keyed by that, the second read handed the first one's tokens (both loops went unbounded)."""
    path = os.path.join(HERE, "fixtures", "analyzers", "macros", "checks_in_macro.cc")
    rep = analyze_file(path, OPTS, load_policy()).elements[0]
    assert [(loop["line"], loop["status"], loop["bound"]) for loop in rep.loops] == [(20, "exact", "1"), (21, "exact", "1")]
