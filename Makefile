# The README's two commands are `make run` and `make test`; both install first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
VENDOR := saas/static/vendor
# uv installs exactly what uv.lock pins (versions and hashes). It lives in its own
# venv because `uv sync` removes from .venv whatever the lock does not list.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: install catalogs run serve test i18n lint format clean lock

install: $(STAMP) $(VENDOR)/.installed catalogs

$(UV): tools/uv.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes --no-deps -r tools/uv.txt
	touch $@

# --locked: refuse to run when pyproject.toml and uv.lock disagree (never re-resolve).
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --quiet --python $(PYTHON)
	touch $@

# Upgrading is a deliberate act: re-resolve everything to today's newest versions.
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# Front-end assets come from the npm registry (package.json + lockfile) and are copied
# into static/vendor, which git ignores.
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico.min.css
	touch $@

# Compiled catalogs (.mo) are build output, made from the committed .po files.
catalogs: $(STAMP)
	$(BIN)/pybabel -q compile -d translations

# Links in emails and printed sign-in details follow the port being served. The URL is
# kept in instance/base_url, so flask commands run in another shell (without BASE_URL)
# build their links for this server too (saas/config.py). The demo publishes its
# invoices once: running it again changes nothing.
run: export BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	mkdir -p instance && printf '%s\n' "$$BASE_URL" > instance/base_url
	$(FLASK) db upgrade
	$(FLASK) tenants sync
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The production topology (Procfile: gunicorn, an rq worker, the scheduler) as separate
# processes, on the PostgreSQL, Redis, storage and SMTP that the environment names.
serve: install
	test -n "$$REDIS_URL" || { echo "make serve needs REDIS_URL (and DATABASE_URL, STORAGE_URL, MAIL_URL)"; exit 1; }
	$(FLASK) db upgrade
	$(FLASK) tenants sync
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: install
	$(BIN)/python -m pytest

i18n: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output --project saas .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d translations

lint: $(STAMP)
	$(UV) lock --check --python $(PYTHON)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(TOOLS) node_modules $(VENDOR) instance
