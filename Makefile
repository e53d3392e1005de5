# Billing Portal. `make run` serves the demo on http://127.0.0.1:8000; `make test` runs every check.
# Both set up what they need first: a .venv with Python 3.12+, the project, migrations.

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12+ among: $(PYTHON) if given, python3.13 / python3.12 / python3 on PATH,
# then the newest 3.12+ that pyenv holds. pyenv's shims exist on PATH even for versions that are
# not active, so every candidate is asked for its version rather than trusted by name.
define find_python
for candidate in $(PYTHON) python3.13 python3.12 python3; do \
  if "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
    command -v "$$candidate"; exit 0; fi; \
  if [ -n "$(PYTHON)" ]; then exit 1; fi; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for version in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.|$$)' | sort -rV); do \
    echo "$$(pyenv prefix $$version)/bin/python3"; exit 0; done; \
fi; exit 1
endef

.PHONY: run test test-thorough setup lint format messages worker beat bench clean

# The settings default to production (DEBUG off, a strong SECRET_KEY required). The local
# demo, its worker and the in-process benchmarks run with DEBUG on unless told otherwise;
# the tests set it themselves (pyproject.toml), and so does the migrations check below.
run worker beat bench: export DEBUG ?= true

$(STAMP): pyproject.toml
	@python=$$($(find_python)) || { echo "Python 3.12 or newer is needed: install it, or run 'make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)'."; exit 1; }; \
	echo "Setting up $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Billing Portal: http://$(HOST):$(PORT)/"
	@echo "  Customer logins: demo@example.com / demo1234 (Acme Cloud AB), other@example.com / demo1234 (Globex)"
	@echo "  Staff admin:     http://$(HOST):$(PORT)/admin/  admin@example.com / admin1234"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

# The suite runs on the configured database (DATABASE_URL; SQLite without it), in as many
# processes as the machine has cores (pytest-xdist, a test database each). With PostgreSQL
# configured, the money, overflow, concurrency and hostile-input tests (marked both_databases)
# run a second time on SQLite, which stores and compares values differently.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n $(PYTEST_WORKERS)
	@if [ -n "$$DATABASE_URL" ] && [ "$${DATABASE_URL#sqlite}" = "$$DATABASE_URL" ]; then \
	  echo "Again on SQLite: the tests marked both_databases"; \
	  DATABASE_URL= $(BIN)/pytest -n $(PYTEST_WORKERS) -m "both_databases and not postgres"; \
	fi

# The same, with Hypothesis trying twenty times as many examples, new ones each run.
test-thorough: export HYPOTHESIS_PROFILE = thorough
test-thorough: test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Translations (needs GNU gettext): collect every marked string into locale/sv/LC_MESSAGES/django.po,
# keeping the translations it has; translate the new ones there, then run this again to compile
# django.mo. Commit both. Another language: LANG_CODE=de make messages (and add it to LANGUAGES).
LANG_CODE ?= sv
messages: $(STAMP)
	DEBUG=true $(PY) manage.py makemessages --locale $(LANG_CODE) --no-wrap --add-location file --no-obsolete
	DEBUG=true $(PY) manage.py compilemessages --locale $(LANG_CODE) --ignore '.*'

# Background work against Redis: `REDIS_URL=redis://127.0.0.1:6379/0 make worker` (and `make beat`).
worker: $(STAMP)
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker."; exit 1; }
	$(BIN)/celery -A portal worker --loglevel=INFO

beat: $(STAMP)
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run beat."; exit 1; }
	$(BIN)/celery -A portal beat --loglevel=INFO

bench: $(STAMP)
	$(PY) -m bench $(ONLY)

clean:
	rm -rf $(VENV) .ruff_cache staticfiles test-artifacts
