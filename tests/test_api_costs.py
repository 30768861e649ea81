"""Declared costs of trusted API calls (analyzers/api_costs.yaml) and of platform elements
(merge/data/platform_costs.yaml), and the symbols the merger fills from a configuration."""

from __future__ import annotations

import os

import networkx as nx
import pytest
import sympy

from analyzers import apicost
from analyzers.cost.fills import classifier_words
from analyzers.element_bounds import element_bounds
from analyzers.frontend import ParseOptions, parse
from certify.library import policy_version
from merge.tasks import INF, CostModel, instantiate, load_platform_costs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPTS = ParseOptions(includes=(os.path.join(HERE, "fixtures", "include"), os.path.join(ROOT, "examples", "include")))
A = [sympy.Integer(3), sympy.Symbol("p_length"), None]


def table(text: str) -> apicost.ApiCosts:
    return apicost.parse(text, "t.yaml")


def test_element_costs_use_declared_api_costs_and_keep_undeclared_symbols():
    got = element_bounds(parse(os.path.join(HERE, "fixtures", "costs", "declared.cc"), OPTS), OPTS)
    per, costs = got.per_class, got.costs
    assert costs["DeclaredCosts::simple_action"] == "p_length + 29"
    assert costs["DeclaredCosts::copy"] == "cost_HashMap__findp + n + 2"  # memcpy of n bytes: n; findp undeclared
    # update_crc is declared (a2), but this one is the element's own: it cannot vouch for itself
    assert costs["DeclaredCosts::fill"] == "cost_update_crc + 2"
    assert per["DeclaredCosts"]["cost_symbols"] == {"p_length": "packet_length"}


def test_first_match_nargs_signature_and_caller():
    t = table("""
symbols: {words: words}
costs:
  - {match: "Packet::push", nargs: 1, cost: p_length + a0}
  - {match: "Packet::*", cost: 2}
  - {match: "operator==(const IPAddress &*", cost: 3}
  - {match: find, caller: "Good::*", cost: 4*words}
""")
    assert t.cost("Packet::push", "Packet::push(uint32_t)", [sympy.Integer(14)]) == sympy.Symbol(
        "p_length", integer=True, nonnegative=True) + 14
    assert t.cost("Packet::push", "Packet::push(uint32_t)", [None]) is None  # needs a0, which is unknown
    assert t.cost("Packet::data", "Packet::data()", []) == 2
    assert t.cost("Packet::push", "Packet::push(uint32_t, bool)", A[:2]) == 2  # nargs 1 does not apply
    assert t.cost("operator==", "operator==(const IPAddress &, const IPAddress &)", A[:2]) == 3
    assert t.cost("operator==", "operator==(const String &, const String &)", A[:2]) is None
    assert t.cost("find", "find(I, I, const T &)", A, caller="Good::push") == 4 * sympy.Symbol(
        "words", integer=True, nonnegative=True)
    assert t.cost("find", "find(I, I, const T &)", A, caller="Other::push") is None
    assert t.symbols == {"words": "words"}


@pytest.mark.parametrize("text, message", [
    ("costs: [{match: memcpy}]", "costs[0]: each entry needs 'match'"),
    ("costs: [{match: memcpy, cost: 'a2 +'}]", "costs[0]: cost 'a2 +' is not a formula"),
    ("costs: [{match: memcpy, cost: bytes}]", "costs[0]: cost 'bytes' uses undeclared symbols ['bytes']"),
    ("costs: [{match: memcpy, cost: 1, nargs: -1}]", "costs[0]: 'nargs' must be a non-negative integer"),
    ("symbols: [x]\ncosts: []", "'symbols' must map symbol names"),
    ("costs: {}", "expected a mapping with a 'costs' list"),
    ("costs: [", "not YAML"),
])
def test_malformed_tables_are_named_errors(text, message):
    with pytest.raises(apicost.ApiCostError) as e:
        table(text)
    assert str(e.value).startswith("t.yaml") and message in str(e.value)


def test_unresolved_symbols_are_readable_names():
    assert str(apicost.unresolved_symbol("HashMap::findp")) == "cost_HashMap__findp"
    assert str(apicost.unresolved_symbol("IPAddress::operator==")) == "cost_IPAddress__operator_eq_eq"
    assert str(apicost.unresolved_symbol("")) == "cost_call"


