# The front door. `make help` lists every target.
SHELL := bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
STACK       := $(PY) -m deploy.local.stack
SETUP_STAMP := $(VENV)/.paystream-stamp
SERVICE     ?=
RATE        ?= 1
DURATION    ?= 60s
TYPES       ?= charges,refunds,disputes,subscriptions
TOOLBOX     := $(PY) -m deploy.local.toolbox
TOPIC       ?=
N           ?= 10
DBT_DOCS_PORT ?= 8085
# Exit 0 when something listens on 127.0.0.1:<port> (a second copy of a service would clash).
PORT_TAKEN  = $(PY) -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)'

.PHONY: help setup up down status logs clean topics load webhooks gateway inference train-model worker bridge submit jobs stop-jobs sql compact flink-sql trino dbt-build dagster demo bench soak chaos test test-unit test-integration lint topics-list topics-describe consume produce lag savepoints restart psql dbt-docs freshness prom console k8s-generate k8s-validate

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The jobs' SQL functions (flink_jobs/udf) are built by setup too.
UDF_SOURCES := flink_jobs/udf/pom.xml $(shell find flink_jobs/udf/src -type f 2>/dev/null)

$(SETUP_STAMP): pyproject.toml constraints/app.txt constraints/flink.txt deploy/local/jvm/pom.xml $(UDF_SOURCES)
	@deploy/local/setup.sh

setup: ## Install everything (venvs, JVM artifacts, the jobs' SQL functions, PostgreSQL, Trino, Temporal CLI, JR, vegeta); idempotent
	@deploy/local/setup.sh

up: $(SETUP_STAMP) ## Start the platform (runs setup first if needed) and wait until every service is ready
	@$(STACK) up

down: ## Stop every service; nothing is left running or listening
	@if [ -x $(PY) ]; then $(STACK) down; else echo "Nothing is running (no setup yet)."; fi

status: ## Show each service's state, readiness and address
	@if [ -x $(PY) ]; then $(STACK) status; else echo "Not set up: run 'make setup'."; exit 1; fi

logs: ## Follow the logs (SERVICE=postgres|zookeeper|kafka|flink-jobmanager|flink-taskmanager|trino|temporal|inference|gateway|worker|bridge|prometheus|pushgateway|exporter|console)
	@if [ -x $(PY) ]; then $(STACK) logs $(SERVICE) --follow; else echo "No logs: nothing has run here yet (make setup, then make up)."; exit 1; fi

clean: ## Stop everything and delete all local data (.run); caches are kept
	@if [ -x $(PY) ]; then $(STACK) clean; else rm -rf .run; fi

topics: $(SETUP_STAMP) ## Create the missing Kafka topics of the contract; idempotent (needs `make up`)
	@$(PY) -m streaming.topics

load: $(SETUP_STAMP) ## JR events into the raw topics: RATE=1 (x default rates) DURATION=60s TYPES=charges,... (needs `make up`, `make topics`)
	@$(PY) -m loadgen.jr --rate $(RATE) --duration $(DURATION) --types $(TYPES)

submit: up ## Start the Flink jobs, resuming from their newest savepoint/checkpoint (JOB=name for one, FRESH=1 without state)
	@$(PY) -m deploy.flink.submit submit $(if $(JOB),--job $(JOB)) $(if $(FRESH),--fresh)

jobs: $(SETUP_STAMP) ## List the Flink jobs: name, id, state, start time, last checkpoint (needs `make up`)
	@$(PY) -m deploy.flink.submit list

stop-jobs: $(SETUP_STAMP) ## Stop the running Flink jobs with a savepoint (`make submit` resumes from it; needs `make up`)
	@$(PY) -m deploy.flink.submit stop $(if $(JOB),--job $(JOB))

sql: $(SETUP_STAMP) ## Print the SQL each Flink job runs, rendered from its settings (JOB=name for one; no cluster needed)
	@$(PY) -m deploy.flink.submit submit --print $(if $(JOB),--job $(JOB))

compact: $(SETUP_STAMP) ## Compact the lakehouse tables: optimize, expire snapshots, remove orphan files (needs `make up`)
	@$(PY) -m lakehouse.maintenance

