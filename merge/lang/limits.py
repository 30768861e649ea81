"""Limits on what one configuration may expand to, checked while it is expanded.

A few lines of nested compound classes, each using the previous one twice,
expand to millions of elements; a chain of ``define``s, each the previous one
twice, to gigabytes of text.  The front end therefore counts as it goes and
stops at the *first* crossing of a limit with a :class:`LimitError` (a located
:class:`ClickError` naming the limit), so a hostile configuration costs at most
about as much work as the limits allow, whatever it would have expanded to.

The defaults are generous for real routers (the largest Click configurations
in the wild -- big IP routers, NAT boxes -- have a few thousand elements and
nest compounds a handful of levels deep) and small enough that a configuration
at the limit is still parsed, flattened and checked in about a second:

``max_elements`` (20,000)
    Primitive elements after flattening, counted as each is created (top-level
    ones included).  Ten times a large real router; checking and merging cost
    time and kernel memory per element.
``max_connections`` (100,000)
    Connections the flattener creates, counting those to the boundaries of
    compound instances and element groups (removed at the end) and those that
    replace paths through them.  About five per element: real routers have one
    or two, plus two per compound instance.
``max_depth`` (32)
    Compound instances nested inside each other (an instance in the body of an
    instance in the body of ...).  Real configurations nest a handful of levels.
``max_compound_instances`` (10,000)
    Compound instances expanded, at every level: the measure of exponential
    nesting (each class using the previous one twice doubles it per level).
    Half the element limit: an instance usually holds more than two elements.
``max_config_bytes`` (1 MiB)
    The configuration file (and each library it requires), in bytes, checked
    before it is lexed.  Real configurations are a few kilobytes to a few
    hundred.
``max_define_bytes`` (4 MiB)
    Text produced by ``$variable`` substitution (``define``, compound
    arguments) in all of the configuration: a ``define`` chain that doubles at
    each step is stopped after a few megabytes, and so is one large value used
    by every element.  Four times the configuration size limit.
``max_tasks`` (256)
    Elements of the network policy's task classes (Unqueue, TimedSource, ...)
    after flattening: each is a task or timer the network's kernel thread
    schedules.  Counted by the network checks (:mod:`merge.checks`), which
    know the task classes; the language does not.
``max_devices`` (64, at most 256)
    Device elements (FromDevice, ToDevice, PollDevice) after flattening: each
    ToDevice becomes a painted input of the network's egress scheduler, and a
    Paint annotation holds at most 256 values.  Counted by the network checks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from merge.lang.errors import ClickError, Location


@dataclass(frozen=True)
class Limits:
    """Per-configuration limits; see the module documentation for each default."""

    max_elements: int = 20_000
    max_connections: int = 100_000
    max_depth: int = 32
    max_compound_instances: int = 10_000
    max_config_bytes: int = 1 << 20
    max_define_bytes: int = 4 << 20
    max_tasks: int = 256
    max_devices: int = 64

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def none(cls) -> Limits:
        """No limit: for configurations the platform wrote itself (a merged master, a container's part), which
        are as large as all the networks together, and for benchmarks of the front end."""
        return cls(**{f.name: 1 << 62 for f in fields(cls)})


DEFAULT_LIMITS = Limits()

# What each limit counts, for messages.
WHAT = {
    "max_elements": "elements",
    "max_connections": "connections",
    "max_depth": "nested compound levels",
    "max_compound_instances": "compound instances",
    "max_config_bytes": "bytes of configuration",
    "max_define_bytes": "bytes of variable expansion",
    "max_tasks": "tasks",
    "max_devices": "device elements",
}
# a limit no policy may raise past (the platform's own): see max_devices
MAXIMUM = {"max_devices": 256}


class LimitError(ClickError):
    """A configuration that crosses one of the :class:`Limits`; ``limit`` is the limit's name."""

    def __init__(self, location: Location, limit: str, value: int, message: str) -> None:
        super().__init__(location, f"{message} (more than {value:,} {WHAT[limit]}; the limit {limit})")
        self.limit = limit
        self.value = value
