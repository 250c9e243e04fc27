# make demo: set everything up and run the bot end to end on the embedded defaults.
# make demo --keep (or KEEP=1): then leave it running and print the dashboard's URL.
# make test: set everything up and run lint, types and the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint format typecheck unit bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# make takes --keep for its own --keep-going (-k), which shows in MAKEFLAGS' first word.
KEEP_DEMO = $(or $(KEEP),$(findstring k,$(firstword -$(MAKEFLAGS))))

demo: install
	$(BIN)/techlead demo$(if $(KEEP_DEMO), --keep)

test: install lint typecheck unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/plan_core.py
	$(BIN)/python bench/plan.py
	$(BIN)/python bench/gates.py
	$(BIN)/python bench/queue.py

# The configuration reference is generated from the config models and bot/settings.py.
docs: install
	$(BIN)/techlead config reference > docs/configuration.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