def test_the_shipped_tables_load_and_version_the_policy(tmp_path, monkeypatch):
    shipped = apicost.load()
    assert shipped.cost("memcpy", "memcpy(void *, const void *, size_t)", [None, None, sympy.Integer(14)]) == 14
    assert "Classifier" in load_platform_costs() and "FromDevice" in load_platform_costs()
    before = policy_version(None)
    copy = tmp_path / "api_costs.yaml"
    copy.write_text(open(apicost.API_COSTS_FILE).read() + "\n  - {match: strlen, cost: 1}\n")
    monkeypatch.setattr(apicost, "API_COSTS_FILE", str(copy))
    assert policy_version(None) != before  # a changed table makes every record stale


def test_caller_may_be_a_list_of_patterns():
    t = table("""
costs:
  - {match: "Bucket::refill", caller: &reviewed ["Rated::*", "Shaped::push"], cost: 40}
  - {match: "Bucket::drain", caller: *reviewed, cost: 48}
  - {match: "Bucket::*", caller: "", cost: 2}
""")
    assert t.cost("Bucket::refill", "Bucket::refill()", [], caller="Rated::run_task") == 40
    assert t.cost("Bucket::refill", "Bucket::refill()", [], caller="Shaped::push") == 40
    assert t.cost("Bucket::refill", "Bucket::refill()", [], caller="Shaped::pull") == 2  # not listed: next entry
    assert t.cost("Bucket::drain", "Bucket::drain()", [], caller="Rated::push") == 48  # a YAML alias: the same list
    assert t.entry_for("Bucket::refill", "Bucket::refill()", 0, "UnratedRated::push") is t.entries[2]  # whole names
    assert t.declares("Bucket::size")  # an empty caller is no restriction
    for bad in ("[]", "[1]", '["Rated::*", ""]', "{a: b}"):
        with pytest.raises(apicost.ApiCostError, match=r"costs\[0\]: 'caller' must be a qualified-name pattern"):
            table(f"costs: [{{match: f, caller: {bad}, cost: 1}}]")


def test_shipped_declarations_of_rate_limiters_meters_and_ip6_annotations():
    t = apicost.load()
    # TokenBucketX and RateEWMAX take their clock (and RateEWMAX its loop count) from the template parameter:
    # declared only for the Click elements whose parameter type was reviewed
    for caller in ("RatedSplitter::push", "BandwidthRatedSplitter::push", "RatedUnqueue::run_task",
                   "BandwidthRatedUnqueue::run_task", "RatedSource::pull"):
        assert t.cost("TokenBucketX::refill", "TokenBucketX::refill()", [], caller) == 40
        assert t.cost("TokenBucketX::remove_if", "TokenBucketX::remove_if(token_type)", [None], caller) == 48
        assert t.cost("TokenBucketX::contains", "TokenBucketX::contains(token_type)", [None], caller) == 48
        assert t.cost("TokenBucketX::remove", "TokenBucketX::remove(token_type)", [None], caller) == 48
        assert t.cost("TokenBucketX::time_until_contains", "TokenBucketX::time_until_contains(token_type)",
                      [None], caller) == 64
    assert t.cost("TokenBucketX::refill", "TokenBucketX::refill()", [], "MyShaper::push") is None
    for caller in ("Counter::simple_action", "BandwidthMeter::push", "Meter::push"):
        assert t.cost("RateEWMAX::update", "RateEWMAX::update(signed_value_type, unsigned int)", [None, None],
                      caller) == 16 * 99 + 64
    assert t.cost("RateEWMAX::update", "RateEWMAX::update(signed_value_type, unsigned int)", [None, None],
                  "IPRateMonitor::push") is None  # its own parameter type: two rates
    assert t.cost("RateEWMAX::scaled_average", "RateEWMAX::scaled_average(unsigned int)", [None], "Any::f") == 2
    # GapRate is no template; the IPv6 destination annotation is 16 bytes
    assert t.cost("GapRate::need_update", "GapRate::need_update(const Timestamp &)", [None]) == 32
    assert t.cost("GapRate::update", "GapRate::update()", []) == 2
    assert t.cost("GapRate::update_with", "GapRate::update_with(int)", [None]) == 2
    assert t.cost("DST_IP6_ANNO", "DST_IP6_ANNO(Packet *)", [None]) == 8
    assert t.cost("SET_DST_IP6_ANNO", "SET_DST_IP6_ANNO(Packet *, const IP6Address &)", [None, None]) == 24
    # in6_fast_cksum reads ntohs(len2) bytes: len2's value is no count (byte order), its type bounds it
    sig = "in6_fast_cksum(const in6_addr *, const in6_addr *, uint16_t, uint8_t, uint16_t, const unsigned char *, " \
          "uint16_t)"
    assert t.cost("in6_fast_cksum", sig, [None] * 7) == 65535 + 160
    assert t.cost("in6_fast_cksum", sig, [None] * 6 + [sympy.Integer(8)]) == 65535 + 160  # 8 is 2048 bytes
    # no fallback for a length the analysis does not know: int, size_t and uint32_t lengths have no useful bound
    assert t.cost("click_in_cksum", "click_in_cksum(const unsigned char *, int)", [None, None]) is None
    assert t.cost("memcpy", "memcpy(void *, const void *, size_t)", [None, None, None]) is None
    assert t.cost("Packet::make", "Packet::make(uint32_t)", [None]) is None


