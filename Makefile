# ediscuss: `make run` serves on the embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

# The PostgreSQL half of the storage tests uses this server; .ci/run sets its own.
PG_DEFAULT := postgresql+psycopg://postgres@127.0.0.1:5432/postgres
export EDISCUSS_TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo $(PG_DEFAULT))

.PHONY: install run test check lint typecheck format bench audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("ediscuss needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/ediscuss config check
	$(BIN)/ediscuss db upgrade
	$(BIN)/ediscuss serve

test: install
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pip-audit over the installed packages: fails on a known vulnerability; says so
# plainly (without failing) when PyPI's vulnerability data cannot be reached.
audit: install
	$(BIN)/python .ci/audit.py

bench: install
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
