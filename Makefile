# Two commands for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The suite runs on PostgreSQL (the production database); set it to sqlite:///... to try SQLite.
ANTOM_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
export ANTOM_TEST_DATABASE_URL

.PHONY: demo test lint bench bench-smoke install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) scripts/demo.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check antom_django tests bench scripts
	DJANGO_SETTINGS_MODULE=tests.settings $(VENV)/bin/mypy antom_django
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check --fail-level WARNING

test: lint bench-smoke
	$(PY) -m pytest

# Full signing benchmark (fails if a target is missed); the smoke run only checks agreement with the SDK.
bench: $(VENV)/.installed
	$(PY) bench/signing.py
	$(PY) bench/notify_throughput.py

bench-smoke: $(VENV)/.installed
	$(PY) bench/signing.py --smoke
	$(PY) bench/notify_throughput.py --smoke

clean:
	rm -rf $(VENV) build *.egg-info tests/test.sqlite3
