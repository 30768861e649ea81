import os
import shutil

import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


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
