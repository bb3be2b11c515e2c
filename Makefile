# Two commands for a fresh machine with Python >= 3.11 and make:
#   make chat   - create .venv, install, chat with the bot in this terminal
#   make test   - create .venv, install with test extras, run the whole test suite
# make check runs what CI runs: format check, lint, strict types, tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: chat test check fmt lint types bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "helpdesk-bot needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,postgres]'
	touch $@

chat: $(VENV)/.installed
	$(BIN)/helpdesk chat $(if $(CHAT_AS),--as $(CHAT_AS),)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format bot tests bench
	$(BIN)/ruff check --fix bot tests bench

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/ruff check bot tests bench

types: $(VENV)/.installed-test
	$(BIN)/mypy

check: lint types test

bench: $(VENV)/.installed-test
	$(BIN)/python bench/intents.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/kb_search.py
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/slack_serve.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/handoff.py
	$(BIN)/python bench/weekly.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
