# Quick start: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
TOOLS_BIN := $(CURDIR)/.cache/tools/bin
export PATH := $(TOOLS_BIN):$(PATH)
PYTHON ?= python3

.PHONY: install test lint unit demo bench readme

install:
	@bash scripts/install-tools.sh

lint: install
	$(PYTHON) -m ruff check gate tests bench entrypoint.py
	$(PYTHON) -m mypy

test: install lint
	$(PYTHON) -m pytest -q -p no:cacheprovider

unit: install
	$(PYTHON) -m pytest -q -p no:cacheprovider -m "not registry"

demo: install
	@bash scripts/demo.sh

# Every benchmark script present (a stage's script may not exist yet); stops at the first failure.
BENCHES := discover copy_image gate osv registry_blob verify outdated scan_layers startup
bench: install
	@set -e; for name in $(BENCHES); do \
		if [ -f bench/$$name.py ]; then echo "== bench/$$name.py"; $(PYTHON) bench/$$name.py; fi; \
	done

# Regenerate the README's input/output tables from action.yml (tests/test_readme.py checks them).
readme:
	$(PYTHON) scripts/readme_tables.py
