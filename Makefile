# CostPrism — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATA ?= demo-data
DEMO_HOME ?= .costprism-demo
DEMO_ROWS ?= 300000

.PHONY: demo test install system-deps validator lint types unit conformance bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The Spark conformance tests need a Java 17 runtime, the browser tests Debian's Chromium
# (Playwright drives /usr/bin/chromium; it cannot download its own browsers here), the
# chargeback PDF test poppler-utils' pdftoppm (it turns a PDF page into PNG). Each is
# installed where it is missing (CI runs as root). PostgreSQL is installed by .ci/postgres.
system-deps:
	@command -v java >/dev/null 2>&1 || { \
		echo "installing a Java 17 runtime for the Spark tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }
	@test -x /usr/bin/chromium || { \
		echo "installing Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v pdftoppm >/dev/null 2>&1 || { \
		echo "installing poppler-utils (pdftoppm) for the chargeback PDF test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; }

# The FinOps Foundation's FOCUS validator (PyPI focus-validator), which the tests run on
# CostPrism's exports, in its own venv: it needs Python 3.12 or newer (on 3.11 pip picks an
# obsolete 1.0.0), and its pins conflict with ours. FV_PYENV picks pyenv's 3.12 where
# python3.12 is a pyenv shim; a python3.12 on PATH ignores it.
FV_PYTHON ?= python3.12
FV_PYENV ?= 3.12.1
FV_VENV := .venv-fv
FV_REQUIREMENTS := tests/focus-validator-requirements.txt

$(FV_VENV)/.installed: $(FV_REQUIREMENTS)
	@command -v $(FV_PYTHON) >/dev/null 2>&1 || { \
		echo "make validator needs $(FV_PYTHON) (Python 3.12+), e.g. from pyenv or apt"; exit 1; }
	rm -rf $(FV_VENV)
	PYENV_VERSION=$(FV_PYENV) $(FV_PYTHON) -m venv $(FV_VENV)
	$(FV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FV_VENV)/bin/python -m pip install --quiet -r $(FV_REQUIREMENTS)
	touch $@

validator: $(FV_VENV)/.installed

demo: install
	$(BIN)/costprism demo generate --out $(DEMO_DATA) --months 13 --seed 7 --rows-per-month $(DEMO_ROWS)
	$(BIN)/costprism ingest $(DEMO_DATA)/focus --source demo --home $(DEMO_HOME)
	$(BIN)/costprism rules apply $(DEMO_DATA)/rules.yaml --home $(DEMO_HOME)
	$(BIN)/costprism tags policy apply $(DEMO_DATA)/tag-policy.yaml --home $(DEMO_HOME)
	$(BIN)/costprism chargeback gl-mapping apply $(DEMO_DATA)/gl-mapping.csv --home $(DEMO_HOME)
	$(BIN)/costprism budgets apply $(DEMO_DATA)/budgets.yaml --home $(DEMO_HOME)
	cp $(DEMO_DATA)/alerts.yaml $(DEMO_DATA)/owners.yaml $(DEMO_HOME)/
	$(BIN)/costprism anomalies detect --by SubAccountId --by ServiceName --home $(DEMO_HOME)
	$(BIN)/costprism anomalies list --state open --home $(DEMO_HOME)
	$(BIN)/costprism cost --by ProviderName --granularity total --home $(DEMO_HOME)
	@echo "ledger ready in $(DEMO_HOME); try: $(BIN)/costprism cost --by ServiceName --top 10 --home $(DEMO_HOME)"
	$(BIN)/costprism demo users --home $(DEMO_HOME)
	-$(BIN)/costprism alerts run --detect --home $(DEMO_HOME)
	@echo "alerts: each demo user's in $(DEMO_HOME)/alerts/<user>.jsonl; history at /alerts (demo-admin)"
	$(BIN)/costprism serve --host 127.0.0.1 --port 8000 --alerts-every 15m --home $(DEMO_HOME)

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

types: install
	$(BIN)/mypy

# The suite runs against a throwaway PostgreSQL cluster (.ci/postgres), stopped and deleted
# after pytest whatever pytest did; no cluster, no test run. pytest exits 5 when it collects
# no tests: that must fail, like any other non-zero code.
unit: install system-deps validator
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
	rm -rf $(VENV) $(FV_VENV) $(DEMO_DATA) $(DEMO_HOME) bench/.work .pytest_cache .mypy_cache .ruff_cache
