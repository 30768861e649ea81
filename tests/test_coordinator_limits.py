"""The coordinator under load, in process: one tenant never holds up another.

* a network's own checks run before the merge lock: a refused configuration
  (a syntax error, a compound bomb past the policy's limits) is answered
  while another install holds the lock;
* the queue of waiting installs is bounded: one more is refused as busy;
* a merge past its wall-clock or memory limit is refused, the accepted state
  stays as it was;
* installs reuse the unchanged networks' results (incremental), and what they
  install is what a full merge writes.
"""

import os
import threading
import time

import pytest
import test_coordinator as daemon_tests  # tests/ is on sys.path (pytest rootdir)
from test_coordinator import CONFIG

from certify.coordinator import Coordinator
from certify.mergejob import MergeLimitExceeded, MergeWatch, _rss_mib

BOMB = "".join(f"elementclass B{i} {{ input -> B{i - 1} -> B{i - 1} -> output }}\n" for i in range(1, 21))
BOMB = "elementclass B0 { input -> Null -> output }\n" + BOMB + "FromDevice(eth1) -> B20 -> Queue -> ToDevice(eth1);\n"


def write_system(d, n):
    """The daemon tests' system (n networks on eth0, every one owned by this uid); its path."""
    daemon_tests.write_system(d, n, os.getuid())
    return str(d / "system.yaml")


def coordinator(d, n=4, **kw):
    return Coordinator(write_system(d, n), str(d / "state"), str(d / "installed"), **kw)


def ask(c, network, text=CONFIG, op="install"):
    return c.handle(os.getuid(), {"op": op, "network": network, "config": text, "name": f"{network}.click"})


def in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("reply", fn()), daemon=True)
    t.start()
    return t, box


def test_refused_configurations_are_answered_while_another_install_holds_the_lock(tmp_path):
    c = coordinator(tmp_path)
    assert ask(c, "n00")["verdict"] == "accepted"
    with c.lock:  # a merge in progress
        for text, why in [("FromDevice(eth1) -> ;\n", "n01.click:1:21: MN100: expected an element"),
                          (BOMB, "n01.click:2:28: MN112: compound instance"),  # about a million elements: stopped expanding
                          ("FromDevice(eth2) -> Discard;\n", "MN101")]:
            t, box = in_thread(lambda text=text: ask(c, "n01", text))
            t.join(timeout=120)
            assert not t.is_alive(), "a refused configuration waited for the merge lock"
            reply = box["reply"]
            assert reply["verdict"] == "refused", reply
            assert any(why in m for m in reply["messages"]), reply["messages"]
            assert all("n01.click" in m or "certify:" in m for m in reply["messages"])  # the name the user gave
    assert sorted(c.accepted()) == ["n00"]


def test_a_full_install_queue_refuses_at_once_as_busy(tmp_path):
    c = coordinator(tmp_path, max_pending=1)
    with c.lock:
        t, box = in_thread(lambda: ask(c, "n00"))
        deadline = time.monotonic() + 120
        while c._pending < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        reply = ask(c, "n01")
        assert reply["verdict"] == "refused" and reply["busy"] is True
        assert reply["messages"] == ["certify: error: the coordinator is busy: 1 installs are waiting (the most it "
                                     "queues); try again later"]
    t.join(timeout=300)
    assert box["reply"]["verdict"] == "accepted"
    assert ask(c, "n01")["verdict"] == "accepted"  # once the queue has room
    assert sorted(c.accepted()) == ["n00", "n01"]


def test_a_merge_past_its_wall_clock_limit_is_refused_and_changes_nothing(tmp_path):
    c = coordinator(tmp_path)
    assert ask(c, "n00")["verdict"] == "accepted"
    before = (tmp_path / "installed" / "current" / "master.click").read_text()
    c.merge_seconds = 1e-9
    reply = ask(c, "n01")
    assert reply["verdict"] == "refused"
    assert reply["messages"][-1].startswith("certify: merge refused: the merge took longer than its limit of 1e-09 s")
    assert sorted(c.accepted()) == ["n00"]
    assert (tmp_path / "installed" / "current" / "master.click").read_text() == before
    assert not [f for f in os.listdir(tmp_path / "state" / "networks") if f.startswith(".")]  # no staging left


def test_the_memory_limit_counts_growth_during_the_merge():
    watch = MergeWatch(seconds=100, memory_mib=64)
    watch.check("n00")  # nothing grew
    watch.rss_at_start = _rss_mib() - 100  # as if the merge had grown the process by 100 MiB
    with pytest.raises(MergeLimitExceeded, match=r"grew the coordinator's memory by 1\d\d MiB, above its limit of "
                                                 r"64 MiB \(at network n01\)"):
        watch.check("n01")


def test_installs_redo_only_their_own_network_and_install_what_a_full_merge_writes(tmp_path):
    c = coordinator(tmp_path, n=6)
    for i in range(6):
        assert ask(c, f"n{i:02d}")["verdict"] == "accepted"
    before = dict(c.cache.stats)
    assert ask(c, "n03", CONFIG.replace("Counter", "Paint(2)"))["verdict"] == "accepted"
    after = c.cache.stats
    # n03 is checked and partitioned from its staged file; n05, accepted last, once more from its final path
    # (results name their file); the four others are reused
    assert after["checks"] - before["checks"] == 2 and after["partitions"] - before["partitions"] == 2
    assert after["check_hits"] - before["check_hits"] >= 4 and after["partition_hits"] - before["partition_hits"] == 4
    installed = (tmp_path / "installed" / "current" / "master.click").read_text()
    full = Coordinator(str(tmp_path / "system.yaml"), str(tmp_path / "state"), str(tmp_path / "again"))
    full.recover()  # a fresh coordinator merges the accepted set from scratch
    assert (tmp_path / "again" / "current" / "master.click").read_text() == installed
