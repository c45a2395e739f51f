# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := demo

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

# The package and its dev tools; not Ray (about 0.2 GB more), which only --executor ray needs.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The tests also run the Ray executor: the ray extra, added to the same venv once (again
# when pyproject.toml changes, since .installed is then remade first).
$(VENV)/.installed-ray: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	touch $@

# Synthetic DSEC (1 train + 1 test sequence, 20 s each, with labelled objects) -> full
# dataset -> questions answered from the labels -> status table (with the label questions).
demo: install
	rm -rf $(DEMO)
	$(BIN)/egpt-dsec synth $(DEMO)/dsec --sequences 1 --test-sequences 1 --seconds 20 --rate 1e5 --seed 0
	$(BIN)/egpt-dsec plan --dsec-root $(DEMO)/dsec --out $(DEMO)/out
	$(BIN)/egpt-dsec build --dsec-root $(DEMO)/dsec --out $(DEMO)/out --workers 2
	$(BIN)/egpt-dsec label-qa --out $(DEMO)/out --dsec-root $(DEMO)/dsec --multiple-choice
	$(BIN)/egpt-dsec status --out $(DEMO)/out
	@echo "dataset card: $(DEMO)/out/README.md"

test: $(VENV)/.installed-ray
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
