# canceldesk: `make run` to see it work, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint check bench clean

# A virtualenv with canceldesk and its test tools, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The embedded default: Maildir inbox, SQLite, .eml outbox and demo data under var/.
run: $(STAMP)
	$(BIN)/canceldesk demo --dir var
	$(BIN)/canceldesk --config var/config.toml run

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff (lint and format) and mypy over daemon/, parsers/ and integrations/, as CI runs them.
# `ruff format` and `ruff check --fix` put right most of what ruff reports.
lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check
	$(BIN)/mypy

# The code checks, then the configuration `make run` wrote (var/config.toml) against its servers.
check: lint
	$(BIN)/canceldesk --config var/config.toml check

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/sheets.py

clean:
	rm -rf var .pytest_cache
