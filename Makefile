# The two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Where `make run` writes mail (settings.MAIL_FOLDER reads DIGEST_MAIL_FOLDER).
MAIL_FOLDER ?= var/mail
export DIGEST_MAIL_FOLDER := $(abspath $(MAIL_FOLDER))

# The interface's message catalogues, compiled from the .po files in the repository.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: run test setup db superuser lint check clean bench-search search-quality messages

# Links in mail point at the server `make run` starts, unless DIGEST_SITE_URL says otherwise.
run: export DIGEST_SITE_URL ?= http://$(HOST):$(PORT)
run: db ## set up, then serve the site on SQLite at http://$(HOST):$(PORT), with a mail worker
	@echo ""
	@echo "  Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "  Create an admin user with:  make superuser"
	@echo "  (or: $(PY) manage.py createsuperuser)"
	@echo "  Mail (confirmations, issues) is written to $(MAIL_FOLDER)/ as .eml files."
	@echo ""
	@$(PY) manage.py delivery_worker --verbosity 1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# `make test` runs the tests in PYTEST_WORKERS processes (pytest-xdist), each with its own test
# database and a test file at a time (--dist loadfile: a file's module fixtures, its live server
# or its varnishd are made once). Two, as CI's machine has two cores; 0 runs them in this process.
PYTEST_WORKERS ?= 2

test: setup ## set up, then run the whole test suite
	@command -v $${CHROMIUM_PATH:-/usr/bin/chromium} >/dev/null || echo "NOTE: chromium is not \
	installed, so the browser tests are skipped (make system-packages installs it)."
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

setup: $(INSTALLED) $(CATALOGUES)

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(INSTALLED)

%.mo: %.po $(INSTALLED)
	$(VENV)/bin/pybabel --quiet compile --domain=django --input-file=$< --output-file=$@

messages: setup ## update locale/en from the templates and code (needs GNU gettext's xgettext)
	$(PY) manage.py makemessages --locale=en --no-obsolete --add-location=file \
		--ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles

db: setup ## migrate and load the seed roundup (idempotent)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_seed

superuser: db ## create an admin user interactively
	$(PY) manage.py createsuperuser

lint: setup ## ruff (lint and format), template indentation, the apps' import rules
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djhtml --check templates
	$(VENV)/bin/lint-imports

.PHONY: format
format: setup ## apply the formatting that make lint checks
	$(VENV)/bin/ruff format .
	$(VENV)/bin/djhtml templates

check: setup ## Django's checks and a check that no migration is missing
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

search-quality: setup ## the judged query set: recall@10 and nDCG@10, before and now (docs/search-quality.md)
	DIGEST_SEARCH_QUALITY_WHEN="$$(date -u '+%Y-%m-%d %H:%M UTC')" \
	DIGEST_SEARCH_QUALITY_REPORT=docs/search-quality.md \
	DIGEST_SEARCH_QUALITY_BEFORE=bench/search_quality/before.json \
	$(PY) -m pytest tests/papers/test_search_quality.py -q -p no:cacheprovider

bench-search: setup ## search latency at 100,000 generated entries (see docs/search-benchmark.md)
	$(PY) -m bench.search.latency --fixture --database sqlite
	$(PY) -m bench.search.latency --entries 100000 --database sqlite
	$(PY) -m bench.search.latency --fixture --database postgres
	$(PY) -m bench.search.latency --entries 100000 --database postgres

# `make bench-delivery BENCH_DELIVERY_ARGS="--deliveries 0"` passes options to the script.
BENCH_DELIVERY_ARGS ?=
.PHONY: bench-delivery
bench-delivery: setup ## newsletter: queue 100,000 deliveries, send with two workers (docs/newsletter-benchmark.md)
	$(PY) -m bench.delivery.run --database both $(BENCH_DELIVERY_ARGS)

# Debian packages the tests use beyond Python's: a browser and CJK fonts (browser tests),
# Varnish with xkey (front-cache tests), PostgreSQL's RUM index (search). Needs root or sudo;
# .ci/run calls it. Without them `make test` skips those tests and says so.
SYSTEM_PACKAGES := chromium fonts-noto-cjk varnish varnish-modules postgresql-15-rum wrk
.PHONY: system-packages
system-packages: ## install the Debian packages some tests and benchmarks need (root or sudo)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		echo "Installing: $$missing"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
	fi

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache locale/*/LC_MESSAGES/*.mo

# `make bench BENCH_ARGS="--entries 20000"` passes options to the script.
BENCH_ARGS ?=
.PHONY: bench
bench: setup ## req/s and latency under gunicorn + wrk, SQLite and PostgreSQL (docs/benchmarks.md)
	$(PY) -m bench.http.load --database both $(BENCH_ARGS)

# `make soak SOAK_ARGS="--duration 40"` passes options to the script.
SOAK_ARGS ?=
.PHONY: soak
soak: setup ## editors saving drafts, a Publisher, then load + faults (PostgreSQL restarted, Redis stopped) on private servers (docs/soak.md)
	$(PY) -m bench.soak.run $(SOAK_ARGS)

.PHONY: bench-render
bench-render: setup ## cold in-process render of the public pages, SQLite and PostgreSQL (docs/render-benchmark.md)
	$(PY) -m bench.render.run --database both

# `make bench-related BENCH_RELATED_ARGS="--entries 20000"` passes options to the script.
BENCH_RELATED_ARGS ?=
.PHONY: bench-related
bench-related: setup ## related entries at 100,000 entries: one save, the rebuild, the paper page, SQLite and PostgreSQL (docs/related-benchmark.md)
	$(PY) -m bench.related.run --database sqlite --json docs/related-benchmark-sqlite.json $(BENCH_RELATED_ARGS)
	$(PY) -m bench.related.run --database postgres --json docs/related-benchmark-postgres.json $(BENCH_RELATED_ARGS)
