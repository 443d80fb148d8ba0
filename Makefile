# Stargate: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

CLAUDE_CODE := tools/claude-code/node_modules/.bin/claude

.PHONY: run test bootstrap clients lint typecheck imports unit bench clean

## Bootstrap: uv (pinned) and the locked dependency set (hashes in uv.lock), compiled to bytecode
## as pip would install it (a process that compiles every module from source starts 3x slower).
bootstrap:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || \
		python3 -m pip install --quiet --user "uv==$(UV_VERSION)" || \
		python3 -m pip install --quiet "uv==$(UV_VERSION)"
	@UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --quiet
	@$(UV) run --frozen python -m compileall -q src >/dev/null

## Real clients the end-to-end tests drive (Claude Code from npm, locked in package-lock.json).
clients: $(CLAUDE_CODE) /usr/bin/chromium

## Headless Chromium from Debian for the admin UI's Playwright tests.
/usr/bin/chromium:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

$(CLAUDE_CODE): tools/claude-code/package.json tools/claude-code/package-lock.json
	cd tools/claude-code && npm ci --no-audit --no-fund --loglevel=error
	@test -x $@ && touch $@

## The gateway on its embedded defaults (SQLite, in-process counters, the Bedrock emulator).
run: bootstrap
	@UV="$(UV)" ./scripts/run-local

## The whole suite and every gate.
test: bootstrap clients lint typecheck imports unit

lint:
	$(UV) run --frozen ruff check src tests bench
	$(UV) run --frozen ruff format --check src tests bench

typecheck:
	$(UV) run --frozen mypy

imports:
	$(UV) run --frozen lint-imports

unit:
	$(UV) run --frozen pytest -q

bench: bootstrap
	$(UV) run --frozen python -m bench.run

clean:
	rm -rf .venv var .mypy_cache .ruff_cache .pytest_cache .import_linter_cache tools/claude-code/node_modules
