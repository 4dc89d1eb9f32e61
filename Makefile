# Two commands for a new user: `make dev` (run Keyfob locally) and `make test`.
# Both bootstrap a virtualenv in .venv on first use; only Python 3.11+ is needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The server project and the client distribution (clients/python), both editable. The client
# is installed second: a .venv made when the server's package still held the `keyfob` script
# loses it when that package is reinstalled, and the client's install writes it again.
PYPROJECTS := pyproject.toml clients/python/pyproject.toml
STAMP := $(VENV)/.installed-$(shell cat $(PYPROJECTS) | cksum | cut -d' ' -f1)

.PHONY: dev test lint bench bench-scale openapi clean chromium
# The TypeScript client's devDependencies (tsc, openapi-typescript), from its package-lock.
TS := clients/typescript
TS_DEPS := $(TS)/node_modules/.package-lock.json
# checkov pins versions of boto3, botocore, cachetools and packaging older than Keyfob's:
# it gets a virtualenv of its own (a fresh install takes about 2.5 minutes).
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/.installed-$(CHECKOV_VERSION)

$(STAMP): $(PYPROJECTS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Keyfob needs Python 3.11 or newer (set PYTHON=python3.12 ...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet -e ./clients/python
	@rm -f $(VENV)/.installed-* && touch $@

$(TS_DEPS): $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error

dev: $(STAMP)
	$(BIN)/python -m devstack $(ARGS)

$(CHECKOV):
	@test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	@rm -f .venv-checkov/.installed-* && touch $@

lint: $(STAMP) $(TS_DEPS) $(CHECKOV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m tools.openapi --check
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/cfn-lint template.yaml
	cd $(TS) && npx --no-install openapi-typescript ../../openapi.json -o src/schema.ts --check
	cd $(TS) && npx --no-install tsc -p tsconfig.json --noEmit
	@# Every finding fixed, or skipped in template.yaml with the reason.
	.venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

test: lint chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (Playwright never downloads its own). Installed
# here when missing and possible; otherwise those tests skip and say why.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null; } || echo "WARNING: apt-get could not install chromium"; \
	else \
		echo "WARNING: no /usr/bin/chromium, and no root to install it: the browser tests" \
			"will be skipped (sudo apt-get install chromium)"; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/aws_calls.py
	$(BIN)/python bench/refresh_throughput.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/layer_bytecode.py

# The scheduled refresh at scale, by hand (long): 100,000 due accounts per shard count.
bench-scale: $(STAMP)
	BENCH_BACKLOG=1 BENCH_ACCOUNTS=100000 BENCH_SHARDS=1,4,16 BENCH_AWS_LATENCY_MS=10 \
		$(BIN)/python bench/refresh_throughput.py

openapi: $(STAMP) $(TS_DEPS)
	$(BIN)/python -m tools.openapi
	cd $(TS) && npx --no-install openapi-typescript ../../openapi.json -o src/schema.ts

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .mypy_cache .ruff_cache .aws-sam $(TS)/node_modules $(TS)/dist