def test_element_costs_use_the_rate_and_annotation_declarations():
    opts = ParseOptions(includes=(os.path.join(HERE, "fixtures", "costs", "api", "include"), *OPTS.includes))
    got = element_bounds(parse(os.path.join(HERE, "fixtures", "costs", "api", "rated.cc"), opts), opts)
    per, costs = got.per_class, got.costs
    assert costs["RatedSplitter::push"] == "96"  # refill 40 + remove_if 48, the calls and the push
    assert costs["RatedSplitter::wait"] == "66"  # time_until_contains: 64
    assert costs["BandwidthMeter::simple_action"] == "1657"  # update: 16*99 + 64; scaled_average: 2
    assert costs["UnreviewedRate::simple_action"] == "cost_RateEWMAX__update + cost_TokenBucketX__refill + 3"
    assert costs["ShapedAnno::due"] == "39"  # need_update 32, update_with 2
    assert costs["ShapedAnno::simple_action"] == "35"  # SET_DST_IP6_ANNO 24, DST_IP6_ANNO 8
    assert costs["ShapedAnno::sum"] == "65697"  # in6_fast_cksum: 65535 + 160 whatever its length
    assert costs["ShapedAnno::ipsum"] == "len + 2"  # click_in_cksum of a known length: that many bytes
    assert costs["ShapedAnno::datasum"] == "cost_click_in_cksum + 4"  # an unknown length: not declared
    assert all(per[k]["cost_symbols"] == {} for k in ("RatedSplitter", "BandwidthMeter", "ShapedAnno"))


def test_classifier_words():
    assert classifier_words(["12/0806 20/0001", "12/0800", "-"]) == 2 + 2 + 2
    assert classifier_words(["0/0123456789abcdef"]) == 3  # 8 bytes: two words, plus one for alignment
    assert classifier_words(["!12/08??%fff0"]) == 2
    assert classifier_words(["tcp port 80"]) is None  # not Classifier patterns: the cost is unknown
    assert instantiate("4*w + 8", {"w": "classifier_words"}, "12/0806 20/0001, 12/0800, -", 1500) == 32
    assert instantiate("4*w + 8", {"w": "classifier_words"}, "ip proto tcp", 1500) == INF
    assert instantiate("8*c + 1", {"c": "config_words"}, "INTERFACES 10.0.0.1/24 10.0.1.1/24, VERBOSE true", 1500) == 41


def test_declared_platform_costs_apply_to_platform_elements_only():
    g = nx.MultiDiGraph()
    g.add_node("platform/q", klass="Queue", config="")
    g.add_node("net/q", klass="Queue", config="")
    declared = {"Queue": {"cost": {"push": "24", "pull": "24"}}}
    records = {"Queue": {"cost": {"push": "cost_FullNoteQueue__push_success + 1"}}}
    m = CostModel(g, records, {}, 1500, frozenset(), declared, frozenset({"platform/q"}))
    assert m.cost("platform/q") == 24 and m.used_declared == {"platform/q"}
    assert m.cost("net/q") == INF  # a network's own Queue is judged by its record alone
    finite = {"Queue": {"cost": {"push": "7"}}}
    m = CostModel(g, finite, {}, 1500, frozenset(), declared, frozenset({"platform/q"}))
    assert m.cost("platform/q") == 7 and m.used_declared == set()  # a derived cost wins over a declaration


