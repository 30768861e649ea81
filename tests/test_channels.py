"""What a channel carries: the network header offset and the headroom, found statically; when a cut moves."""

import json
import os
import re
import subprocess
import sys

import pytest

from merge.channels import (
    NONE,
    UNKNOWN,
    _check_offset,
    header_offsets,
    headroom_depths,
    needs_header,
)
from merge.lang import load_text

ETHER = ("FromDevice(eth1) -> Strip(14) -> CheckIPHeader -> Counter -> Unstrip(14) "
         "-> EtherEncap(0x0800, 1:1:1:1:1:1, 2:2:2:2:2:2) -> Queue -> ToDevice(eth1);")


def graph(text):
    return load_text(text, "t.click").graph


def test_offsets_and_headroom_along_an_ethernet_chain():
    g = graph(ETHER)
    off = header_offsets(g, {"FromDevice@1": NONE})
    assert off == {("FromDevice@1", 0): NONE, ("Strip@2", 0): NONE, ("CheckIPHeader@3", 0): 0, ("Counter@4", 0): 0,
                   ("Unstrip@5", 0): 14, ("EtherEncap@6", 0): 28, ("Queue@7", 0): 28}
    depth = headroom_depths(g, ["FromDevice@1"])
    assert depth == {("FromDevice@1", 0): 0, ("Strip@2", 0): 14, ("CheckIPHeader@3", 0): 14, ("Counter@4", 0): 14,
                     ("Unstrip@5", 0): 0, ("EtherEncap@6", 0): 0, ("Queue@7", 0): 0}


def test_an_ip_tunnel_starts_at_offset_zero_and_markipheader_reads_its_offset():
    g = graph("FromDevice(eth1) -> Unstrip(14) -> MarkIPHeader(OFFSET 14) -> Strip(4) -> Discard;")
    off = header_offsets(g, {"FromDevice@1": 0})
    assert [off[(n, 0)] for n in ("FromDevice@1", "Unstrip@2", "MarkIPHeader@3", "Strip@4")] == [0, 14, 14, 10]


@pytest.mark.parametrize("config, offset", [
    ("", 0), ("14", 14), ("10.0.0.255, 14", 14), ("OFFSET 22", 22), ("BADSRC 1.2.3.4", 0),
    ("10.0.0.255 10.0.0.0", 0), ("INTERFACES 10.0.0.1/8, OFFSET 14", 14), ("OFFSET x", None),
])
def test_checkipheader_offset_forms(config, offset):
    assert _check_offset(config) == offset


@pytest.mark.parametrize("before, klass, after", [
    (NONE, "StripToNetworkHeader", NONE), (14, "StripToNetworkHeader", 0), (UNKNOWN, "StripToNetworkHeader", UNKNOWN),
    (UNKNOWN, "MarkIPHeader", 0), (UNKNOWN, "IPEncap", 0), (UNKNOWN, "Counter", UNKNOWN), (-6, "EtherEncap", 8),
])
def test_transfer(before, klass, after):
    from merge.channels import transfer

    assert transfer(klass, "", before) == after


def test_two_paths_with_different_offsets_join_to_unknown():
    g = graph("FromDevice(eth1) -> t :: Tee; t[0] -> Strip(14) -> q :: Queue; t[1] -> q; q -> ToDevice(eth1);")
    assert header_offsets(g, {"FromDevice@1": 0})[("q", 0)] == UNKNOWN
    assert headroom_depths(g, ["FromDevice@1"])[("q", 0)] == UNKNOWN


def test_a_cycle_settles():
    g = graph("FromDevice(eth1) -> s :: Strip(1) -> c :: Classifier(0/00, -); c[0] -> s; c[1] -> Discard;")
    assert headroom_depths(g, ["FromDevice@1"])[("c", 1)] == UNKNOWN
    assert header_offsets(g, {"FromDevice@1": 0})[("c", 1)] == UNKNOWN


def test_a_class_of_ones_own_is_unknown():
    g = graph("FromDevice(eth1) -> CheckIPHeader -> MyOwn -> Discard;")
    assert header_offsets(g, {"FromDevice@1": 0})[("MyOwn@3", 0)] == UNKNOWN
    assert headroom_depths(g, ["FromDevice@1"])[("MyOwn@3", 0)] == UNKNOWN


@pytest.mark.parametrize("tail, needed", [
    ("Unstrip(14) -> Queue -> Discard", False),  # nothing reads the IP header
    ("Counter -> SetIPDSCP(1) -> Discard", True),  # SetIPDSCP reads it
    ("CheckIPHeader -> SetIPDSCP(1) -> Discard", False),  # set again before it is read
    ("MyOwn -> Discard", True),  # a class of one's own may read it
])
def test_needs_header(tail, needed):
    g = graph(f"FromDevice(eth1) -> Strip(14) -> x :: Null -> {tail};")
    assert needs_header(g, "x", lambda n: True) is needed


