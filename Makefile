# Two commands: `make run` (the app, no services needed) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The app alone, from requirements.txt: the end-to-end services stack runs on it, so a
# runtime dependency that only the test tools bring in cannot hide.
RUN_VENV := .venv-run
PORT ?= 8000

.PHONY: run test lint format bench clean

# The first `make run` spends about a minute here; it says so rather than sitting silent.
$(VENV)/.installed: requirements.txt
	@echo "reviewer: setting up $(VENV) from requirements.txt (first start or changed requirements; about a minute)"
	@test -x $(PY) || { echo "reviewer: creating the virtual environment"; $(PYTHON) -m venv $(VENV); }
	@echo "reviewer: upgrading pip"
	@$(PY) -m pip install -q --upgrade pip
	@echo "reviewer: installing the Python packages"
	@$(PY) -m pip install -q -r requirements.txt
	@touch $@
	@echo "reviewer: packages installed"

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

# Rebuilt from nothing whenever requirements.txt changes, so nothing stale lingers.
$(RUN_VENV)/.installed: requirements.txt
	rm -rf $(RUN_VENV)
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install -q --upgrade pip
	$(RUN_VENV)/bin/python -m pip install -q -r requirements.txt
	touch $@

run: $(VENV)/.installed
	@echo "reviewer: applying database migrations"
	@$(PY) manage.py migrate --noinput -v0
	@echo "reviewer: collecting static files"
	@$(PY) manage.py collectstatic --noinput -v0
	@PORT=$(PORT) bash scripts/run.sh

# The services profile for the in-process tests; the end-to-end tests start both profiles.
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/reviewer
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/12

test: $(VENV)/.installed-test $(RUN_VENV)/.installed
	E2E_RUNTIME_PYTHON=$(abspath $(RUN_VENV))/bin/python $(PY) -m pytest $(PYTEST_ARGS)
	DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) \
	  SECRET_KEY=services-profile-test-key \
	  $(PY) -m pytest -m "not e2e" --ignore=tests/packing --ignore=tests/llm -p no:cacheprovider $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/broker var/work
