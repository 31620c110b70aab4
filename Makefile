# CostPrism — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATA ?= demo-data
DEMO_HOME ?= .costprism-demo
DEMO_ROWS ?= 300000

.PHONY: demo test install system-deps lint types unit conformance bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The Spark conformance tests need a Java 17 runtime, the browser tests Debian's Chromium
# (Playwright drives /usr/bin/chromium; it cannot download its own browsers here). Each is
# installed where it is missing (CI runs as root). PostgreSQL is installed by .ci/postgres.
system-deps:
	@command -v java >/dev/null 2>&1 || { \
		echo "installing a Java 17 runtime for the Spark tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }
	@test -x /usr/bin/chromium || { \
		echo "installing Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

demo: install
	$(BIN)/costprism demo generate --out $(DEMO_DATA) --months 13 --seed 7 --rows-per-month $(DEMO_ROWS)
	$(BIN)/costprism ingest $(DEMO_DATA)/focus --source demo --home $(DEMO_HOME)
	$(BIN)/costprism cost --by ProviderName --granularity total --home $(DEMO_HOME)
	@echo "ledger ready in $(DEMO_HOME); try: $(BIN)/costprism cost --by ServiceName --top 10 --home $(DEMO_HOME)"
	$(BIN)/costprism demo users --home $(DEMO_HOME)
	$(BIN)/costprism serve --host 127.0.0.1 --port 8000 --home $(DEMO_HOME)

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: install
	$(BIN)/mypy

# The suite runs against a throwaway PostgreSQL cluster (.ci/postgres), stopped and deleted
# after pytest whatever pytest did; no cluster, no test run. pytest exits 5 when it collects
# no tests: that must fail, like any other non-zero code.
unit: install system-deps
	@pgdir=$$(mktemp -d "$${TMPDIR:-/tmp}/costprism-postgres.XXXXXX") || exit 1; \
	trap '.ci/postgres stop "$$pgdir"' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	url=$$(.ci/postgres start "$$pgdir") || { echo "PostgreSQL did not start: no test run"; exit 1; }; \
	echo "PostgreSQL for the tests: $${url%%:*}://***@$${url##*@}"; \
	COSTPRISM_TEST_POSTGRES_URL="$$url" $(BIN)/pytest -q; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$code

conformance: install system-deps
	$(BIN)/pytest -q tests/engine/test_conformance.py

test: lint types unit

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/convert.py

clean:
	rm -rf $(VENV) $(DEMO_DATA) $(DEMO_HOME) bench/.work .pytest_cache .mypy_cache .ruff_cache
