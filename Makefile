# Sealed — `make run` starts the console on http://127.0.0.1:5000, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test lint chromium bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: setup
	SCHEDULER_ENABLED=0 $(FLASK) db upgrade
	SCHEDULER_ENABLED=0 $(FLASK) seed --demo
	SCHEDULER_ENABLED=0 $(FLASK) users ensure-admin
	@echo "Sealed console: http://127.0.0.1:5000/login  (client links open at /m/<token>; outbox: make outbox)"
	$(FLASK) run --host 127.0.0.1 --port 5000 --no-reload

outbox: setup
	SCHEDULER_ENABLED=0 $(FLASK) outbox

# Debian's chromium for the browser tests; Playwright's own browser download does not work here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: setup chromium
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/viewer.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
