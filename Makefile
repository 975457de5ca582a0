# Quick start: `make demo` and `make test` work on a fresh machine. `make demo` installs only what the demo
# runs (install-demo: docker-registry, the package, regctl); everything else installs everything (install).
SHELL := /bin/bash
TOOLS_BIN := $(CURDIR)/.cache/tools/bin
export PATH := $(TOOLS_BIN):$(PATH)
PYTHON ?= python3

.PHONY: install install-demo test lint unit demo bench readme

install:
	@bash scripts/install-tools.sh

install-demo:
	@bash scripts/install-tools.sh --demo

lint: install
	$(PYTHON) -m ruff check gate tests bench entrypoint.py
	$(PYTHON) -m mypy

test: install lint
	$(PYTHON) -m pytest -q -p no:cacheprovider

unit: install
	$(PYTHON) -m pytest -q -p no:cacheprovider -m "not registry"

demo: install-demo
	@bash scripts/demo.sh

# Every benchmark script present (a stage's script may not exist yet); stops at the first failure.
BENCHES := discover copy_image gate osv registry_blob verify outdated scan_layers mirror_tags startup
bench: install
	@set -e; for name in $(BENCHES); do \
		if [ -f bench/$$name.py ]; then echo "== bench/$$name.py"; $(PYTHON) bench/$$name.py; fi; \
	done

# Regenerate the README's input/output tables from action.yml (tests/test_readme.py checks them).
readme:
	$(PYTHON) scripts/readme_tables.py
