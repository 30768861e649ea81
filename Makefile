# Two commands do everything on a machine with only python3:
#   make demo   -- create .venv, install certify, run it on the bundled example
#   make test   -- install the test extras and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(TEST_STAMP) browser
	$(PY) -m pytest -q

# The report test opens pages in headless Chromium (Debian's package).  Install it
# when we can (root with apt-get); otherwise that one test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  && echo "installed chromium for the browser test"; } || echo "chromium not installed: the browser test will skip"

bench: $(STAMP)
	$(PY) bench/bench_parse.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
