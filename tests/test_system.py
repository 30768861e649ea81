"""System configuration: the schema and the checks a schema cannot make."""

import copy
import json

import pytest
import yaml

from merge.lang import ClickError
from merge.system import load_system

BASE = {
    "version": 1,
    "platform": {"task_budget": 20000, "max_packet_length": 1514, "accounting": "none"},
    "physical": {
        "eth0": {"address": "192.0.2.1", "ether": "02:00:00:00:00:01", "gateway_ether": "02:00:00:00:00:fe"},
        "eth1": {"address": "198.51.100.1", "ether": "02:00:00:00:01:01", "gateway_ether": "02:00:00:00:01:fe"},
    },
    "networks": {
        "alice": {
            "uid": 1001, "context": 101, "cpu_share": 0.5, "bandwidth": "10Mbps", "config": "a.click",
            "devices": {"eth1": {"physical": "eth0", "tunnel": {"local": "192.0.2.1", "remote": "203.0.113.7", "key": 42},
                                 "inner": "ethernet", "address": "10.1.0.1/24"}},
        },
        "bob": {
            "uid": 1002, "context": 102, "cpu_share": 0.5, "config": "b.click",
            "devices": {"eth1": {"physical": "eth0", "tunnel": {"local": "192.0.2.1", "remote": "203.0.113.7", "key": 43},
                                 "inner": "ip"}},
        },
    },
}


def write(tmp_path, data, as_json=False):
    for name in ("a.click", "b.click"):
        (tmp_path / name).write_text("Idle -> Discard;\n")
    p = tmp_path / ("system.json" if as_json else "system.yaml")
    p.write_text(json.dumps(data, indent=2) if as_json else yaml.safe_dump(data, sort_keys=False))
    return str(p)


def mutate(path, value):
    data = copy.deepcopy(BASE)
    d = data
    for k in path[:-1]:
        d = d[k]
    if value is KeyError:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    return data


def test_base_is_valid_yaml_and_json(tmp_path):
    s = load_system(write(tmp_path, BASE))
    assert sorted(s.networks) == ["alice", "bob"]
    assert s.networks["bob"].devices["eth1"].gre_protocol == 0x0800
    assert s.networks["alice"].devices["eth1"].tunnel.key == 42
    s2 = load_system(write(tmp_path, BASE, as_json=True))
    assert s2.networks == s.networks


BAD = [
    (("networks", "alice", "devices", "eth1", "tunnel", "remote"), "203.0.113",
     "networks.alice.devices.eth1.tunnel.remote: not an IPv4 address"),
    (("physical", "eth0", "address"), "192.0.2.300", "physical.eth0.address: not an IPv4 address"),
    (("networks", "alice", "uid"), KeyError, "networks.alice: missing required field 'uid'"),
    (("networks", "alice", "colour"), "red", "networks.alice: unknown field 'colour'"),
    (("networks", "alice", "devices", "eth1", "inner"), "ipx", "networks.alice.devices.eth1.inner: 'ipx' is not one of: ethernet, ip"),
    (("networks", "alice", "bandwidth"), "fast", "networks.alice.bandwidth: 'fast' is not of the form"),
    (("physical", "eth0", "ether"), "02:00:00:00:00", "physical.eth0.ether: '02:00:00:00:00' is not an Ethernet address"),
    (("networks", "alice", "devices", "eth1", "tunnel", "key"), -1, "tunnel.key: -1 is out of range"),
    (("version",), 2, "version: must be 1"),
    (("networks", "alice", "devices", "eth1", "physical"), "eth7", "networks.alice.devices.eth1.physical: no physical device 'eth7'"),
    (("networks", "alice", "devices", "eth1", "tunnel", "local"), "192.0.2.9",
     "networks.alice.devices.eth1.tunnel.local: 192.0.2.9 is not the address of physical device eth0 (192.0.2.1)"),
    (("networks", "bob", "devices", "eth1", "tunnel", "key"), 42,
     "networks.bob.devices.eth1.tunnel: cannot be told apart from networks.alice.devices.eth1.tunnel"),
    (("networks", "bob", "cpu_share"), 0.6, "networks: cpu_share values sum to 1.1, above 1"),
    (("networks", "bob", "config"), "missing.click", "networks.bob.config: configuration file 'missing.click' does not exist"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[m.split(":")[0] for _, _, m in BAD])
def test_refused_with_json_path(tmp_path, path, value, message):
    p = write(tmp_path, mutate(path, value))
    with pytest.raises(ClickError) as info:
        load_system(p)
    assert message in str(info.value.message), info.value.message
    assert info.value.location.file == p and info.value.location.line >= 1
    if path != ("version",):
        assert info.value.location.line > 1


def test_error_location_points_at_the_value(tmp_path):
    p = tmp_path / "s.yaml"
    (tmp_path / "a.click").write_text("Idle -> Discard;")
    p.write_text(
        "version: 1\nplatform: {}\nphysical:\n  eth0: {address: 192.0.2.1, ether: '02:00:00:00:00:01', gateway_ether: '02:00:00:00:00:fe'}\n"
        "networks:\n  alice:\n    uid: 1\n    config: a.click\n    devices:\n      eth1:\n        physical: eth0\n"
        "        tunnel: {local: 192.0.2.1, remote: 10.0.0.300}\n        inner: ethernet\n"
    )
    with pytest.raises(ClickError) as info:
        load_system(str(p))
    assert (info.value.location.line, info.value.location.column) == (12, 44)


def test_network_name_platform_is_reserved(tmp_path):
    data = copy.deepcopy(BASE)
    data["networks"]["platform"] = data["networks"].pop("bob")
    with pytest.raises(ClickError) as info:
        load_system(write(tmp_path, data))
    assert "'platform' is reserved" in info.value.message


def test_vserver_needs_contexts(tmp_path):
    data = mutate(("platform", "accounting"), "vserver")
    del data["networks"]["bob"]["context"]
    with pytest.raises(ClickError) as info:
        load_system(write(tmp_path, data))
    assert info.value.message == "networks.bob: 'accounting: vserver' needs a 'context' for every network"


def test_bad_yaml(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("version: 1\nnetworks: {alice: [\n")
    with pytest.raises(ClickError) as info:
        load_system(str(p))
    assert info.value.message.startswith("not valid YAML or JSON")


@pytest.mark.parametrize(
    "path,value",
    [
        # same remote end, different keys: told apart by the key
        (("networks", "bob", "devices", "eth1", "tunnel", "key"), 44),
        # same remote and no key on both, but on different physical devices
        (("networks", "bob", "devices", "eth1"), {"physical": "eth1", "tunnel": {"local": "198.51.100.1", "remote": "203.0.113.7", "key": 42}, "inner": "ip"}),
        # shares summing to exactly 1
        (("networks", "bob", "cpu_share"), 0.5),
        # no cpu share at all
        (("networks", "bob", "cpu_share"), KeyError),
    ],
)
def test_benign_look_alikes_pass(tmp_path, path, value):
    load_system(write(tmp_path, mutate(path, value)))


def test_keyless_and_keyed_tunnels_with_same_addresses_are_distinct(tmp_path):
    data = copy.deepcopy(BASE)
    del data["networks"]["alice"]["devices"]["eth1"]["tunnel"]["key"]
    data["networks"]["bob"]["devices"]["eth1"]["tunnel"]["key"] = 0
    load_system(write(tmp_path, data))
