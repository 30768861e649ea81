"""Master and containers together in real user-level Click: examples/e2e, three networks, two devices.

Needs root (network namespaces and veth pairs), iproute2 and a built user-level ``click`` on PATH; skips
cleanly otherwise.  The scenario and its checks live in examples/realclick.py (the demo runs the same).
"""


import pytest
import realclick

WHY = realclick.unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return realclick.run(str(tmp_path_factory.mktemp("realclick")))


def test_the_partition_is_the_one_the_scenario_is_about(result):
    plan = result.plan
    assert plan.get("certification") != "none"
    for net in realclick.NETWORKS:  # certification puts some of each network in its container
        assert plan["networks"][net]["user"]["elements"], net
    assert plan["splits"], "the budget splits at least one task"
    sides = {n: {e: p["side"] for e, p in pl.items()} for n, pl in plan["placements"].items()}
    # SetIPDSCP casts ip_header() to uint16_t*: packet data, kernel since issue 15; IPClassifier stays out
    assert sides["alice"]["SetIPDSCP@6"] == "kernel" and sides["alice"]["CheckIPHeader@4"] == "kernel"
    # StoreIPAddress is kernel since analyzer 0.4.0 (its KS404 was an implicit copy of 'c ? a : b'): carol's
    # packets go kernel -> container (IPClassifier) -> kernel (StoreIPAddress reads the destination annotation
    # CheckIPHeader set, after its round trip) -> container (Counter)
    assert sides["carol"]["StoreIPAddress@6"] == "kernel" and sides["carol"]["CheckIPHeader@3"] == "kernel"
    assert sides["carol"]["ipc"] == "user" and sides["carol"]["cnt"] == "user"
    # the network header CheckIPHeader set in the kernel crosses to IPClassifier (offset 0,
    # with the 14 bytes Strip(14) left before it, which Unstrip(14) re-exposes after the way back)
    to_user = {n: [c["carries"] for c in cs if c["direction"] == "to_user"] for n, cs in plan["channels"].items()}
    assert to_user["alice"] == [{"annotations": 48, "headroom": 14, "network_header": 0}]
    assert to_user["carol"] == [{"annotations": 48, "headroom": 14, "network_header": 0}] * 2
    assert to_user["bob"] == [{"annotations": 48, "headroom": 0, "network_header": 0}]


def test_every_packet_leaves_exactly_as_its_network_makes_it(result):
    assert result.problems == []
    for net in realclick.NETWORKS:
        for phase in (0, 2):
            assert result.arrived(net, phase) == (3, 3), (net, phase)


def test_a_killed_container_loses_only_its_own_packets(result):
    assert result.master_status == 0, result.master_stderr[-1000:]
    assert "Assertion" not in result.master_stderr
    assert result.arrived("alice", 1) == (0, 3)  # dead: its packets of that phase are lost, nobody else's
    assert result.arrived("bob", 1) == (3, 3)
    assert result.arrived("carol", 1) == (3, 3)


def test_counters_are_read_from_the_process_that_holds_them(result):
    # AverageCounter is kernel-certified: in the master, it saw every IP packet of every phase
    assert result.master_counters == {"alice/seen.count": 9, "bob/seen.count": 9, "carol/seen.count": 12}
    # Counter given COUNT_CALL is userspace-only (without it, kernel): in the containers; alice's started again
    # for the last phase
    assert result.container_counters == {"alice": 3, "bob": 9, "carol": 9}
