# The two set-up commands of README.md: `make demo` and `make test`.
# Each creates .venv (if needed) and installs cift from this checkout's own files.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/cift demo

test: $(VENV)/.test
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	cd benchmarks && ../$(BIN)/python bench_lake.py && ../$(BIN)/python bench_features.py \
	  && ../$(BIN)/python bench_stores.py && ../$(BIN)/python bench_backtest.py \
	  && ../$(BIN)/python bench_events.py

clean:
	rm -rf $(VENV) .pytest_cache
