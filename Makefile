# Sealed — `make run` starts the console on http://127.0.0.1:5000, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup run test lint chromium axe wrk bench clean outbox translations

# The client's languages: each catalog (.po, committed) compiles to its .mo (generated, git-ignored),
# again whenever the catalog changes.
CATALOGS := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

setup: $(STAMP) $(COMPILED)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations -l $* -i $< -o $@

# Refresh the catalogs from the source (viewer, client texts), then translate every new msgid.
translations: setup
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k lazy_gettext --no-location \
	  --sort-output --project Sealed -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

run: setup
	SCHEDULER_ENABLED=0 $(FLASK) db upgrade
	SCHEDULER_ENABLED=0 $(FLASK) seed --demo
	SCHEDULER_ENABLED=0 $(FLASK) users ensure-admin
	@echo "Sealed console: http://127.0.0.1:5000/login  (client links open at /m/<token>; outbox: make outbox)"
	$(FLASK) run --host 127.0.0.1 --port 5000 --no-reload

outbox: setup
	SCHEDULER_ENABLED=0 $(FLASK) outbox

# Debian's chromium for the browser tests; Playwright's own browser download does not work here.
# Where it is missing and this machine cannot install it (no apt-get, or neither root nor sudo
# without a password), say why and go on: the browser tests then skip with the reason, and CI,
# which has apt-get, runs them. A failing apt-get where it can run is an error.
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get
SKIP_BROWSER := the browser tests will skip (CI runs them)

chromium:
	@[ -x "$(CHROMIUM)" ] && exit 0; \
	if ! command -v $(APT_GET) >/dev/null 2>&1; then \
	  echo "make chromium: $(CHROMIUM) is missing and there is no $(APT_GET) to install Debian's chromium: $(SKIP_BROWSER)."; \
	  exit 0; fi; \
	if [ "$$(id -u 2>/dev/null)" = 0 ]; then as_root=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	else echo "make chromium: $(CHROMIUM) is missing and installing Debian's chromium needs root or sudo without a password (run: sudo $(APT_GET) install chromium): $(SKIP_BROWSER)."; \
	  exit 0; fi; \
	echo "make chromium: installing Debian's chromium for the browser tests"; \
	$$as_root $(APT_GET) update -qq && $$as_root env DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium >/dev/null \
	  || { echo "make chromium: $(APT_GET) could not install chromium" >&2; exit 1; }; \
	[ -x "$(CHROMIUM)" ] || echo "make chromium: chromium is installed but $(CHROMIUM) is still missing: $(SKIP_BROWSER)."

# axe-core from the npm registry (pinned in package.json / package-lock.json) for the browser tests'
# accessibility checks. Without npm, say so and go on: those checks then skip with the reason.
AXE := node_modules/axe-core/axe.min.js

axe:
	@[ -f "$(AXE)" ] && exit 0; \
	if ! command -v npm >/dev/null 2>&1; then \
	  echo "make axe: npm is missing, so axe-core cannot be installed: the accessibility checks will skip (CI runs them)."; \
	  exit 0; fi; \
	npm ci --no-audit --no-fund

test: setup chromium axe
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

# Debian's wrk for bench/viewer.py, installed like chromium; without it the bench uses its Python load generator.
wrk:
	@command -v wrk >/dev/null 2>&1 && exit 0; \
	if ! command -v $(APT_GET) >/dev/null 2>&1; then echo "make wrk: no $(APT_GET): bench/viewer.py uses its Python load generator."; exit 0; fi; \
	if [ "$$(id -u 2>/dev/null)" = 0 ]; then as_root=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	else echo "make wrk: installing wrk needs root or sudo without a password: bench/viewer.py uses its Python load generator."; exit 0; fi; \
	echo "make wrk: installing Debian's wrk for the viewer benchmark"; \
	$$as_root $(APT_GET) update -qq && $$as_root env DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq wrk >/dev/null \
	  || { echo "make wrk: $(APT_GET) could not install wrk" >&2; exit 1; }

bench: setup wrk
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/viewer.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
