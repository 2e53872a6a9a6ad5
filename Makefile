# Two commands on a fresh machine (python 3.11 + pip): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-integration test-slow bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: the pinned CPU wheel, so nothing later pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/obsforge scan-shapes --config demo

# The fast tier: about a minute on 2 cores (README). Two pytest workers.
test: $(STAMP)
	$(BIN)/pytest -q -n 2

# End-to-end stages and trainings (a few minutes); CI runs them after the fast tier.
test-integration: $(STAMP)
	$(BIN)/pytest -q -n 2 -m integration

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_eeec_kernel.py
	$(BIN)/python benchmarks/bench_pipeline_throughput.py
	$(BIN)/python benchmarks/bench_density_training.py
	$(BIN)/python benchmarks/bench_ww.py
	$(BIN)/python benchmarks/bench_distillation.py --config cp
	$(BIN)/python benchmarks/bench_pdffit.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs build *.egg-info
