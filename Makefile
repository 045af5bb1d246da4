# Common tasks. `make test` and `make demo` work on a fresh machine: they create .venv and
# install the Python and npm (package-lock.json) dependencies themselves. The runtime packages
# come from requirements.lock, hashes checked (exactly what is deployed); the development tools
# from requirements-dev.txt pinned by constraints.txt (which agrees with the lock).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYTHON312 ?= $(shell command -v python3.12)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VENV312 := .venv-py312

.PHONY: dev demo test unit integration e2e e2e-shifted lint type imports tf-check bench ci pr clean \
        lock package browser-test venv-py312 test-py312

define install_into
	test -x $(1)/bin/python || $(2) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(1)/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(1)/bin/python -m pip check
endef

$(STAMP): requirements.txt requirements.lock requirements-dev.txt constraints.txt
	$(call install_into,$(VENV),$(PYTHON))
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

dev: $(STAMP) node_modules/.installed

demo: dev
	$(PY) -m ops demo

test: dev
	$(PY) -m pytest -q

unit: dev
	$(PY) -m pytest -q tests/unit

integration: dev
	$(PY) -m pytest -q tests/integration

e2e: dev
	$(PY) -m pytest -q tests/e2e

# The e2e layer with its whole week moved 52 weeks forward and back (same weekdays), proving that
# no test depends on today's date. test_bench.py takes no date from the week (the benchmark
# simulates its own weeks), test_cli_errors.py is about refusals, not dates, test_demo.py runs the
# demo once (its own lab, about 15 s), and test_status_and_report.py takes every instant from
# --now (never the clock), so they are left out here to keep CI short.
E2E_SHIFTED_WEEKS := 2027-11-29 2025-12-01
E2E_UNSHIFTED := test_bench.py test_cli_errors.py test_demo.py test_status_and_report.py
e2e-shifted: dev
	set -e; for week in $(E2E_SHIFTED_WEEKS); do \
	  echo "== e2e, week of $$week"; \
	  E2E_WEEK_OF=$$week $(PY) -m pytest -q tests/e2e $(addprefix --ignore=tests/e2e/,$(E2E_UNSHIFTED)); \
	done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

type: $(STAMP)
	$(VENV)/bin/mypy

tf-check:
	bash scripts/check-terraform.sh

bench: dev
	$(PY) -m ops bench

# The unit and integration layers on Python 3.12 (the newest Linux Consumption runs), in their own
# virtualenv from the same requirements.lock. The e2e layer runs on 3.11 only, to keep CI short.
STAMP312 := $(VENV312)/.installed
$(STAMP312): requirements.txt requirements.lock requirements-dev.txt constraints.txt
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (set PYTHON312=/path/to/python3.12)"; exit 1; }
	$(call install_into,$(VENV312),$(PYTHON312))
	touch $(STAMP312)

venv-py312: $(STAMP312)

test-py312: $(STAMP312) node_modules/.installed
	$(VENV312)/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/integration

# The `ops report` page in Debian's Chromium (apt-get install chromium; .ci/run installs it as root).
browser-test: dev
	$(PY) -m pip install --quiet -r requirements-browser.txt -c constraints.txt
	REQUIRE_BROWSER=1 $(PY) -m pytest -q tests/browser

# requirements.lock from requirements.txt (pip-tools in a throwaway virtualenv).
lock:
	bash scripts/lock-requirements.sh

# .python_packages/ for `func azure functionapp publish <app> --python --no-build`; PYTHON_VERSION=3.12 for 3.12.
package:
	bash scripts/build-package.sh

# What CI runs (.ci/run calls this after installing make, npm and Python; then it runs
# browser-test and test-py312, which need Chromium and a second Python): the list lives here only.
ci: test e2e-shifted lint type tf-check

pr: lint type test tf-check

clean:
	rm -rf $(VENV) $(VENV312) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .python_packages
