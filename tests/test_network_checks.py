"""Per-network checks: each fixture line marked ``// EXPECT: MNxxx`` must be found, and nothing else.

Fixtures are small configurations of our own; every check has an attempt to
break it and benign look-alikes that must pass.
"""

import glob
import os
import re

import pytest

from merge.checks import check_network, device_argument
from merge.lang.stock_classes import stock_classes, stock_elements
from merge.policy import load_policy
from merge.system import Network, Tunnel, VirtualDevice

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "merge")
CASES = sorted(glob.glob(os.path.join(HERE, "*.click")))
EXPECT = re.compile(r"//\s*EXPECT:\s*((?:MN\d+[ ,]*)+)")


def network(config):
    devices = {
        "eth1": VirtualDevice("eth1", "eth0", Tunnel("192.0.2.1", "203.0.113.7", 1), "ethernet"),
        "eth2": VirtualDevice("eth2", "eth0", Tunnel("192.0.2.1", "203.0.113.7", 2), "ethernet"),
    }
    return Network("net", 1000, config, os.path.basename(config), devices)


def expected(path):
    out = set()
    with open(path) as f:
        for i, line in enumerate(f, 1):
            m = EXPECT.search(line)
            if m:
                out.update((rule, i) for rule in re.findall(r"MN\d+", m.group(1)))
    return out


@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p) for p in CASES])
def test_findings_are_exactly_the_expected_ones(path):
    res = check_network(network(path), load_policy(), stock_elements(), stock_classes())
    got = {(f.rule, f.line) for f in res.findings if f.severity != "note" and f.file == path}
    assert got == expected(path)
    assert all(f.network == "net" for f in res.findings)
    assert res.ok == (not expected(path))


def test_finding_carries_location_symbol_and_message():
    path = os.path.join(HERE, "devices.click")
    res = check_network(network(path), load_policy(), stock_elements(), stock_classes())
    f = next(f for f in res.findings if f.rule == "MN101" and f.line == 3)
    assert (f.file, f.column, f.symbol) == (path, 1, "eth3")
    assert f.message == "FromDevice uses device 'eth3', which is not assigned to network net (assigned: eth1, eth2)"
    assert str(f).startswith(f"{path}:3:1: MN101: ")


def test_policy_file_extends_the_default(tmp_path):
    extra = tmp_path / "policy.yaml"
    extra.write_text("version: 1\nforbidden_classes:\n  EtherMirror: \"site rule: no mirrors\"\n")
    path = os.path.join(HERE, "clean.click")
    res = check_network(network(path), load_policy(str(extra)), stock_elements(), stock_classes())
    assert [(f.rule, f.line, f.message) for f in res.findings if f.severity != "note"] == [
        ("MN102", 3, "class EtherMirror is not allowed in a virtual network: site rule: no mirrors")
    ]


def test_bad_policy_file_is_refused(tmp_path):
    from merge.lang import ClickError

    extra = tmp_path / "policy.yaml"
    extra.write_text("version: 1\ndevice_classes: {FromDevice: sideways}\n")
    with pytest.raises(ClickError) as info:
        load_policy(str(extra))
    assert "device_classes.FromDevice" in info.value.message


@pytest.mark.parametrize(
    "config,device",
    [("eth1", "eth1"), ("eth1, SNIFFER false", "eth1"), ("DEVNAME eth2", "eth2"), ('"eth3"', "eth3"),
     ("SNIFFER false, DEVNAME eth4", "eth4"), ("", None), ("BURST 8", None)],
)
def test_device_argument(config, device):
    assert device_argument(config) == device
