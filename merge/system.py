"""The system configuration: physical devices, platform limits, virtual networks.

Decides whether a system configuration (YAML or JSON; JSON is read as YAML)
is acceptable, and turns it into plain data.  Validation has two stages:

1. the JSON Schema shipped in ``merge/data/system.schema.json`` (Draft
   2020-12, with formats such as ``ipv4`` checked), reporting the JSON path of
   the bad value (``networks.alice.devices.eth1.tunnel.remote: not an IPv4
   address``) and its line and column in the file;
2. what a schema cannot say: a virtual device rides on a declared physical
   device and its tunnel's local address is that device's address; no two
   tunnels on one physical device share (outer destination, outer source,
   key) -- incoming GRE packets could not be told apart; CPU shares sum to at
   most 1; ``accounting: vserver`` needs a context per network; every network's
   configuration file exists (paths are relative to the system file).

Every refusal is a :class:`~merge.lang.errors.ClickError` located in the system file.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml

from merge.lang.errors import ClickError, Location

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "system.schema.json")
DEFAULT_TASK_BUDGET = 20000
DEFAULT_MAX_PACKET = 1514
DEFAULT_QUEUE_CAPACITY = 1000
DEFAULT_DISPATCH_LEAF = 16  # tunnels one dispatch Classifier tells apart before a tree is built

_FORMAT_WORDS = {"ipv4": "an IPv4 address"}
_PATTERN_WORDS = {
    "device_name": "a device name (a letter or _, then up to 14 letters, digits or _.:-)",
    "network_name": "a network name (a letter or _, then up to 31 letters, digits or _)",
    "ether": "an Ethernet address (six hex bytes separated by ':' or '-')",
}


@dataclass(frozen=True)
class Tunnel:
    local: str
    remote: str
    key: int | None = None


@dataclass(frozen=True)
class VirtualDevice:
    name: str  # the name the network's configuration uses (eth1)
    physical: str
    tunnel: Tunnel
    inner: str  # "ethernet" (GRE 0x6558) or "ip" (GRE 0x0800)
    address: str | None = None

    @property
    def gre_protocol(self) -> int:
        return 0x6558 if self.inner == "ethernet" else 0x0800


@dataclass(frozen=True)
class Physical:
    name: str
    address: str
    ether: str
    gateway_ether: str


@dataclass(frozen=True)
class Network:
    name: str
    uid: int
    config: str  # absolute path
    config_as_written: str
    devices: dict[str, VirtualDevice]
    context: int | None = None
    cpu_share: float | None = None
    bandwidth: str | None = None


@dataclass(frozen=True)
class Platform:
    task_budget: int = DEFAULT_TASK_BUDGET
    ns_per_unit: float | None = None
    max_packet_length: int = DEFAULT_MAX_PACKET
    accounting: str = "none"
    queue_capacity: int = DEFAULT_QUEUE_CAPACITY
    dispatch_leaf: int = DEFAULT_DISPATCH_LEAF


@dataclass(frozen=True)
class System:
    path: str
    platform: Platform
    physical: dict[str, Physical]
    networks: dict[str, Network]
    positions: dict[tuple[str, ...], Location] = field(default_factory=dict, compare=False, repr=False)

    def location(self, *path: str) -> Location:
        """Where a value of the system file is (its nearest located ancestor)."""
        p = tuple(path)
        while p and p not in self.positions:
            p = p[:-1]
        return self.positions.get(p, Location(self.path, 1, 1))


@functools.cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _positions(node: yaml.Node, path: tuple[str, ...], file: str, out: dict[tuple[str, ...], Location]) -> None:
    out[path] = Location(file, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = str(k.value)
            out[path + (key,)] = Location(file, v.start_mark.line + 1, v.start_mark.column + 1)
            _positions(v, path + (key,), file, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _positions(v, path + (str(i),), file, out)


def _dotted(path: tuple[str, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _message(err: jsonschema.ValidationError) -> str:
    v = err.validator
    if v == "format":
        return f"not {_FORMAT_WORDS.get(str(err.validator_value), 'a valid ' + str(err.validator_value))}"
    if v == "required":
        missing = [r for r in err.validator_value if isinstance(err.instance, dict) and r not in err.instance]
        return f"missing required field '{missing[0] if missing else err.validator_value}'"
    if v == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed) if isinstance(err.instance, dict) else []
        return f"unknown field '{extra[0]}'" if extra else err.message
    if v == "pattern":
        ref = ""
        for name, d in schema()["$defs"].items():
            if d.get("pattern") == err.validator_value:
                ref = name
        what = _PATTERN_WORDS.get(ref, f"of the form {err.validator_value}")
        return f"{err.instance!r} is not {what}"
    if v == "not":
        return f"{err.instance!r} is reserved"
    if v == "enum":
        return f"{err.instance!r} is not one of: {', '.join(map(str, err.validator_value))}"
    if v == "const":
        return f"must be {err.validator_value!r}"
    if v == "type":
        return f"{err.instance!r} is not of type {err.validator_value}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{err.instance!r} is out of range ({v} {err.validator_value})"
    if v == "minProperties":
        return "must not be empty"
    return err.message


def load_system(path: str) -> System:
    """Read and validate a system configuration file; raise ClickError when refused."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as exc:
        raise ClickError(Location(path, 0, 0), f"cannot read system configuration: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ClickError(Location(path, 1, 1), f"system configuration is not UTF-8 text ({exc.reason})") from None
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    try:
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path, 1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ClickError(loc, f"not valid YAML or JSON: {problem}") from None
    positions: dict[tuple[str, ...], Location] = {}
    if node is not None:
        _positions(node, (), path, positions)

    def located(p: tuple[str, ...] | list[Any]) -> Location:
        t = tuple(str(x) for x in p)
        while t and t not in positions:
            t = t[:-1]
        return positions.get(t, Location(path, 1, 1))

    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), str(e.validator)))
    if errors:
        err = errors[0]
        # prefer the most specific error at the deepest path
        deepest = max(errors, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(err.absolute_path):
            err = deepest
        p = list(err.absolute_path)
        raise ClickError(located(p), f"{_dotted(p)}: {_message(err)}")
    assert isinstance(data, dict)  # the schema says so
    return _build(path, data, positions, located)


def _build(path: str, data: dict[str, Any], positions: dict[tuple[str, ...], Location], located: Any) -> System:
    base = os.path.dirname(os.path.abspath(path))
    pl = data.get("platform", {})
    platform = Platform(
        task_budget=pl.get("task_budget", DEFAULT_TASK_BUDGET),
        ns_per_unit=pl.get("ns_per_unit"),
        max_packet_length=pl.get("max_packet_length", DEFAULT_MAX_PACKET),
        accounting=pl.get("accounting", "none"),
        queue_capacity=pl.get("queue_capacity", DEFAULT_QUEUE_CAPACITY),
        dispatch_leaf=pl.get("dispatch_leaf", DEFAULT_DISPATCH_LEAF),
    )
    physical = {
        name: Physical(name, d["address"], d["ether"], d["gateway_ether"]) for name, d in sorted(data["physical"].items())
    }
    networks: dict[str, Network] = {}
    seen_tunnels: dict[tuple[str, str, str, int | None], tuple[str, ...]] = {}
    total_share = 0.0
    for nname in sorted(data["networks"]):
        nd = data["networks"][nname]
        devices: dict[str, VirtualDevice] = {}
        for dname in sorted(nd["devices"]):
            dd = nd["devices"][dname]
            where = ("networks", nname, "devices", dname)
            phys = dd["physical"]
            if phys not in physical:
                raise ClickError(
                    located(where + ("physical",)),
                    f"{_dotted(where + ('physical',))}: no physical device '{phys}' (declared: {', '.join(physical)})",
                )
            t = dd["tunnel"]
            tunnel = Tunnel(t["local"], t["remote"], t.get("key"))
            if tunnel.local != physical[phys].address:
                p = where + ("tunnel", "local")
                raise ClickError(
                    located(p),
                    f"{_dotted(p)}: {tunnel.local} is not the address of physical device {phys} ({physical[phys].address})",
                )
            ident = (phys, tunnel.local, tunnel.remote, tunnel.key)
            if ident in seen_tunnels:
                other = seen_tunnels[ident]
                raise ClickError(
                    located(where + ("tunnel",)),
                    f"{_dotted(where + ('tunnel',))}: cannot be told apart from {_dotted(other + ('tunnel',))} "
                    f"(same physical device {phys}, outer destination {tunnel.local}, outer source {tunnel.remote} "
                    f"and key {'none' if tunnel.key is None else tunnel.key}): give one of them a distinct key",
                )
            seen_tunnels[ident] = where
            devices[dname] = VirtualDevice(dname, phys, tunnel, dd["inner"], dd.get("address"))
        config = os.path.normpath(os.path.join(base, nd["config"]))
        if not os.path.isfile(config):
            cp_ = ("networks", nname, "config")
            raise ClickError(located(cp_), f"{_dotted(cp_)}: configuration file '{nd['config']}' does not exist ({config})")
        if platform.accounting == "vserver" and "context" not in nd:
            np_ = ("networks", nname)
            raise ClickError(located(np_), f"{_dotted(np_)}: 'accounting: vserver' needs a 'context' for every network")
        total_share += float(nd.get("cpu_share", 0.0))
        networks[nname] = Network(
            nname, nd["uid"], config, nd["config"], devices, nd.get("context"), nd.get("cpu_share"), nd.get("bandwidth")
        )
    if total_share > 1.0 + 1e-9:
        raise ClickError(located(("networks",)), f"networks: cpu_share values sum to {total_share:g}, above 1")
    return System(os.path.abspath(path), platform, physical, networks, positions)
