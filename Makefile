# Oracle Platform — the commands a developer needs. `make run` and `make test` are the two
# the README starts with; both install what they need into .venv and node_modules first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test check pytest lint migrate vendor contracts bench clean

help:
	@echo "make run        install if needed, migrate, create the demo login, serve on http://$(HOST):$(PORT)/"
	@echo "make test       static checks (ruff, import-linter, mypy, migrations check), then pytest (PYTEST_ARGS='…')"
	@echo "make check      the static checks alone;  make pytest  the test suite alone"
	@echo "make bench      benchmarks, one JSON line per result (BENCH=ingest runs one; set DATABASE_URL, REDIS_URL)"
	@echo "make contracts  rebuild the devnet contracts' ABI + bytecode artifacts"
	@echo "make vendor     refresh front-end libraries in static/vendor/ from npm"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ with npm is required (https://nodejs.org/)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed

migrate: install
	$(MANAGE) migrate --no-input

run: migrate
	@$(MANAGE) load_catalog
	@$(MANAGE) ensure_demo_user
	@echo "Open http://$(HOST):$(PORT)/ and log in with the demo login above."
	OP_SITE_URL=$${OP_SITE_URL:-http://$(HOST):$(PORT)} $(MANAGE) serve --host $(HOST) --port $(PORT) $(if $(filter devnet,$(or $(OP_NETWORK),devnet)),--devnet)

lint: install
	$(VENV)/bin/ruff check .

# Static checks: style, the layers of docs/architecture.md (import-linter), migrations in step.
check: lint
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(MANAGE) makemigrations --check --dry-run

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The checks first, then the suite (in this order under make -j too).
test:
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory pytest

# Installing prints to stderr, so stdout carries only the benchmarks' JSON lines.
bench:
	@$(MAKE) --no-print-directory install >&2
	@$(PY) -m benchmarks $(BENCH)

contracts: install
	$(PY) -m apps.devnet.build_contracts

vendor: node_modules/.installed
	mkdir -p static/vendor/htmx static/vendor/lightweight-charts
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE static/vendor/htmx/
	echo "htmx.org $$(node -p 'require("htmx.org/package.json").version') (npm), dist/htmx.min.js; vendored by 'make vendor'" > static/vendor/htmx/VERSION
	cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js node_modules/lightweight-charts/LICENSE static/vendor/lightweight-charts/
	echo "lightweight-charts $$(node -p 'require("lightweight-charts/package.json").version') (npm), standalone production build; vendored by 'make vendor'" > static/vendor/lightweight-charts/VERSION

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
