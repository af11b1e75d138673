# Two commands on a fresh machine: `make demo` and `make test`. Both bootstrap .venv.
VENV   := .venv
STAMP  := $(VENV)/.installed
PYTHON ?=
export PYTHON

.PHONY: demo test bench bench-compare lint clean

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

## mediamix vs pymc-marketing, side by side (benchmarks/compare_pymc_marketing.py). pymc-marketing 1.3.0
## pins pymc<6.4 and numpy<2.5, so it lives in its own .venv-bench. Options: make bench-compare BENCH_ARGS="--repeats 3"
BENCH_VENV := .venv-bench
BENCH_ARGS ?=

$(BENCH_VENV)/.installed:
	@PY="$${PYTHON:-}"; \
	if [ -z "$$PY" ]; then \
	  for c in python3.13 python3.12 python3 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3; do \
	    if command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then \
	      PY="$$c"; break; \
	    fi; \
	  done; \
	fi; \
	if [ -z "$$PY" ]; then echo "error: bench-compare needs Python >= 3.12; point to one: make PYTHON=/path/to/python3.12 bench-compare" >&2; exit 1; fi; \
	echo "bench-compare: creating $(BENCH_VENV) with $$PY ($$("$$PY" --version 2>&1))"; \
	"$$PY" -m venv $(BENCH_VENV) && \
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip && \
	$(BENCH_VENV)/bin/python -m pip install --quiet "pymc-marketing==1.3.0" nutpie && \
	touch $@

bench-compare: $(STAMP) $(BENCH_VENV)/.installed
	$(VENV)/bin/python benchmarks/compare_pymc_marketing.py --pmm-python $(BENCH_VENV)/bin/python $(BENCH_ARGS)

clean:
	rm -rf $(VENV) mediamix-demo .pytest_cache
