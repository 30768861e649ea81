"""Safety reports: Markdown against a golden file, deterministic HTML, and the pages in a real browser."""

import os
import shutil
import subprocess
import sys

import pytest

from element_db.decision import ANALYZER_VERSION, policy_version
from element_db.record import make_record, sha256_file
from element_db.store import Database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "reports", "summary.md")
STAMP = "2026-11-25T18:00:00Z"


def certify(*args):
    r = subprocess.run([sys.executable, "-m", "certify", *args], capture_output=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr.decode()
    return r


def make_inputs(tmp_path):
    """A small database (our own records, alone: no stock layer) and a partitioned merge plan with a channel and a
    split."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "myfilter.cc").write_text("// MyFilter\nint hits;\nPacket *MyFilter::simple_action(Packet *p) {\n"
                                     "    hits++;\n    return p;\n}\n")
    db = Database(str(tmp_path / "db"), create=True)
    av, pv = ANALYZER_VERSION, policy_version(None)
    stock = ["FromDevice", "Classifier", "Strip", "CheckIPHeader", "Counter", "Discard", "Queue", "ToDevice", "Unstrip",
             "StoreData", "IPEncap", "EtherEncap", "Unqueue", "StaticThreadSched", "ScheduleInfo", "ToHost", "FromHost",
             "Null", "BandwidthRatedUnqueue", "RoundRobinSched", "PaintSwitch", "Paint", "MarkIPHeader"]
    for k in stock:
        db.write(make_record(k, [(f"{k.lower()}.cc", "0" * 64)], av, pv, "kernel", ["no finding on the packet path"],
                             [], certified_at=STAMP, cost={"push": "10", "pull": "10", "run_task": "10"},
                             loops=[{"file": f"{k.lower()}.cc", "line": 3, "function": "push", "kind": "for",
                                     "bound": "Max(0, n - 1)", "status": "exact"}] if k == "Classifier" else None))
    db.write(make_record("MyFilter", [("myfilter.cc", sha256_file(str(src / "myfilter.cc")))], av, pv, "userspace",
                         ["userspace: KS101 global-write (1 finding)"],
                         [{"rule": "KS101", "severity": "error", "message": "writes mutable global state hits",
                           "file": "myfilter.cc", "line": 4, "column": 5, "symbol": "hits",
                           "path": ["MyFilter::simple_action"]}],
                         certified_at=STAMP, cost={"push": "3*p_length + 40"}, cost_symbols={"p_length": "packet_length"}))
    db.write(make_record("KernelPoke", [("kernelpoke.cc", "2" * 64)], av, pv, "reject",
                         ["reject: KS301 kernel-symbol (1 finding)"], [], certified_at=STAMP))
    (tmp_path / "net.click").write_text("FromDevice(eth1) -> Strip(14) -> f :: MyFilter -> Unstrip(14) -> "
                                        + " -> ".join(["Null"] * 10) + " -> Queue -> ToDevice(eth1);\n")
    (tmp_path / "system.yaml").write_text(
        "version: 1\nplatform: {task_budget: 1000, max_packet_length: 1500}\nphysical:\n"
        '  eth0: {address: 192.0.2.1, ether: "02:00:00:00:00:01", gateway_ether: "02:00:00:00:00:fe"}\n'
        "networks:\n  net:\n    uid: 1000\n    cpu_share: 0.5\n    config: net.click\n    devices:\n"
        "      eth1: {physical: eth0, tunnel: {local: 192.0.2.1, remote: 203.0.113.7, key: 1}, inner: ethernet}\n")
    certify("merge", "--system", str(tmp_path / "system.yaml"), "--db", db.path, "--no-stock", "--out",
            str(tmp_path / "plan"))
    return db, src


def report(tmp_path, out):
    db, src = tmp_path / "db", tmp_path / "src"
    return certify("report", "--db", str(db), "--no-stock", "--plan", str(tmp_path / "plan"), "--source-root", str(src),
                   "--out", str(out))


def test_markdown_summary_matches_golden(tmp_path, update_golden):
    make_inputs(tmp_path)
    r = report(tmp_path, tmp_path / "rep")
    assert r.stdout.decode().startswith(f"report: {tmp_path / 'rep' / 'index.html'}")
    text = (tmp_path / "rep" / "summary.md").read_text()
    if update_golden:
        with open(GOLDEN, "w") as f:
            f.write(text)
    with open(GOLDEN) as f:
        assert text == f.read()


def test_same_inputs_same_files(tmp_path):
    make_inputs(tmp_path)
    report(tmp_path, tmp_path / "a")
    report(tmp_path, tmp_path / "b")
    files = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "a") for d, _, fs in os.walk(tmp_path / "a") for f in fs)
    assert "networks/net.html" in files and "elements/MyFilter.html" in files
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_pages_hold_what_a_reviewer_needs(tmp_path):
    make_inputs(tmp_path)
    report(tmp_path, tmp_path / "rep")
    el = (tmp_path / "rep" / "elements" / "MyFilter.html").read_text()
    assert "writes mutable global state hits" in el and "MyFilter::simple_action" in el
    assert '<span class="hit">    4      hits++;</span>' in el  # the source line, read at render time
    assert "<math" in el and "<msub><mi>p</mi><mi>length</mi></msub>" in el  # the cost as math
    net = (tmp_path / "rep" / "networks" / "net.html").read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="graph"' in net
    assert 'class="node user' in net and 'class="node kernel' in net and "channel" in net and "split" in net
    assert 'class="bars"' in net and "budget 1000" in net
    assert "Drawn by" in net
    idx = (tmp_path / "rep" / "index.html").read_text()
    assert 'id="f-verdict"' in idx and 'data-verdict="reject"' in idx


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROME = _chromium()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROME is None, reason="needs chromium (Debian package 'chromium')")
def test_report_in_a_real_browser(tmp_path):
    make_inputs(tmp_path)
    report(tmp_path, tmp_path / "rep")
    profile = tmp_path / "profile"

    def dom(url):
        r = subprocess.run([CHROME, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", url],
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode()[-500:]
        return r.stdout.decode()

    index = (tmp_path / "rep" / "index.html").as_uri()
    # the filter, applied from the URL: only the rejected class stays visible
    filtered = dom(index + "#verdict=reject")
    rows = [line for line in filtered.split("<tr ") if "data-verdict=" in line]
    visible = [r for r in rows if 'style="display: none;"' not in r]
    assert len(rows) == 25 and len(visible) == 1 and 'data-verdict="reject"' in visible[0]
    assert '<span id="shown">1</span>' in filtered
    net = dom((tmp_path / "rep" / "networks" / "net.html").as_uri())
    assert "<svg" in net and "node user" in net
    el = dom((tmp_path / "rep" / "elements" / "MyFilter.html").as_uri())
    assert 'class="findings"' in el and "KS101" in el
    shot = tmp_path / "net.png"
    r = subprocess.run([CHROME, *FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000",
                        f"--screenshot={shot}", (tmp_path / "rep" / "networks" / "net.html").as_uri()],
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and shot.stat().st_size > 10000
