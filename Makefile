# TinyMS developer entry points. Everything installs into ./.venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install quickstart test bench docs docs-serve clean

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

# The suite in parts, each in its own pytest session with two xdist workers taking whole files: a test
# keeps about one of the 2-core machine's cores busy, and fresh workers per part keep the memory they
# hold under the suite's 8 GB (scripts/run_tests.py says why; TEST_WORKERS=0: one process per part).
# A part that collects no test fails the run.
TEST_WORKERS ?= 2
test: install
	@GLOG_v=3 $(PY) scripts/run_tests.py --workers $(TEST_WORKERS)

bench: install
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_train_overhead.py

# The documentation site, built offline into site/ (open site/index.html, or `make docs-serve`).
# scripts/gen_docs.py writes the generated pages first; -W turns every warning into a failure.
# The site is built only when every docstring's Example: runs (tests/test_docstring_examples.py,
# offline, in a scratch folder), then Sphinx -W fails on a broken link or an undocumented public name.
docs: install
	GLOG_v=3 $(PY) -m pytest -q -p no:cacheprovider -o addopts="" tests/test_docstring_examples.py
	GLOG_v=3 $(PY) -m sphinx -W --keep-going -q -b html -d build/docs-doctrees docs site

DOCS_PORT ?= 8000
docs-serve: docs
	@echo "serving site/ at http://127.0.0.1:$(DOCS_PORT)/ (Ctrl-C stops)"
	$(PY) -m http.server --bind 127.0.0.1 --directory site $(DOCS_PORT)

clean:
	rm -rf $(VENV) build *.egg-info site docs/reference
