"""The configuration-check and merge rules (family MN) of the one registry, :mod:`certify.core.rules`.

Named here for the checks that report them (MN1xx network isolation, MN2xx ports, MN3xx partition).
"""

from __future__ import annotations

from certify.core.findings import Rule
from certify.core.rules import MN_RULES, rule

PARSE_ERROR = rule("MN100")
UNASSIGNED_DEVICE = rule("MN101")
FORBIDDEN_CLASS = rule("MN102")
UNKNOWN_CLASS = rule("MN103")
REQUIRE_LIBRARY = rule("MN104")
REQUIRE_PACKAGE = rule("MN105")
RESERVED_NAME = rule("MN106")
DEVICE_READ_TWICE = rule("MN107")
BAD_DEVICE_ARGUMENT = rule("MN108")
TOO_MANY_ELEMENTS = rule("MN109")
TOO_MANY_CONNECTIONS = rule("MN110")
COMPOUND_TOO_DEEP = rule("MN111")
TOO_MANY_INSTANCES = rule("MN112")
CONFIG_TOO_LARGE = rule("MN113")
EXPANSION_TOO_LARGE = rule("MN114")
TOO_MANY_TASKS = rule("MN115")
TOO_MANY_DEVICES = rule("MN116")
PORT_COUNT = rule("MN201")
UNCONNECTED_PORT = rule("MN202")
PUSH_PULL = rule("MN203")
MULTIPLE_CONNECTIONS = rule("MN204")
UNKNOWN_PORTS = rule("MN205")
UNCERTIFIED_ELEMENT = rule("MN301")
REJECTED_ELEMENT = rule("MN302")
OVER_BUDGET_PLATFORM = rule("MN303")
MOVED_TO_USER = rule("MN304")
SOURCES_UNAVAILABLE = rule("MN305")

# the network policy's limits (merge.lang.limits.Limits field names) and the rule a crossing is reported as
LIMIT_RULES: dict[str, Rule] = {
    "max_elements": TOO_MANY_ELEMENTS,
    "max_connections": TOO_MANY_CONNECTIONS,
    "max_depth": COMPOUND_TOO_DEEP,
    "max_compound_instances": TOO_MANY_INSTANCES,
    "max_config_bytes": CONFIG_TOO_LARGE,
    "max_define_bytes": EXPANSION_TOO_LARGE,
    "max_tasks": TOO_MANY_TASKS,
    "max_devices": TOO_MANY_DEVICES,
}

RULES: list[Rule] = list(MN_RULES)
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
