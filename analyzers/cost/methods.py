"""The packet-path methods: which element methods run at packet time, named once.

Click calls these on an element while packets flow (never at configuration
time).  Each user needs a different part of the list, for a reason:

* :data:`PACKET_METHODS` -- everything that runs at packet time: a packet
  moving through the element (push, pull, simple_action, smaction), its
  scheduled work (run_task, run_timer), and the user-level driver's
  file-descriptor callback (selected).  :mod:`analyzers.discovery` resolves
  them all and the checks follow every one: a violation reached from any of
  them is on the packet path.
* :data:`KERNEL_METHODS` -- the packet-time methods that can run inside a
  kernel task: :data:`PACKET_METHODS` without selected(), which only the
  user-level driver calls.  :mod:`analyzers.element_bounds` names these.
* :data:`PATH_METHODS` -- what one packet passing through an element costs:
  the merge's task-cost model (:mod:`merge.tasks`) takes the largest of these
  for an element on a path, and adds :data:`RUN_TASK` for a task's own work
  (a timer's run_timer is not a task's work per packet).
"""

from __future__ import annotations

AGNOSTIC_METHODS: tuple[str, ...] = ("simple_action", "smaction")
"""An agnostic element's action on one packet: what a push or a pull through it runs when it has no push or pull."""

PATH_METHODS: tuple[str, ...] = ("push", "pull") + AGNOSTIC_METHODS
"""A packet passing through the element: pushed into it, pulled out of it, or handled by its agnostic action."""

RUN_TASK = "run_task"
"""A task element's own work for each run (Unqueue, ToDevice, PollDevice, ...)."""

TASK_METHODS: tuple[str, ...] = (RUN_TASK, "run_timer")
"""Scheduled work: a Task's and a Timer's callback."""

DRIVER_METHODS: tuple[str, ...] = ("selected",)
"""The user-level driver's file-descriptor callback: packet time, but never in the kernel."""

KERNEL_METHODS: tuple[str, ...] = PATH_METHODS + TASK_METHODS
"""The packet-time methods that can run in a kernel task."""

PACKET_METHODS: tuple[str, ...] = KERNEL_METHODS + DRIVER_METHODS
"""Every packet-time method, in lookup order: what the checks follow."""

__all__ = ["AGNOSTIC_METHODS", "DRIVER_METHODS", "KERNEL_METHODS", "PACKET_METHODS", "PATH_METHODS", "RUN_TASK",
           "TASK_METHODS"]
