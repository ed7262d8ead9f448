# canceldesk: `make run` to see it work, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench clean

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

check: $(STAMP)
	$(BIN)/canceldesk --config var/config.toml check

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/sheets.py

clean:
	rm -rf var .pytest_cache
