VENV ?= .venv
PY := $(VENV)/bin/python
LOGDIR ?= demo-logdir

.PHONY: setup demo test lint bench clean

setup:
	@VENV=$(VENV) bash scripts/setup.sh

demo: setup
	$(VENV)/bin/deepscope demo --logdir $(LOGDIR)

test: setup
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2 --dist loadgroup
	$(PY) -m pytest --doctest-modules src -q

# ruff (lint rules and formatting), the import layers (contracts in pyproject.toml), types (pyright, basic).
lint: setup
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pyright --pythonpath $(PY)

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) $(LOGDIR) .pytest_cache .ruff_cache
