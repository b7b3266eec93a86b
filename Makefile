# The coins platform. `make run` starts the local stack; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK_FLAGS   := -q --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links --no-emit-index-url
LOCK_UPGRADE := $(if $(filter 1,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE)))

.PHONY: help run test test-unit format install lock token migrate images docker bench clean openapi client

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

## List the targets and what each does.
help:
	@awk '/^## /{doc = doc substr($$0, 4) " "; next} /^[a-z-]+:/{if (doc) printf "  %-10s %s\n", substr($$1, 1, length($$1) - 1), doc; doc = ""}' $(MAKEFILE_LIST)

## Create .venv with the pinned dependencies.
install: $(STAMP)

## Refresh requirements.lock and requirements-dev.lock (pinned, with hashes) from pyproject.toml,
## keeping today's versions; UPGRADE=1 takes the newest allowed, UPGRADE=name upgrades one package.
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile $(LOCK_FLAGS) $(LOCK_UPGRADE) --output-file=requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile $(LOCK_FLAGS) $(LOCK_UPGRADE) --extra dev --extra testing --constraint requirements.lock \
	  --output-file=requirements-dev.lock pyproject.toml

## Start broker, migrations and every process of the three services (Ctrl-C stops all).
## The broker is Apache Kafka, as in production (jars from Maven Central, data under var/broker).
run: $(STAMP)
	deploy/ensure-kafka.sh >/dev/null
	$(BIN)/coinsctl stack

## Every test: unit, integration (PostgreSQL + broker), end-to-end, faults, and the container
## tests. PostgreSQL and Kafka come from the host (installed and started as root) or, for a user
## with Docker but no root, from containers: COINS_TEST_INFRA=host|containers|auto (the default).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	deploy/ensure-promtool.sh
	deploy/ensure-kustomize.sh >/dev/null
	@infra=$$($(BIN)/python -m tests.support.infra) && deploy/ensure-test-infra.sh "$$infra" && \
	  echo "COINS_TEST_INFRA=$$infra $(BIN)/python -m pytest $(PYTEST_ARGS)" && \
	  COINS_TEST_INFRA=$$infra $(BIN)/python -m pytest $(PYTEST_ARGS)

## Lint and format with ruff (make test checks both; this fixes what it can).
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The fast tests only (tests/unit: no database, broker or Docker).
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

## Benchmark: baselines then the system, same run; writes bench/results/<date>.json and .png.
bench: $(STAMP)
	deploy/ensure-postgres.sh
	deploy/ensure-kafka.sh >/dev/null
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Print a bearer token for the local stack: make token CALLER=gateway SERVICE=gifting
token: $(STAMP)
	@$(BIN)/coinsctl token --caller $(or $(CALLER),gateway) --service $(or $(SERVICE),purchase)

## Write docs/openapi/<service>.json: the OpenAPI documents the apps serve (a unit test checks they are current).
openapi: $(STAMP)
	$(BIN)/coinsctl openapi --out docs/openapi

## Regenerate the typed Python client clients/python (package coins_client) from docs/openapi.
client: openapi
	$(BIN)/python clients/python/generate.py

## Build the three service images (plus the test broker and PostgreSQL images).
images: $(STAMP) docker
	deploy/build-images.sh

## Start a Docker engine if none runs (installing it when root); fails only if none can run.
docker:
	deploy/ensure-docker.sh

## Migrate the three local databases to the latest schema.
migrate: $(STAMP)
	$(BIN)/coinsctl migrate all

## Remove the local stack's data and logs.
clean:
	rm -rf var .pytest_cache
