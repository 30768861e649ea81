"""Rule catalog of the configuration checks (ids MN1xx: network isolation, MN2xx: ports).

Each rule is data: a stable id and symbol, the message template, severity,
why it exists, and a bad and a good example for reports.
"""

from __future__ import annotations

from certify.core.findings import Rule

PARSE_ERROR = Rule(
    "MN100", "config-error", "{detail}", "error",
    "A configuration that does not parse and flatten exactly as Click reads it cannot be checked or merged.",
    bad="Idle -> -> Discard;", good="Idle -> Discard;",
)
UNASSIGNED_DEVICE = Rule(
    "MN101", "unassigned-device",
    "{klass} uses device '{device}', which is not assigned to network {network} (assigned: {assigned})", "error",
    "A network may only touch the virtual devices the platform gave it; any other name is another network's "
    "device or the host's.",
    bad="FromDevice(eth3)  // eth3 is not in this network's devices", good="FromDevice(eth1)  // eth1 is assigned",
)
FORBIDDEN_CLASS = Rule(
    "MN102", "forbidden-class", "class {klass} is not allowed in a virtual network: {reason}", "error",
    "Some classes reach outside the network (host stack, sockets, files, router-wide control, scheduling); "
    "the list is the network policy.",
    bad="ToHost;", good="Discard;",
)
UNKNOWN_CLASS = Rule(
    "MN103", "unknown-class",
    "class {klass} is not a stock Click element class; it needs a certification record before it can be merged",
    "error",
    "The merger only places elements it knows; an unknown class may do anything.",
    bad="MyElement;", good="Counter;",
)
REQUIRE_LIBRARY = Rule(
    "MN104", "require-library",
    "require(library {library}) reads a file outside the network's configuration", "error",
    "A library is read from the platform's file system and CLICKPATH; a network's configuration must be "
    "self-contained.",
    bad="require(library /etc/router/common.click);", good="(write the classes into the configuration)",
)
REQUIRE_PACKAGE = Rule(
    "MN105", "require-package", "require(package {package}) loads code into the shared router", "error",
    "A package is compiled code loaded into the shared kernel router; it must come through certification.",
    bad='require(package "mypackage");', good="(use certified classes)",
)
RESERVED_NAME = Rule(
    "MN106", "reserved-name", "element name '{name}' is in the platform's reserved namespace '{reserved}'", "error",
    "The merger names the elements it adds under each network's reserved prefix; a network's own element there "
    "could be confused with, or connected in place of, a platform element.",
    bad="_platform/out :: Queue;", good="out :: Queue;",
)
DEVICE_READ_TWICE = Rule(
    "MN107", "device-read-twice", "device '{device}' is read by more than one element ({others})", "error",
    "Each virtual device's incoming packets are delivered once, to one element.",
    bad="FromDevice(eth1) -> a; PollDevice(eth1) -> b;", good="FromDevice(eth1) -> Tee -> a, b;",
)
BAD_DEVICE_ARGUMENT = Rule(
    "MN108", "device-argument", "{klass} has no device name argument", "error",
    "The device a device element uses must be visible in its configuration.",
    bad="FromDevice;", good="FromDevice(eth1);",
)

PORT_COUNT = Rule(
    "MN201", "port-count", "'{name}' ({klass}) {detail}", "error",
    "Click refuses an element used with more or fewer ports than its class has (click-check).",
    bad="Idle -> Discard [1] -> Idle;", good="Idle -> Discard;",
)
UNCONNECTED_PORT = Rule(
    "MN202", "unconnected-port", "'{name}' ({klass}) {side} {port} is not connected", "error",
    "Click refuses an element with a port in its range left unconnected.",
    bad="t :: Tee; Idle -> t; t [0] -> Discard; t [2] -> Discard;", good="t [1] -> Discard;",
)
PUSH_PULL = Rule(
    "MN203", "push-pull", "{detail}", "error",
    "A push output must meet a push input and a pull output a pull input; agnostic ports take their "
    "neighbours' (click-check).",
    bad="Idle -> Queue -> Discard -> ToDevice(eth1);", good="Idle -> Queue -> ToDevice(eth1);",
)
MULTIPLE_CONNECTIONS = Rule(
    "MN204", "port-connected-twice", "'{name}' ({klass}) {kind} {side} {port} is connected more than once", "error",
    "A push output or a pull input can be connected to one port only (use Tee or a scheduler).",
    bad="s :: Idle; s -> Discard; s -> Discard;", good="s -> Tee(2) => Discard, Discard;",
)
UNKNOWN_PORTS = Rule(
    "MN205", "ports-unknown", "ports of '{name}' ({klass}) are not known; its port checks are skipped", "note",
    "Port metadata comes from the stock element table (later the certified-element database).",
)

RULES = [
    PARSE_ERROR, UNASSIGNED_DEVICE, FORBIDDEN_CLASS, UNKNOWN_CLASS, REQUIRE_LIBRARY, REQUIRE_PACKAGE, RESERVED_NAME,
    DEVICE_READ_TWICE, BAD_DEVICE_ARGUMENT, PORT_COUNT, UNCONNECTED_PORT, PUSH_PULL, MULTIPLE_CONNECTIONS, UNKNOWN_PORTS,
]
BY_ID = {r.id: r for r in RULES}
assert len(BY_ID) == len(RULES)

# -- partition (MN3xx) -----------------------------------------------------------------------
UNCERTIFIED_ELEMENT = Rule(
    "MN301", "uncertified-element", "element '{element}' of network {network}: class {klass} cannot run anywhere: {reason}",
    "error",
    "An element runs in the kernel only with a fresh 'kernel' record and in the network's container only with a "
    "fresh 'userspace' one; a missing, stale or invalid record places it nowhere, so the merge is refused.",
    bad="Idle -> MyElement -> Discard;  // never certified", good="certify MyElement, then merge",
)
REJECTED_ELEMENT = Rule(
    "MN302", "rejected-element", "element '{element}' of network {network}: class {klass} is rejected: {reason}", "error",
    "A rejected class needs kernel facilities or privileges: it may run neither in the kernel nor in a container.",
    bad="Idle -> KernelTun(1.0.0.1/8);", good="(a certified alternative)",
)
OVER_BUDGET_PLATFORM = Rule(
    "MN303", "platform-over-budget",
    "platform element '{element}' on a kernel task costs {cost} units, above the budget of {budget}",
    "error",
    "A platform element cannot move to a container; its task must fit the budget (raise task_budget, or shorten "
    "the work: fewer tunnels on one device).",
)
MOVED_TO_USER = Rule(
    "MN304", "moved-to-user", "element '{element}' of network {network} moved to its container: {reason}", "warning",
    "A kernel task may not run longer than the platform's budget; an element that alone exceeds it, or whose cost is "
    "unbounded or unknown, runs in the network's user-level Click instead.",
)
SOURCES_UNAVAILABLE = Rule(
    "MN305", "sources-unavailable",
    "element '{element}' of network {network}: the sources of class {klass} (record from layer {layer}) cannot be "
    "found, so an edit since certification would go unnoticed: {reason}", "warning",
    "A record proves one source version; when its sources cannot be found, an edited element would be placed as "
    "certified.  certify library records where the tree is (source_base); --source-root relocates it.",
)
PARTITION_RULES = [UNCERTIFIED_ELEMENT, REJECTED_ELEMENT, OVER_BUDGET_PLATFORM, MOVED_TO_USER, SOURCES_UNAVAILABLE]
RULES.extend(PARTITION_RULES)
BY_ID.update({r.id: r for r in PARTITION_RULES})
