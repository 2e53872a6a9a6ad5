# Two commands on a fresh machine (python 3.11 + pip): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-integration test-slow bench bench-stream bench-eec-venv lint clean

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

# The fast tier: about a minute on 2 cores (README). Two pytest workers; an idle one takes
# the next test from the other (worksteal), as the tests last 0.01-12 s.
test: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist worksteal

# End-to-end stages and trainings (a few minutes); CI runs them after the fast tier.
test-integration: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist worksteal -m integration

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_eeec_kernel.py
	$(BIN)/python benchmarks/bench_pipeline_throughput.py
	$(BIN)/python benchmarks/bench_density_training.py
	$(BIN)/python benchmarks/bench_ww.py
	$(BIN)/python benchmarks/bench_distillation.py --config cp
	$(BIN)/python benchmarks/bench_pdffit.py

# The streamed 10^6-jet sample with time, memory and disk (24 min on 2 cores).
bench-stream: $(STAMP)
	$(BIN)/python benchmarks/bench_stream.py --config eeec-101

# The benchmark-only virtualenv with the C++ eec package (the EEEC kernel's speed reference):
# eec 0.2.0 builds on Python 3.11 only after regenerating its C++ with Cython 0.29 and numpy < 2.
bench-eec-venv:
	$(PYTHON) -m venv .venv-eec
	.venv-eec/bin/pip install --quiet "numpy<2" "cython<3" setuptools wheel
	rm -rf build/eec && mkdir -p build/eec
	.venv-eec/bin/pip download --quiet eec==0.2.0 --no-deps --no-binary :all: --no-build-isolation -d build/eec
	cd build/eec && tar xzf eec-0.2.0.tar.gz && cd eec-0.2.0 && ../../../.venv-eec/bin/python setup.py cython
	.venv-eec/bin/pip install --quiet --no-build-isolation build/eec/eec-0.2.0

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs build *.egg-info
