# radlabel: `make run` starts the app with demo data, `make test` runs the whole suite.
# Both install what they need first, so they work on a fresh clone.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# -qq: errors only; pip's warnings about this machine's extra package folders would bury them.
PIP := $(BIN)/python -m pip install -qq --disable-pip-version-check
PORT ?= 8000
export PORT

# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="tests/reports -x"`.
PYTEST_ARGS ?=
# pytest-xdist processes for the tests that need no browser and no worker (0 = one process).
TEST_WORKERS ?= 2
XDIST := $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS))

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install run test chromium orthanc lint clean

help:
	@echo "make run      install, migrate, seed the demo data, start the web server and a Celery worker"
	@echo "              (PORT=$(PORT); DEMO_PASSWORD sets the demo users' password)"
	@echo "make test     install and run the whole test suite"
	@echo "make install  create $(VENV) and install the pinned dependencies"
	@echo "make lint     the layer contracts (import-linter) and ruff; make test runs it first"
	@echo "make clean    remove $(VENV), var/ and caches"

install: $(STAMP)

# torch goes first and on its own pin: that pin is the CPU build on this machine's disk, while
# any other spec (including one pulled in by a dependency) downloads a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing torch 2.13.0 (CPU), then radlabel's pinned dependencies into $(VENV) (a minute or two)..."
	$(PIP) torch==2.13.0
	$(PIP) -c requirements/constraints.txt -e ".[test]"
	@touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/run.py

# Browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
chromium:
	@test -x /usr/bin/chromium || { \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get install -y --no-install-recommends chromium \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }; }

# The PACS tests start Debian's Orthanc (with its DICOMweb plugin) on loopback, with their own
# configuration; the package's own service is not used.
orthanc:
	@{ test -x /usr/sbin/Orthanc && test -f /usr/share/orthanc/plugins/libOrthancDicomWeb.so; } || { \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get install -y --no-install-recommends orthanc orthanc-dicomweb \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends orthanc orthanc-dicomweb; }; }

# Two passes: the tests that share nothing run in parallel; the browser and worker tests run
# alone, because they start servers and Celery workers that must not compete for one queue.
# Lint runs first, so a broken layer or a style finding fails the run. Both passes always run. pytest exits 5 when a pass selects no test (say PYTEST_ARGS names one
# folder): an error only when neither pass ran anything.
test: lint chromium orthanc
	@status=0; ran=0; \
	for marks in "not e2e and not worker" "e2e or worker"; do \
		if [ "$$marks" = "e2e or worker" ]; then workers=""; else workers="$(XDIST)"; fi; \
		echo "$(BIN)/pytest $$workers -m \"$$marks\" $(PYTEST_ARGS)"; \
		$(BIN)/pytest $$workers -m "$$marks" $(PYTEST_ARGS); rc=$$?; \
		if [ $$rc = 0 ]; then ran=1; elif [ $$rc != 5 ] && [ $$status = 0 ]; then status=$$rc; fi; \
	done; \
	if [ $$status = 0 ] && [ $$ran = 0 ]; then echo "make test: no test ran"; status=5; fi; \
	exit $$status

# The layer contracts and the style rules live in pyproject.toml ([tool.importlinter], [tool.ruff]).
lint: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache staticfiles
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