def test_a_cut_with_an_unknown_offset_moves_until_it_is_known(tmp_path):
    """MyOwn (kernel) feeds SetIPDSCP (container): the offset after MyOwn is unknown and SetIPDSCP reads the
    IP header, so MyOwn joins the container and the channel starts where the offset is known."""
    from test_partition import run_merge

    r, out, plan = run_merge(
        tmp_path, "FromDevice(eth1) -> Strip(14) -> CheckIPHeader -> m :: MyOwn -> s :: SetIPDSCP(1) -> Queue "
                  "-> ToDevice(eth1);\n",
        extra=[("MyOwn", "kernel", {"push": "5"}, None), ("SetIPDSCP", "userspace", {"push": "5"}, None)])
    assert r.returncode == 0, r.stderr.decode()
    assert ("MN304: element 'm' of network net moved to its container: the network header offset at channel 0 "
            "(m -> s) is not known statically: the cut moves so that it is") in r.stderr.decode()
    assert plan["placements"]["net"]["m"]["side"] == "user"
    to_user = [c for c in plan["channels"]["net"] if c["direction"] == "to_user"]
    assert [(c["from"], c["to"], c["carries"]) for c in to_user] == [
        ("CheckIPHeader@3", "m", {"annotations": 48, "headroom": 14, "network_header": 0})]
    user = (out / "net" / "user.click").read_text()
    assert "_platform/ch0/header :: MarkIPHeader(14);" in user  # offset 0 after the 14 carried bytes
    assert "_platform/ch0/header [0] -> [0] _platform/ch0/headroom;" in user
    assert "_platform/ch0/headroom [0] -> [0] m;" in user


# -- packet layout facts of one's own classes (analyzers/checks/layout.py) ------------------------------

LAYOUT_FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "layout", "layouts.cc")
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")  # include/: stub headers
FACTS = ("moves_data", "sets_network_header", "reads_network_header", "makes_packets")


def _expected_layouts():
    out = {}
    for line in open(LAYOUT_FIXTURE, encoding="utf-8"):
        m = re.search(r"class (\w+) .*// LAYOUT: (\w+)", line)
        if m:
            klass, fact = m.groups()
            out[klass] = None if fact == "unknown" else {f: f == fact for f in FACTS}
    return out


def test_the_analyzer_finds_each_class_packet_layout():
    r = subprocess.run([sys.executable, "-m", "certify", "element", LAYOUT_FIXTURE, "--click-root", EXAMPLES, "--json"],
                       capture_output=True, text=True)
    got = {e["class"]: e["packet_layout"] for e in json.loads(r.stdout)["elements"]}
    assert got == _expected_layouts()
    assert len(got) == 6


def test_a_class_that_keeps_the_layout_does_not_move_the_cut(tmp_path):
    """As in test_a_cut_with_an_unknown_offset_moves_until_it_is_known, but MyOwn's record says its packet
    path neither moves the data nor sets the header nor makes packets: it stays in the kernel, and the
    network header CheckIPHeader set crosses through it."""
    from test_partition import SYSTEM, write_db

    from element_db.decision import ANALYZER_VERSION, policy_version
    from element_db.record import make_record

    (tmp_path / "system.yaml").write_text(SYSTEM.format(budget=20000))
    (tmp_path / "net.click").write_text("FromDevice(eth1) -> Strip(14) -> CheckIPHeader -> m :: MyOwn -> "
                                        "s :: SetIPDSCP(1) -> Queue -> ToDevice(eth1);\n")
    db = write_db(tmp_path / "db", [("SetIPDSCP", "userspace", {"push": "5"}, None)])
    keeps = {"moves_data": False, "sets_network_header": False, "reads_network_header": True, "makes_packets": False}
    db.write(make_record("MyOwn", [("my.cc", "0" * 64)], ANALYZER_VERSION, policy_version(None), "kernel", ["ok"], [],
                         certified_at="2026-11-25T18:00:00Z", cost={"push": "5"}, packet_layout=keeps))
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", str(tmp_path / "system.yaml"),
                        "--db", db.path, "--no-stock", "--source-root", str(tmp_path), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "MN304" not in r.stderr
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["placements"]["net"]["m"]["side"] == "kernel"
    to_user = [c for c in plan["channels"]["net"] if c["direction"] == "to_user"]
    assert [(c["from"], c["to"], c["carries"]) for c in to_user] == [
        ("m", "s", {"annotations": 48, "headroom": 14, "network_header": 0})]


def test_the_channel_tables_agree_with_the_stock_records_packet_layout():
    """The hand-checked tables and the analyzer's facts on Click's own sources never contradict each other:
    every table class whose record has facts keeps what the table says it keeps and reads what it says."""
    from element_db.store import STOCK_DB
    from merge.channels import KEEPS, READERS, SETS, SHIFTS

    def layout(klass):
        path = os.path.join(STOCK_DB, f"{klass}.json")
        return json.load(open(path, encoding="utf-8")).get("packet_layout") if os.path.exists(path) else None

    checked = 0
    for klass in sorted(KEEPS):
        lay = layout(klass)
        if lay is None:
            continue  # a class whose packet path has an unresolved call: no facts to compare
        checked += 1
        assert not (lay["moves_data"] or lay["sets_network_header"] or lay["makes_packets"]), klass
        assert lay["reads_network_header"] == (klass in READERS), klass
    for klass in SHIFTS:
        assert layout(klass)["moves_data"], klass
    for klass in ("MarkIPHeader", "CheckIPHeader", "IPEncap", "UDPIPEncap", "IPInputCombo"):
        assert klass in SETS and layout(klass)["sets_network_header"], klass
    assert checked == 76  # of the 85 classes in KEEPS (8 have unresolved calls, LookupIPRoute no record)


@pytest.mark.parametrize("run_dir", ["relative/dir", "/with space", "/a/../b", "/semi;colon"])
def test_run_dir_is_an_absolute_plain_path(tmp_path, run_dir):
    """--run-dir is written into shell scripts and systemd units unquoted: anything else is bad input (exit 2)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "certify", "merge", "--system", os.path.join(root, "examples", "e2e",
                        "system.yaml"), "--out", str(tmp_path / "out"), "--run-dir", run_dir], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == (f"certify merge: error: argument --run-dir: {run_dir!r} is not an absolute path of letters, "
                        "digits and . _ - / without '..'\n")
    assert not (tmp_path / "out").exists()
