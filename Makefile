# `make dev` starts the local stack with demo data; `make test` runs lint, types and tests.
# Both create the virtual environment and install the pinned requirements on first use.
# The functions' runtime (python3.12 on Lambda, Amazon Linux 2023, glibc 2.34): .venv is built with
# the same version, so `chalice package` takes the wheels that runtime accepts and the package's
# bytecode is compiled for it. PYTHON may name the interpreter; by default scripts/find-python.sh looks.
RUNTIME_PYTHON := 3.12
# The stage `make package` packages (.chalice/config.json); each has infra/resources-<stage>.json.
STAGE ?= prod
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(RUNTIME_PYTHON)

comma := ,

.PHONY: dev test lint typecheck pytest bench package clean

$(STAMP): requirements.txt requirements-dev.txt scripts/find-python.sh
	@# A .venv of another Python version (an older checkout's 3.11) is replaced, not reused.
	$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(RUNTIME_PYTHON))))' 2>/dev/null \
		|| { rm -rf $(VENV) && "$${PYTHON:-$$(scripts/find-python.sh $(RUNTIME_PYTHON))}" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m ops.cli local

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy chalicelib ops

# Two workers (one per core of a developer's or CI's machine); a file's tests stay on one
# worker, so a module-scoped world is built once; files go out in collection order, the
# longest first (tests/conftest.py). PYTEST_WORKERS=0 runs in one process.
# HYPOTHESIS_PROFILE=deep runs the property tests several times longer (tests/support/profiles.py).
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=10

bench: $(STAMP)
	$(BIN)/python -m bench.dynamodb_calls
	$(BIN)/python -m bench.listing_pages
	$(BIN)/python -m bench.import_time
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.shooting_reads
	$(BIN)/python -m bench.exports

package: $(STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) --pkg-format cloudformation --merge-template infra/resources-$(STAGE).json build/
	$(BIN)/python infra/compile_package.py build/

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt scripts/find-python.sh
	test -x $(CHECKOV_VENV)/bin/python || "$${PYTHON:-$$(scripts/find-python.sh $(RUNTIME_PYTHON))}" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# The packaged template: cfn-lint (0 errors and 0 warnings expected), checkov (0 failures; the
# skipped checks, each with its reason, in infra/checkov.yaml), and every AWS call the tests
# recorded (`make test` first) checked against its function's policy (ops/policy_check.py).
.PHONY: template-check
template-check: package $(CHECKOV_STAMP)
	$(BIN)/cfn-lint build/sam.json
	$(CHECKOV_VENV)/bin/checkov --config-file infra/checkov.yaml --file build/sam.json
	$(BIN)/python -m ops.policy_check build/sam.json test-results/aws-calls

# The deployable zip itself: native libraries and glibc symbol versions the runtime has, wheel
# tags it accepts, no test or local-stack code, and an isolated import of the unpacked zip with
# the runtime's Python version (ops/artifact_check.py).
.PHONY: artifact-check
artifact-check: package
	$(BIN)/python -m ops.artifact_check build/

# Chromium (Debian's package, with apt-get; root or sudo) for the docs page's e2e test, when missing.
.PHONY: chromium
chromium:
	scripts/ensure-chromium.sh

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
