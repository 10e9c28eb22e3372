# coord — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# Test processes (pytest-xdist): one per core by default.
PYTEST_WORKERS ?= auto
export FLASK_APP := wsgi

.PHONY: run test lint bench system-deps clean translations

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

system-deps:
	@bash scripts/system-deps.sh

## make run: set up, migrate, load demo data, start the worker and the web server.
run: system-deps $(VENV)/.installed
	$(BIN)/flask db upgrade heads
	@# The demo district needs the calendar around today; without it seed-demo says which day is missing
	@# and fails, and the server still starts (the office can then add the year on the 工作日历 page).
	$(BIN)/flask seed-demo || echo "seed-demo: 演示辖区未生成（原因见上），服务照常启动 / demo district not made, starting anyway"
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
