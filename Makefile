# TinyMS developer entry points. Everything installs into ./.venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install quickstart test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

quickstart: install
	GLOG_v=3 $(VENV)/bin/tinyms quickstart

test: install
	GLOG_v=3 $(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_train_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
