"""The layer contract (pyproject.toml, [tool.importlinter]): imports only point down.

From the top: the command line (certify.cli, certify.coordinator, the jobs), reports,
merge (with the Click language, merge.lang, below the rest of merge and importing
only the core), element_db, analyzers, certify.core.  A module that imports upward
fails this test, and with it `make test`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ["certify", "analyzers", "element_db", "merge", "reports"]


def _lint_imports() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(exe):
        exe = shutil.which("lint-imports") or ""
    if not exe:
        pytest.fail("lint-imports is not installed: it is a test dependency (pip install -e '.[test]')")
    return exe


def _run(cwd: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=cwd)
    return subprocess.run([_lint_imports(), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_layer_contract_holds() -> None:
    r = _run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 kept, 0 broken" in r.stdout, r.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("analyzers/_upward.py", "from certify.gate import RULES\n", "Packages are layered"),
    ("element_db/_upward.py", "import merge.pipeline\n", "Packages are layered"),
    ("merge/lang/_upward.py", "from merge.checks import check_network\n", "sits on the language"),
    ("merge/lang/_sideways.py", "from element_db.store import Database\n", "imports only the core"),
    ("certify/core/_upward.py", "from analyzers.rules import RULES\n", "Packages are layered"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module: str, line: str, contract: str) -> None:
    for pkg in PACKAGES:
        shutil.copytree(os.path.join(ROOT, pkg), tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.yaml", "data"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(line)
    r = _run(str(tmp_path))
    assert r.returncode != 0, r.stdout
    broken = r.stdout.split("Broken contracts", 1)[1]
    assert contract in broken, r.stdout