flink-sql: $(SETUP_STAMP) ## Open the Flink SQL client with the `lakehouse` catalog registered (needs `make up`)
	@$(PY) -m deploy.local.clients flink-sql

trino: $(SETUP_STAMP) ## Open the Trino CLI on `lakehouse` (needs `make up`)
	@$(PY) -m deploy.local.clients trino

webhooks: $(SETUP_STAMP) ## Signed Stripe/Square webhooks to the gateway: WEBHOOK_RATE=50 DURATION=60s (needs `make up`)
	@$(PY) -m loadgen.webhooks --rate $(or $(WEBHOOK_RATE),50) --duration $(DURATION)

gateway: $(SETUP_STAMP) ## Run the webhook gateway alone on :8000 (GATEWAY_PORT=) with the secrets `make up` generated into .run/secrets/gateway.env (`make up` already runs it)
	@if $(PORT_TAKEN) $${GATEWAY_PORT:-8000}; then echo "make gateway: 127.0.0.1:$${GATEWAY_PORT:-8000} is taken (make up runs the gateway there: make status, make logs SERVICE=gateway); for a second copy: GATEWAY_PORT=8010 make gateway"; exit 1; fi
	@$(PY) -m gateway --env-file .run/secrets/gateway.env

worker: $(SETUP_STAMP) ## Run a Temporal worker alone: enrichment and payment-recovery workflows (`make up` already runs one)
	@$(PY) -m workflows.worker

bridge: $(SETUP_STAMP) ## Run the payments.normalized -> Temporal bridge alone (`make up` already runs it)
	@$(PY) -m workflows.bridge

dbt-build: $(SETUP_STAMP) ## Build and test the dbt models on Trino: seed, snapshot, models, all tests (needs `make up`)
	@cd dbt && ../$(VENV)/bin/dbt build --profiles-dir .

dagster: $(SETUP_STAMP) ## Dagster UI on http://127.0.0.1:3000: dbt assets, quarantine/freshness checks, schedules (needs `make up`)
	@mkdir -p .run/dagster
	@DAGSTER_HOME=$(CURDIR)/.run/dagster $(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

inference: $(SETUP_STAMP) ## Run the inference service alone on 127.0.0.1:8001 (INFERENCE_PORT=; `make up` already runs it)
	@if $(PORT_TAKEN) $${INFERENCE_PORT:-8001}; then echo "make inference: 127.0.0.1:$${INFERENCE_PORT:-8001} is taken (make up runs the inference service there: make status, make logs SERVICE=inference); for a second copy: INFERENCE_PORT=8011 make inference"; exit 1; fi
	@$(PY) -m inference

train-model: $(SETUP_STAMP) ## Train the fraud/churn model into .run/models/ (deterministic; SEED=, ROWS=); restart inference to use it
	@$(PY) -m inference.train $(if $(SEED),--seed $(SEED)) $(if $(ROWS),--rows $(ROWS))

# -- the operator's toolbox (deploy/local/toolbox.py) ------------------------------------------
topics-list: $(SETUP_STAMP) ## Kafka: the broker and every topic with its partitions (kcat; needs `make up`)
	@$(TOOLBOX) topics-list

topics-describe: $(SETUP_STAMP) ## Kafka: one contract topic's partitions, replicas and configs: TOPIC= (needs `make up`)
	@$(TOOLBOX) topics-describe --topic "$(TOPIC)"

consume: $(SETUP_STAMP) ## Print the first N=10 messages of a contract topic with key, partition, offset: TOPIC= N= (needs `make up`)
	@$(TOOLBOX) consume --topic "$(TOPIC)" -n $(N)

produce: $(SETUP_STAMP) ## Produce stdin, one message a line, into a contract topic: TOPIC= (needs `make up`)
	@$(TOOLBOX) produce --topic "$(TOPIC)"

lag: $(SETUP_STAMP) ## Kafka lag of every consumer group per partition, the Flink jobs' groups named (needs `make up`)
	@$(TOOLBOX) lag

savepoints: $(SETUP_STAMP) ## Each Flink job's savepoints and retained checkpoints on disk, newest first (`make submit` resumes from the first)
	@$(TOOLBOX) savepoints

restart: $(SETUP_STAMP) ## Restart one supervised service: SERVICE=kafka|flink-jobmanager|gateway|... (needs `make up`)
	@$(TOOLBOX) restart --service "$(SERVICE)"

psql: $(SETUP_STAMP) ## psql on the Iceberg catalog database as its owner role (ARGS="-c 'select 1'"; needs `make up`)
	@$(TOOLBOX) psql $(ARGS)

dbt-docs: $(SETUP_STAMP) ## Generate the dbt docs and serve them on http://127.0.0.1:8085 (DBT_DOCS_PORT=; needs `make up`)
	@$(TOOLBOX) dbt-docs --port $(DBT_DOCS_PORT)

freshness: $(SETUP_STAMP) ## dbt source freshness of the lakehouse's sources on Trino (needs `make up`)
	@$(TOOLBOX) freshness

prom: $(SETUP_STAMP) ## Prometheus UI on http://127.0.0.1:9090: targets, alerts, rules (needs `make up`)
	@$(TOOLBOX) open --ui prometheus

console: $(SETUP_STAMP) ## The pipeline console on http://127.0.0.1:8090: rates, lag, jobs, quarantine, alerts (needs `make up`)
	@$(TOOLBOX) open --ui console

# -- Kubernetes (deploy/k8s/) ------------------------------------------------------------------
k8s-generate: $(SETUP_STAMP) ## Regenerate deploy/k8s/base/generated/ (Kafka topics, Flink jobs, services) from the contract and job definitions
	@$(PY) -m deploy.k8s.generate

k8s-validate: $(SETUP_STAMP) ## Render the Kubernetes overlays (dev, prod) and validate every object offline against the pinned schemas and operator CRDs
	@$(PY) -m deploy.k8s.validate

bench: $(SETUP_STAMP) ## Benchmarks (~1 h at full size; QUICK=1 for minutes, ONLY=gateway,flink,...): .run/bench/, bench/RESULTS.md (needs `make up`)
	@$(PY) -m bench $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick)

