# Resayil LLM Portal. `make run` runs the product, `make test` runs every test.
SHELL := /bin/bash
GO_PKGS := ./pkg/... ./migrations/... ./gateway/... ./portal-api/...
BIN := bin

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## build, migrate and seed ./data (SQLite), start portal-api and gateway (Ctrl-C stops both)
	@bash scripts/run.sh

test: services test-go test-web test-e2e ## run every test against real MariaDB and Redis (starts them when needed), then the web app's, in Debian's Chromium too

test-go: ## go vet and go test -race of every module (bench/ is its own module, outside go.work)
	go vet $(GO_PKGS)
	go test -race -count=1 -timeout 20m $(GO_PKGS)
	cd bench && GOWORK=off go vet ./... && GOWORK=off go test -race -count=1 ./...

test-web: ## the web app: generated API types up to date, typecheck, Vitest, production build, bundle budget
	@bash scripts/web.sh test

test-e2e: browser ## the web app in Debian's Chromium (Playwright) against the real stack in embedded mode, English and Arabic
	@bash scripts/web.sh e2e

browser: ## what test-e2e needs: Debian's chromium (installed from Debian's packages when absent)
	@bash scripts/browser.sh

web: ## build the web app into frontend/dist (make run does it when its sources changed)
	@bash scripts/web.sh build

gen: ## regenerate the web app's API types from portal-api's openapi.yaml
	cd frontend && npm run gen

services: ## what make test needs: MariaDB and Redis started, docker-compose, fail2ban and curl present (installed from Debian's packages when absent)
	@bash scripts/services.sh

build: ## build the binaries into ./bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/portal-api ./portal-api/cmd/portal-api
	go build -o $(BIN)/gateway ./gateway/cmd/gateway

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l pkg migrations gateway portal-api)" || (gofmt -l pkg migrations gateway portal-api; exit 1)
	go vet $(GO_PKGS)

bench: services ## measure direct upstream, floor proxy and both gateway modes in one run; report in bench/results/latest.md
	cd bench && GOWORK=off go run ./cmd/bench $(BENCH_FLAGS)

.PHONY: help run test test-go test-web test-e2e browser web gen services build lint bench
