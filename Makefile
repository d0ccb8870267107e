# Two commands for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# The Django series the venv is pinned to (constraints/django-<series>.txt): the oldest supported by default,
# so `make test` tests the oldest; `make test-newest` builds a second venv with the newest.
DJANGO ?= 5.2
EXTRAS ?= dev
# The suite runs on PostgreSQL (the production database) and again on SQLite (the embedded default).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_SQLITE_URL ?= sqlite:///$(CURDIR)/tests/test.sqlite3
# The newest supported Django, on the Python given as PYTHON (Django 6 needs Python 3.12+), in a database of its
# own so that it can run beside the others.
NEWEST_DJANGO ?= 6.1
NEWEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test_newest
# With NEWEST_PYTHON set (a Python 3.12+), `make test` runs test-newest beside the other two runs.
NEWEST_PYTHON ?=
PYTEST_ARGS ?=

.PHONY: demo demo-check test test-postgres test-sqlite test-newest lint bench bench-smoke chaos install clean

$(VENV)/.installed: pyproject.toml constraints/django-$(DJANGO).txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]' -c constraints/django-$(DJANGO).txt
	$(PY) scripts/check_django.py $(DJANGO)
	touch $@

install: $(VENV)/.installed

# The example shop with the simulator and the worker until Ctrl-C (with CI set: the scripted purchase, then exit).
demo: $(VENV)/.installed
	$(PY) scripts/demo.py

# The same start, one scripted purchase through the shop's pages and the admin, then everything stopped
# (SQLite + filesystem broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise).
demo-check: $(VENV)/.installed
	$(PY) scripts/demo.py --check

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check antom_django tests bench scripts example_project
	DJANGO_SETTINGS_MODULE=tests.settings $(VENV)/bin/mypy antom_django
	$(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=sqlite://:memory: $(PY) example_project/manage.py makemigrations --check --dry-run --skip-checks
	$(PY) manage.py check --fail-level WARNING

# The database runs go side by side (each output shown whole when its run ends), then the demo's check.
TEST_RUNS := test-postgres test-sqlite $(if $(NEWEST_PYTHON),test-newest)
test: lint bench-smoke
	$(MAKE) --no-print-directory -j3 --output-sync=target $(TEST_RUNS)
	$(MAKE) --no-print-directory demo-check

# Each run deselects the other database's tests (-m), so that none is skipped (CI fails skips).
test-postgres: $(VENV)/.installed
	$(PY) scripts/check_django.py $(DJANGO)
	ANTOM_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest -m "not sqlite" $(PYTEST_ARGS)

test-sqlite: $(VENV)/.installed
	ANTOM_TEST_DATABASE_URL=$(TEST_SQLITE_URL) $(PY) -m pytest -m "not postgres" $(PYTEST_ARGS)

test-newest:
	$(MAKE) --no-print-directory test-postgres VENV=.venv-django$(NEWEST_DJANGO) DJANGO=$(NEWEST_DJANGO) EXTRAS=test \
		TEST_POSTGRES_URL=$(NEWEST_POSTGRES_URL) $(if $(NEWEST_PYTHON),PYTHON=$(NEWEST_PYTHON))

# Full signing benchmark (fails if a target is missed); the smoke run only checks agreement with the SDK.
bench: $(VENV)/.installed
	$(PY) bench/signing.py
	$(PY) bench/notify_throughput.py
	$(PY) bench/polling.py
	$(PY) bench/admin_list.py
	$(PY) bench/fuzz_notify.py

bench-smoke: $(VENV)/.installed
	$(PY) bench/signing.py --smoke
	$(PY) bench/notify_throughput.py --smoke
	$(PY) bench/polling.py --smoke
	$(PY) bench/admin_list.py --smoke
	$(PY) bench/chaos.py --smoke
	$(PY) bench/fuzz_notify.py --smoke

# The chaos suite's full run (2,000 payments under injected faults, 11-18 minutes): fails on any violation.
chaos: $(VENV)/.installed
	$(PY) bench/chaos.py

clean:
	rm -rf $(VENV) .venv-django* build *.egg-info tests/test.sqlite3 tests/test_test.sqlite3