# RATE and DURATION default to the `load` target's values in this file; the soak has its
# own (2000/s, 10m) unless they are given on the command line or in the environment.
soak: $(SETUP_STAMP) ## End-to-end soak: webhooks at RATE=2000/s (vegeta) + JR (JR_RATE=200) for DURATION=10m, exact reconciliation (needs `make up`, `make submit`)
	@deploy/local/build_vegeta.sh
	@$(PY) -m bench.soak $(if $(filter-out file,$(origin RATE)),--rate $(RATE)) $(if $(filter-out file,$(origin DURATION)),--duration $(DURATION)) $(if $(JR_RATE),--jr-rate $(JR_RATE))

chaos: $(SETUP_STAMP) ## Chaos soak: the soak's load (RATE=500/s, JR_RATE=100, DURATION=20m, 2% hostile) while each service is killed -9 in turn; per-fault recovery, exact reconciliation (needs `make up`, `make submit`; PLAN=1 prints the schedule only)
	@deploy/local/build_vegeta.sh
	@$(PY) -m bench.chaos $(if $(filter-out file,$(origin RATE)),--rate $(RATE)) $(if $(filter-out file,$(origin DURATION)),--duration $(DURATION)) $(if $(JR_RATE),--jr-rate $(JR_RATE)) $(if $(HOSTILE_SHARE),--hostile-share $(HOSTILE_SHARE)) $(if $(PLAN),--plan)

demo: up ## The main job end to end on the local stack
	@$(PY) -m deploy.local.demo

test: $(SETUP_STAMP) ## Unit tests, then integration tests on a stack started and stopped for them
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-integration

test-unit: $(SETUP_STAMP) ## Unit tests only (no services needed)
	@$(PY) -m pytest -m "not integration" -q

test-integration: $(SETUP_STAMP) ## Integration tests on the real platform (starts it if needed, stops it if it started it)
	@$(PY) -m deploy.local.with_stack $(PY) -m pytest -m integration -q

lint: $(SETUP_STAMP) ## ruff (lint, format check) and one mypy run over every package
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy
