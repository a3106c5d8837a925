# Every target bootstraps .venv itself (python3 -m venv) and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS ?= --disable-pip-version-check --quiet

.PHONY: demo test lint bench bench-quick bench-predict clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/loyalsync demo --dir demo-out

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p loyalsync.core -p loyalsync.sync

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run_all --quick

# lifetimes lives in the benchmark's own venv only (never a project dependency)
LIFETIMES := bench/.venv-lifetimes
$(LIFETIMES)/.installed:
	@test -x $(LIFETIMES)/bin/python || $(PYTHON) -m venv $(LIFETIMES)
	$(LIFETIMES)/bin/python -m pip install $(PIP_FLAGS) lifetimes
	@touch $@

bench-predict: $(STAMP) $(LIFETIMES)/.installed
	$(BIN)/python -m bench.bench_predict --lifetimes $(LIFETIMES)/bin/python \
		--sizes 1000000 --segment-size 1000000

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
