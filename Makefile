# dify-mgmt-async: every task a newcomer needs. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
SPECTRAL := node_modules/.bin/spectral
SPEC   := openapi/management.yaml

LOWEST := .venv-lowest
LOWEST_STAMP := $(LOWEST)/.installed-stamp
# The unit tests: everything but the generator's, the spec's, the emulator's, the Redis store's and the CLI's
# (end to end, [cli]) suites.
UNIT_TESTS := tests --ignore=tests/e2e --ignore=tests/emulator --ignore=tests/test_generated.py \
	--ignore=tests/test_regenerate_new_operation.py --ignore=tests/test_spec.py --ignore=tests/test_store.py \
	--ignore=tests/cli --ignore=tests/test_regenerate_mutations.py --ignore=tests/test_spec_diff.py \
	--ignore=tests/test_generator_checks.py

SPEC_BASE := $(or $(BASE),HEAD)

.PHONY: spec-diff install redis-server generate check-generated lint-spec lint typecheck pytest pytest-lowest docs test demo bench conformance mutation clean

## install: create .venv with the package, its extras and the pinned dev tools (dependency group dev), and Debian's redis-server
install: $(STAMP) redis-server

## redis-server: the tests of the shared rate-limit store start a real one; apt-get installs it when missing
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[emulator,examples,redis,cli]' --group dev
	touch $@

# A second environment at the lowest versions pyproject.toml allows of httpx, aiohttp, attrs and anyio.
$(LOWEST_STAMP): pyproject.toml requirements/lowest.txt
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/lowest.txt -e '.[emulator]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

## generate: regenerate src/dify_mgmt_async/_generated and _resources.py from the spec
generate: $(STAMP)
	$(PY) generator/generate.py

## spec-diff: breaking changes of the working spec against the committed one (or BASE=<git ref>)
spec-diff: $(STAMP)
	$(PY) generator/spec_diff.py --base $(SPEC_BASE)

## check-generated: fail if the committed generated code differs from a fresh `make generate`
check-generated: $(STAMP)
	$(PY) generator/generate.py --check

## lint-spec: openapi-spec-validator and Spectral (spectral:oas, no errors, no warnings)
lint-spec: $(STAMP) $(NODE_STAMP)
	$(BIN)/openapi-spec-validator $(SPEC)
	$(SPECTRAL) lint $(SPEC) --ruleset .spectral.yaml --fail-severity=warn

## lint: ruff check and ruff format --check
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## typecheck: mypy --strict on src/ (generated code included) and the user-view typing files; basedpyright
## (standard mode, as Pylance users see the installed package) on the typing files
typecheck: $(STAMP)
	$(BIN)/mypy src tests/typing
	$(BIN)/basedpyright -p tests/typing

pytest: $(STAMP) redis-server
	$(BIN)/pytest

## pytest-lowest: the unit tests at the lowest allowed httpx, aiohttp, attrs and anyio (.venv-lowest)
pytest-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/pytest -q -p no:cacheprovider $(UNIT_TESTS)

## docs: build the documentation site into site/ (mkdocs-material + mkdocstrings), strict: a warning fails it
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

## test: everything CI checks
test: lint-spec check-generated lint typecheck pytest pytest-lowest docs

## demo: the embedded emulator on a free port, rate-limited (429s happen), and examples/bulk_upload.py against it;
##       then the CLI's resume (examples/cli_resume.py): an upload SIGKILLed half-way, rerun, one document per file
demo: $(STAMP)
	$(PY) examples/bulk_upload.py --documents 200 --concurrency 32 --rate 100 --burst 5 --retry-after seconds
	$(PY) examples/cli_resume.py --files 200 --kill-after 1.0

## conformance: a larger schemathesis run (stateless and stateful) against the emulator than `make test` does
conformance: $(STAMP)
	DIFY_CONFORMANCE_SCALE=25 $(BIN)/pytest -q tests/emulator/test_schemathesis.py

## bench: list calls, 1 GiB upload, 429 storm, rate-limit matrix (~12 min, 2 cores); rewrites docs/benchmarks.md;
## then P processes sharing one token, with and without the Redis store (~5 min), its own section of it
bench: $(STAMP) redis-server
	$(PY) benchmarks/run.py
	$(PY) benchmarks/shared_store.py

MUTATION_STAMP := $(VENV)/.mutation-stamp

$(MUTATION_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -e '.[emulator,examples]' --group dev --group mutation
	touch $@

## mutation: mutmut over the hand-written core, one module at a time (~30 min on 2 cores; results cached in mutants/); rewrites the table in docs/quality.md. MODULES="_retry _errors" for some.
mutation: $(MUTATION_STAMP)
	$(PY) tools/mutation.py $(MODULES)

clean:
	rm -rf $(VENV) $(LOWEST) site node_modules .mypy_cache .pytest_cache .ruff_cache mutants
