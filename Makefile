# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-demo.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed  ## Run the portal against an embedded AWS emulator with seeded users
	$(BIN)/python -m app.demo

test: $(VENV)/.installed  ## Run the whole test suite (PostgreSQL/Redis/Chromium tests included when present)
	$(BIN)/python -m pytest -n 2

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r app -c pyproject.toml

bench: $(VENV)/.installed
	$(BIN)/python bench/admin_refresh.py
	$(BIN)/python bench/load_enrollments.py
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
