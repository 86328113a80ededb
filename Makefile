# Plenary developer commands. Every target sets up its own virtualenv when missing.
#
#   make run         serve the demo meeting
#   make test        install missing system packages, then run every test
#   make test-quick  leave out browser and slow tests
#   make bench       run the benchmarks
#
# VENV=path selects another virtualenv; PYTEST_ARGS=... is passed to pytest.

PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
AGENDA ?= agendas/hdnd-tuan-giao-2020/meeting.toml

VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-quick bench lint venv system-deps

run: $(STAMP)
	$(VENV)/bin/plenary serve $(AGENDA)

test: system-deps $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-quick: $(STAMP)
	$(VENV)/bin/pytest -m "not browser and not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV_PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

venv: $(STAMP)

system-deps:
	scripts/install-system-deps

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(VENV_PY)
	@echo "Installing plenary with its dev dependencies into $(VENV)"
	$(VENV_PY) -m pip install -qq -e '.[dev]'
	touch $(STAMP)
