# tidu: the two commands a newcomer needs are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
export TIDU_DATABASE_URL ?= sqlite:///var/tidu.db

.PHONY: setup run test lint walkthrough clean browser-deps bench bench-smoke

$(BIN)/tidu: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/tidu node_modules/.package-lock.json

run: setup
	$(BIN)/tidu db upgrade
	$(BIN)/tidu deploy processes/
	$(BIN)/tidu demo
	TIDU_DEMO_SIGN_IN=1 $(BIN)/tidu serve --host 127.0.0.1 --port $(PORT)

# Debian's Chromium for the browser tests (tests/browser, Playwright with executable_path)
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; }

test: setup browser-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check engine handlers api tests bench
	$(BIN)/ruff format --check engine handlers api tests bench

# every benchmark scenario at full size; writes docs/benchmarks.md (needs local PostgreSQL)
bench: setup
	$(BIN)/python -m bench.run

# every scenario once at a tiny size, to prove they work (CI)
bench-smoke: setup
	$(BIN)/python -m bench.run --tiny

walkthrough: setup
	$(BIN)/tidu demo --walkthrough

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
