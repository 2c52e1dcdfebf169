# Retentio — every set-up step lives here, so a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint fmt typecheck bench system-deps venv i18n serve clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Build a demo shop on SQLite and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/retentio demo --customers 2000 --seed 42
	$(BIN)/retentio serve --host 127.0.0.1 --port 8000

serve: $(STAMP)
	$(BIN)/retentio migrate
	$(BIN)/retentio serve

system-deps:
	bash scripts/system-deps.sh

## Lint, type-check, then the whole suite on SQLite and on PostgreSQL
test: system-deps $(STAMP) lint typecheck
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)
	RETENTIO_TEST_DATABASE_URL="$$(bash scripts/test-services.sh)" \
		$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## Build the documentation site into site/ (offline: no web fonts, local search)
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

## Re-extract translatable strings and merge them into the Russian catalogue
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ --no-location --project Retentio \
		-o src/retentio/web/locale/messages.pot .
	$(BIN)/pybabel update -i src/retentio/web/locale/messages.pot \
		-d src/retentio/web/locale -l ru --no-fuzzy-matching

clean:
	rm -rf $(VENV) retentio-data .mypy_cache .ruff_cache