def test_members_read_from_configuration_are_filled_from_the_instance():
    from analyzers.element_bounds import config_fill

    one_chain = 'int X::configure(Vector<String> &conf, ErrorHandler *errh) {\n' \
                '    return Args(conf, this, errh).read_mp("OFFSET", _off).read_p("LENGTH", _n).read("X", _x).complete();\n}\n'
    assert config_fill(one_chain, "_n", "LENGTH") == "config:LENGTH@1"
    assert config_fill(one_chain, "_x", "X") == "config:X"  # keyword only
    assert config_fill(one_chain + "int X::initialize(ErrorHandler *) { _n = _n * 2; return 0; }\n", "_n", "LENGTH") is None
    assert config_fill(one_chain + "void X::push(int, Packet *p) { _n++; }\n", "_n", "LENGTH") is None
    assert config_fill(one_chain + "bool X::f() { return _n == 3; }\n", "_n", "LENGTH") == "config:LENGTH@1"
    two_chains = one_chain + 'int X::other(Vector<String> &conf) { return Args(conf).read_p("LENGTH", _n).complete(); }\n'
    assert config_fill(two_chains, "_n", "LENGTH") == "config:LENGTH"  # which position is not clear: keyword only
    fill = {"_n": "config:LENGTH@1"}
    assert instantiate("4*_n + 1", fill, "0, 10", 1500) == 41
    assert instantiate("4*_n + 1", fill, "0, LENGTH 3", 1500) == 13
    assert instantiate("4*_n + 1", fill, "0", 1500) == INF  # not given: its default is not known here
    assert instantiate("4*_n + 1", fill, "0, -2", 1500) == INF
    assert instantiate("4*_n + 1", fill, "0, many", 1500) == INF


def test_own_header_methods_clang_sizeof_and_bitfields():
    got = element_bounds(parse(os.path.join(HERE, "fixtures", "costs", "owned.cc"), OPTS), OPTS)
    per, costs = got.per_class, got.costs
    # checksum() in owned.hh: 8 iterations, costed from its body; sizeof(struct hdr) with bit-fields: 4 (clang)
    assert costs["OwnedBase::checksum"] == "36"
    assert costs["Owned::simple_action"] == "3*h_hl + 57"
    assert per["Owned"]["cost_symbols"] == {"h_hl": "max:15"}  # unsigned hl : 4
    loop = per["OwnedBase"]["loops"][0]
    assert (os.path.basename(loop["file"]), loop["line"], loop["bound"]) == ("owned.hh", 19, "8")
    assert instantiate("3*h_hl + 57", per["Owned"]["cost_symbols"], "", 1500) == 102


def test_range_symbols_take_the_formula_s_largest_value():
    pl = {"p": "packet_length"}
    assert instantiate("Max(0, 60 - p) + 3", pl, "", 1514) == 63  # short packets pad the most
    assert instantiate("6*p + 12", pl, "", 1514) == 6 * 1514 + 12
    assert instantiate("p**2 - 2*p", pl, "", 10) == 100  # an upper bound: never below the true maximum (80)
    assert instantiate("100/p", pl, "", 10) == INF  # not modelled: unknown


def test_an_elements_own_header_cannot_claim_a_declared_cost(tmp_path):
    """Outside the Click tree, a header routine named like trusted API is costed from its body."""
    path = os.path.join(HERE, "fixtures", "costs", "impostor", "impostor.cc")
    got = element_bounds(parse(path, OPTS), OPTS)
    _, costs = got.per_class, got.costs
    assert costs["Impostor::simple_action"] is None and costs["Storage::head"] is None  # its while loop: unbounded
    trusted = ParseOptions(click_root=os.path.join(HERE, "fixtures", "costs"), includes=OPTS.includes)
    got = element_bounds(parse(path, trusted), trusted)
    _, costs = got.per_class, got.costs
    assert costs["Impostor::simple_action"] == "8"  # inside the named Click tree: Storage::* is declared (2)
