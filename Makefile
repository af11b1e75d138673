# Two commands on a fresh machine: `make demo` and `make test`. Both bootstrap .venv.
VENV   := .venv
STAMP  := $(VENV)/.installed
PYTHON ?=
export PYTHON

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh
	@touch $(STAMP)

## Fit the built-in demo data and write mediamix-demo/
demo: $(STAMP)
	$(VENV)/bin/mediamix demo --out mediamix-demo

## Run the whole test suite (CI runs exactly this)
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest

## Print speed figures (see benchmarks/)
bench: $(STAMP)
	$(VENV)/bin/python benchmarks/seed_example.py

clean:
	rm -rf $(VENV) mediamix-demo .pytest_cache
