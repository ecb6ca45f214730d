# Workout — the two commands a newcomer needs: `make demo` and `make test`.
# Every target creates .venv and installs the project (editable, with dev extras) on first use.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := out/demo
export WORKOUT_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install demo test test-fast lint bench bench-quick bench-micro clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@# byte-compile the (editable) sources once: a shell with PYTHONDONTWRITEBYTECODE would
	@# otherwise compile about 90 modules on every cold `workout` run (about 0.07 s)
	$(BIN)/python -m compileall -q cli.py commands solver
	touch $(STAMP)

install: $(STAMP)

## demo: generate a sample book, validate it, plan one account and the book, allocate treatments,
## run a recession scenario against the baseline, evaluate a counter-offer, write an offer letter
## and verify its audit record (a few minutes on 2 cores); it ends with the `workout serve` line
## that opens the officer's web page on the sample book
demo: install
	@mkdir -p $(OUT)
	$(BIN)/workout generate portfolio --n 2000 --seed 7 --out $(OUT)/portfolio.csv
	$(BIN)/workout validate $(OUT)/portfolio.csv
	$(BIN)/workout plan scenarios/sample_account.toml
	$(BIN)/workout plan-portfolio $(OUT)/portfolio.csv --out $(OUT)/plans.csv
	$(BIN)/workout allocate $(OUT)/portfolio.csv --plans $(OUT)/plans.csv --out $(OUT)/allocation.csv
	$(BIN)/workout scenario run scenarios/recession.toml --baseline scenarios/baseline.toml \
		--set portfolio.n=2000 --paths 200 --out-dir $(OUT)/scenario
	$(BIN)/workout evaluate scenarios/sample_account.toml --term 36 --holiday 3 --amount 2000
	$(BIN)/workout offer scenarios/sample_account.toml --option custom --officer demo \
		--db sqlite:///$(OUT)/workout.db --out $(OUT)/offer-letter.html
	$(BIN)/workout audit verify --db sqlite:///$(OUT)/workout.db
	@echo "demo outputs written to $(OUT)/"
	@echo "the officer's web page on this book: $(BIN)/workout serve --book $(OUT)/portfolio.csv --db sqlite:///$(OUT)/workout.db  (then open http://127.0.0.1:8000/)"

## test: the whole pytest suite (2 workers). Exit code 5 (no tests collected) means the suite
## did not run: it fails, with a message, rather than counting as a pass.
test: install
	@$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected (exit 5): the suite did not run -- failing"; exit 1; fi; \
	exit $$rc

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: full benchmark suites (long; see benchmarks/README.md)
bench: install
	$(BIN)/python benchmarks/run_all.py

## bench-quick: the CI-sized versions of every benchmark
bench-quick: install
	$(BIN)/python benchmarks/run_all.py --quick

## bench-micro: pytest-benchmark micro-benchmarks, each against a baseline in the same run
## (benchmarks/test_micro.py; not part of `make test`, about half a minute)
bench-micro: install
	$(BIN)/python -m pytest benchmarks/test_micro.py -p no:cacheprovider -q --benchmark-only \
		--benchmark-group-by=group --benchmark-columns=min,median,mean,stddev,rounds

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
