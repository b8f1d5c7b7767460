# modelbook: `make run` and `make test` are all a newcomer needs; both set up .venv from the lock first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
BYTECODE := $(VENV)/.bytecode
export MLFLOW_ALLOW_PICKLE_DESERIALIZATION := false
export PYTHONHASHSEED := 0
# one BLAS/OpenMP thread per process: with 2 cores, parallel runs and the service would otherwise oversubscribe them
export OMP_NUM_THREADS := 1
# the problem card `make run` trains and `make serve` serves (nbs/experiments/$(CARD).yaml)
CARD ?= caravan

.PHONY: help setup run test test-all lab export clean docs lock lint wheel data verify serve ui

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.lock setup.py settings.ini
	@echo "== setting up $(VENV) from requirements.lock"
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "modelbook needs Python 3.11 or newer, found " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(PY) -r requirements.lock --override requirements.overrides   # .pyc written once here, not by the first test processes racing to import; the overrides keep out what the lock leaves out
	$(BIN)/uv pip install -q --python $(PY) --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name modelbook --display-name "Python (modelbook)" >/dev/null
	if [ -d .git ]; then $(BIN)/nbdev_install_hooks >/dev/null; fi
	$(BIN)/pip check
	touch $@

# Each test process (notebook kernels, CLIs, servers, Dask workers) imports some 4,000 modules. Without their .pyc files
# (a .venv installed before setup compiled them; PYTHONDONTWRITEBYTECODE set, so none are ever written) every process
# compiles them from source again: ~3 s CPU more per process, ~a third of the suite. Compiled once here; compileall
# skips files whose .pyc is current, so on a .venv that setup just compiled this costs a few seconds.
$(BYTECODE): $(STAMP)
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || echo "compileall: some files did not compile; they are read from source"
	touch $@

setup: $(STAMP) ## create .venv from the lock, install the package (editable) and its Jupyter kernel

run: $(STAMP) ## the main job: verify the data, train every candidate of the card (CARD=caravan), report, track, register
	$(BIN)/modelbook data verify
	$(BIN)/modelbook run $(CARD) --progress
	@echo "Reports are in reports/$(CARD)/; browse runs and the registry with: make ui"

serve: $(STAMP) ## serve the card's champion on http://127.0.0.1:8000 (docs at /docs)
	$(BIN)/modelbook serve --model $(CARD) --port 8000

ui: $(STAMP) ## MLflow's UI on the project's tracking store, http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

test: $(BYTECODE) ## the suite (under 10 minutes): notebooks, export/clean checks, end-to-end, docs, wheel
	$(BIN)/pytest

test-all: $(BYTECODE) ## the suite plus the slow end-to-end tests (reproduce, backtest, the season replayed through the service, tuning, promote, monitor, count and multiclass cards, SQLite writers, a new project's run/serve/monitor and its own make test)
	$(BIN)/pytest -m "slow or not slow"

lab: $(STAMP) ## JupyterLab on the project's kernel
	$(BIN)/jupyter lab --notebook-dir=nbs

export: $(STAMP) ## notebooks -> package, and clean the notebooks
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(BIN)/nbdev_clean --fname nbs/experiments
	$(BIN)/nbdev_clean --fname nbs/guides

docs: $(BYTECODE) ## build the static HTML site into _docs/
	$(PY) docs/build.py

lint: $(STAMP) ## ruff on the generated package
	$(BIN)/ruff check modelbook

wheel: $(STAMP) ## build the wheel into dist/
	$(PY) -m build --wheel --no-isolation --outdir dist .

verify: $(STAMP) ## re-check every raw data file against its datasheet
	$(BIN)/modelbook data verify

lock: ## regenerate requirements.lock from requirements.in and requirements.overrides (needs the network)
	$(BIN)/uv pip compile --python-version 3.11 -q requirements.in --override requirements.overrides -o requirements.lock

clean: ## remove run outputs and built docs (keeps .venv and the tracking store)
	rm -rf reports/* _docs _proc dist build
