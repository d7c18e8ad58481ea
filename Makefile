# Volundr — developer entry points. `make run` and `make test` work on a fresh machine
# that has Python 3.11+ (uv is installed into the user's environment when missing).

SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test test-pg check lint typecheck bench env

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

env: | $(UV)
	$(UV) sync --frozen --compile-bytecode

run: env
	$(UV) run volundr serve --host $(HOST) --port $(PORT) $(if $(CONFIG),--config $(CONFIG))

test: env
	$(UV) run pytest -q

# The store tests again, against a throwaway PostgreSQL server (needs Debian's postgresql).
test-pg: env
	scripts/with-postgres $(UV) run pytest -q tests/store tests/stream/test_outbox.py

check: lint typecheck

lint: env
	$(UV) run ruff check src tests benchmarks

typecheck: env
	$(UV) run mypy

bench: env
	$(UV) run python -m benchmarks
