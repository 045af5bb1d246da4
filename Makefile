# Common tasks. `make test` and `make demo` work on a fresh machine: they create .venv and
# install the Python (constraints.txt) and npm (package-lock.json) dependencies themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev demo test unit integration e2e e2e-shifted lint type imports tf-check bench ci pr clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
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
# simulates its own weeks), so it is left out here.
E2E_SHIFTED_WEEKS := 2027-11-29 2025-12-01
e2e-shifted: dev
	set -e; for week in $(E2E_SHIFTED_WEEKS); do \
	  echo "== e2e, week of $$week"; \
	  E2E_WEEK_OF=$$week $(PY) -m pytest -q tests/e2e --ignore=tests/e2e/test_bench.py; \
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

# What CI runs (.ci/run calls this after installing make, npm and Python): the list lives here only.
ci: test e2e-shifted lint type tf-check

pr: lint type test tf-check

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
