"""JUnit XML output of the gate: one test case per network and per element class.

Decides how CI test viewers see the gate: a network's test case fails when
the network has an error finding; an element class's fails when its record
does not allow it (missing, stale, invalid, rejected, not analyzed).
Warnings go to the case's system-out.  The XML is what Jenkins, GitLab and
GitHub test reporters read (testsuites/testsuite/testcase/failure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from certify.core.findings import Finding


def _case(suite: ET.Element, classname: str, name: str, findings: Sequence[Finding]) -> bool:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    errors = [f for f in findings if f.severity == "error"]
    others = [f for f in findings if f.severity != "error"]
    if errors:
        fail = ET.SubElement(case, "failure", message=errors[0].message, type=errors[0].rule)
        fail.text = "\n".join(str(f) for f in errors)
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(f"{f.severity}: {f}" for f in others)
    return bool(errors)


def to_junit(networks: Mapping[str, Sequence[Finding]], classes: Mapping[str, Sequence[Finding]]) -> str:
    root = ET.Element("testsuites", name="certify gate")
    total_fail = 0
    total = 0
    for suite_name, cases, classname in (
        ("networks", networks, "certify.gate.network"),
        ("element classes", classes, "certify.gate.class"),
    ):
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        fails = 0
        for name in sorted(cases):
            fails += _case(suite, classname, name, cases[name])
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(fails))
        suite.set("errors", "0")
        total += len(cases)
        total_fail += fails
    root.set("tests", str(total))
    root.set("failures", str(total_fail))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
