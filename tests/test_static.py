"""The packages type-check (mypy) and lint clean (ruff), as the style guide asks."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_clean():
    r = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_ruff_clean():
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "certify", "merge", "element_db", "analyzers", "reports", "tests", "bench", "examples"],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
