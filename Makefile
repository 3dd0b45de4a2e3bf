# Two commands from a fresh clone: `make run` (demo server) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core, which the browser tests inject into the pages (package-lock.json pins it).
NODE_STAMP := node_modules/.installed

.PHONY: run test install messages serve loadtest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed: run 'make PYTHON=python3.11 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Without npm the accessibility tests are skipped with a reason (failed in CI, like Chromium).
$(NODE_STAMP): package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund && touch $(NODE_STAMP); \
	else \
		echo "npm is not installed: the accessibility tests will be skipped (apt-get install npm)"; \
	fi

install: $(STAMP) $(NODE_STAMP)

run: export DJANGO_DEBUG = 1
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Open http://127.0.0.1:8000/ and log in with one of the accounts above."
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# Refresh the French catalogue after changing source strings, then translate what is new.
messages: export DJANGO_DEBUG = 1
messages: install
	$(BIN)/python manage.py makemessages --locale fr --no-obsolete --no-location \
		--ignore '.venv/*' --ignore 'tests/*' --ignore 'staticfiles/*'
	$(BIN)/python manage.py compilemessages --locale fr --ignore '.venv/*'

# Production mode on 127.0.0.1:8000 (GUNICORN_BIND to change it), as the application server
# behind a TLS-terminating proxy on the same machine: it trusts the proxy's X-Forwarded-Proto and
# leaves the HTTP-to-HTTPS redirect to it (README, "Production"). Needs a PostgreSQL DATABASE_URL
# and a DJANGO_SECRET_KEY from the environment.
serve: export DJANGO_DEBUG = 0
serve: export DJANGO_ALLOWED_HOSTS ?= 127.0.0.1,localhost
serve: export DJANGO_SECURE_SSL_REDIRECT ?= 0
serve: export DJANGO_SECURE_PROXY_SSL_HEADER ?= 1
serve: install
	@test -n "$$DATABASE_URL" || { echo "make serve needs DATABASE_URL, e.g." \
		"DATABASE_URL=postgres://defis:secret@127.0.0.1:5432/defis make serve"; exit 1; }
	@test -n "$$DJANGO_SECRET_KEY" || { echo "make serve needs DJANGO_SECRET_KEY (production" \
		"mode); make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"; \
		exit 1; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn -c gunicorn.conf.py defis.wsgi

# 20 users for 60 s against a server of its own in production mode, on the seeded design-scale
# database (`python manage.py seed_scale`; the test logs in, so use a copy); the figures go into
# docs/benchmarks.md. Locust (the `bench` extra) is installed into .venv on first use.
loadtest: export DJANGO_DEBUG = 0
loadtest: export DJANGO_SECRET_KEY ?= loadtest-only-not-secret
loadtest: export DJANGO_ALLOWED_HOSTS = 127.0.0.1
loadtest: export DJANGO_SECURE_SSL_REDIRECT = 0
loadtest: export DJANGO_SECURE_PROXY_SSL_HEADER = 1
loadtest: install
	@test -n "$$DATABASE_URL" || { echo "make loadtest needs DATABASE_URL: a copy of the" \
		"design-scale database, e.g. DATABASE_URL=postgres://defis:defis@127.0.0.1:5432/defis_loadtest"; \
		exit 1; }
	@$(BIN)/python -c 'import locust' 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/python bench/loadtest.py --write

# Server time and queries of the key pages in production mode; the figures go into
# docs/benchmarks.md.
bench: export DJANGO_DEBUG = 0
bench: export DJANGO_SECRET_KEY = bench-only-not-secret
bench: export DJANGO_ALLOW_DEMO_DATA = 1
bench: export DJANGO_SECURE_SSL_REDIRECT = 0
bench: install
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/python manage.py bench_pages --write

clean:
	rm -rf $(VENV) node_modules staticfiles test-output
