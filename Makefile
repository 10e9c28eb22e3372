# coord — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# Test processes (pytest-xdist): one per core by default.
PYTEST_WORKERS ?= auto
export FLASK_APP := wsgi

.PHONY: run test lint bench system-deps run-deps clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# What the app needs to run (PDF libraries, fonts); the tests add Chromium, poppler and node.
run-deps:
	@bash scripts/system-deps.sh run

system-deps:
	@bash scripts/system-deps.sh test

## make run: set up, migrate, load demo data, start the worker and the web server (no test tools).
run: run-deps $(VENV)/.installed
	@bash scripts/run.sh $(PORT)

## make test: install what the tests need and run the whole suite.
test: system-deps $(VENV)/.installed-test
	@bash scripts/test-deps.sh
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=10 $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check coord tests benchmarks

bench: system-deps $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules .pytest_cache

## make translations: recompile the English catalogue after editing coord/translations/*/messages.po
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d coord/translations
