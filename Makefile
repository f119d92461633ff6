# cohortvault: `make demo` sets up and serves a demo instance; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_DIR ?= var/demo
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system-deps demo demo-reset test test-sqlite test-postgres lint format bench clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $@

system-deps:
	scripts/system-deps.sh

demo: install
	@test -f $(DEMO_DIR)/cohortvault.toml || $(BIN)/cohortvault demo --data-dir $(DEMO_DIR)
	@$(BIN)/cohortvault migrate --data-dir $(DEMO_DIR)
	@scripts/demo-banner.sh $(DEMO_DIR) $(HOST) $(PORT)
	$(BIN)/cohortvault serve --data-dir $(DEMO_DIR) --host $(HOST) --port $(PORT)

demo-reset:
	rm -rf $(DEMO_DIR)

test: install system-deps
	scripts/test-both.sh $(BIN)

test-sqlite: install
	$(BIN)/pytest

test-postgres: install
	$(BIN)/pytest --db=postgres

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	scripts/bench-deps.sh $(BIN)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
