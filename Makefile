# Two commands for a newcomer: `make run` and `make test`.  Both create .venv when it
# is missing and install what they need from PyPI (nothing else is downloaded).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SEED   ?= 1

.PHONY: run test test-oldest bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed-run

EXPERIMENT ?= experiments/lancashire-south-cumbria.yaml
RESULTS    := results/$(shell sed -n 's/^name: *//p' $(EXPERIMENT))

## run: run the flagship experiment (resumable), print its comparison and write its report
run: $(VENV)/.installed-run
	$(BIN)/handover sweep $(EXPERIMENT)
	$(BIN)/handover compare $(RESULTS)
	$(BIN)/handover report $(RESULTS)
	@echo "tables: $(RESULTS)/ (scenario_summary, differences, runs; Parquet and CSV)"
	@echo "open the report: $(RESULTS)/report/index.html"

## test: every test (unit, property, theory, command line)
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

## test-oldest: every test and lint check with the oldest versions pyproject.toml allows,
## in a fresh .venv-oldest, so that its lower bounds stay true (tests/oldest.py)
OLDEST := .venv-oldest
test-oldest:
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) tests/oldest.py > $(OLDEST)/constraints.txt
	$(OLDEST)/bin/python -m pip install --quiet -c $(OLDEST)/constraints.txt -e ".[test]"
	$(OLDEST)/bin/python -m pip list --format=freeze > $(OLDEST)/installed.txt
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider
	$(OLDEST)/bin/ruff check sim tests
	$(OLDEST)/bin/ruff format --check sim tests
	$(OLDEST)/bin/mypy --no-incremental

## bench: performance benchmark (writes results/benchmarks/latest.json)
bench: $(VENV)/.installed-test
	$(BIN)/python -m sim.bench

## lint: ruff and mypy
lint: $(VENV)/.installed-test
	$(BIN)/ruff check sim tests
	$(BIN)/ruff format --check sim tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OLDEST) .pytest_cache .mypy_cache .ruff_cache .hypothesis
