# Two commands from a fresh clone: `make run` (demo server) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core, which the browser tests inject into the pages (package-lock.json pins it).
NODE_STAMP := node_modules/.installed

.PHONY: run test install messages clean

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

clean:
	rm -rf $(VENV) node_modules staticfiles test-output
