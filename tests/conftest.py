import os
import shutil
import sys

import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
# examples/realclick.py: the real-Click scenario and its packet helpers, shared by the real-Click tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))


def pytest_configure(config):
    """The record-validity cache (element_db.store) of this test run: its own directory, never the user's."""
    if "CERTIFY_CACHE" not in os.environ:
        import tempfile

        os.environ["CERTIFY_CACHE"] = tempfile.mkdtemp(prefix="certify-test-cache-")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


def click_flatten_binary():
    """A real click-flatten, from PATH or CLICK_SRC/tools/click-flatten, or None."""
    found = shutil.which("click-flatten")
    if found:
        return found
    src = os.environ.get("CLICK_SRC")
    if src:
        cand = os.path.join(src, "tools", "click-flatten", "click-flatten")
        if os.access(cand, os.X_OK):
            return cand
    return None
