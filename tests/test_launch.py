"""launch.sh refuses limits that would not hold: it runs here, for real, with /bin/sh.

On a host whose cgroup root is not a cgroup v2 mount (cgroup v1 keeps a tmpfs at /sys/fs/cgroup, and any
plain directory is not one either) ``mkdir`` would make a plain directory and the limits plain files: the
container would run with no limit at all.  The script must stop first, before it changes anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import networkx as nx
import pytest

from merge.launch import limits, shell_script
from merge.partition import Split
from merge.system import Network

NET = Network("net", 5001, "net.click", "net.click", {}, cpu_share=0.25)


def _script(tmp_path) -> str:
    text = shell_script(NET, Split("net", nx.MultiDiGraph(), nx.MultiDiGraph(), []), "/nonexistent/user.click",
                        run_dir=str(tmp_path / "run"))
    path = tmp_path / "launch.sh"
    path.write_text(text)
    return str(path)


def _fs_type(path: str) -> str:
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("stat") is None, reason="needs stat (coreutils)")
def test_a_root_that_is_not_cgroup_v2_is_refused_before_anything_is_changed(tmp_path):
    fake = tmp_path / "cgroup"
    fake.mkdir()
    env = dict(os.environ, CERTIFY_CGROUP_ROOT=str(fake))
    r = subprocess.run(["sh", _script(tmp_path)], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"launch.sh: {fake} is not a cgroup v2 mount (it is {_fs_type(str(fake))}): the CPU "
                                "and memory limits of network net cannot be set; mount cgroup2 there, or start the "
                                "container with its systemd unit certify-net.service")
    assert list(fake.iterdir()) == [] and not (tmp_path / "run").exists()  # nothing was made


@pytest.mark.skipif(_fs_type("/sys/fs/cgroup") == "cgroup2fs", reason="this host has cgroup v2 at /sys/fs/cgroup")
def test_this_hosts_cgroup_root_is_refused_when_it_is_not_v2(tmp_path):
    r = subprocess.run(["sh", _script(tmp_path)], capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if k != "CERTIFY_CGROUP_ROOT"})
    assert r.returncode == 1
    assert "/sys/fs/cgroup is not a cgroup v2 mount" in r.stderr


def test_the_script_reads_the_limits_back_from_its_own_cgroup(tmp_path):
    quota, memory = limits(NET)
    assert (quota, memory) == (25000, 268435456)
    text = open(_script(tmp_path)).read()
    assert "own=\"$cgroot$(sed -n 's/^0:://p' /proc/$$/cgroup)\"" in text
    assert f'if [ "$cpu" != "{quota} 100000" ]' in text
    # the check comes after the process joined the cgroup, and before Click replaces it
    assert text.index('echo $$ > "$cg/cgroup.procs"') < text.index('cpu=$(cat "$own/cpu.max"') < text.index("exec ip")


@pytest.fixture
def cgroup2(tmp_path):
    """A real cgroup v2 mount of our own (root only; skipped where the kernel or the sandbox refuses it)."""
    where = tmp_path / "cg2"
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "cgroup2", "none", str(where)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount cgroup2 here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def test_a_v2_mount_without_the_cpu_and_memory_controllers_is_refused(tmp_path, cgroup2):
    available = (cgroup2 / "cgroup.controllers").read_text().split()
    if {"cpu", "memory"} <= set(available):
        pytest.skip("this host's cgroup v2 has the cpu and memory controllers: the refusal cannot be shown here")
    env = dict(os.environ, CERTIFY_CGROUP_ROOT=str(cgroup2))
    r = subprocess.run(["sh", _script(tmp_path)], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"launch.sh: the cpu and memory controllers cannot be enabled under {cgroup2} "
                                f"(available: {' '.join(available)}): the limits of network net cannot be set; free "
                                "them from cgroup v1, or start the container with its systemd unit certify-net.service")
    assert not (cgroup2 / "certify-net").exists() and not (tmp_path / "run").exists()  # nothing was made
