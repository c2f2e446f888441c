# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean requirements translations-extract translations-update translations-compile

# --require-hashes: every file pip installs must match the lock, pip itself included: its entry (pin and
# hashes) is upgraded first, on its own, so the rest installs with the locked pip. (Older pips take no
# hashes from a -c constraints file, hence the entry cut out of the lock.)
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	sed -n '/^pip==/,/^ *#/p' requirements-dev.txt | $(BIN)/python -m pip install --quiet --require-hashes --no-deps -r /dev/stdin

$(VENV)/.installed: requirements.txt requirements-demo.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pybabel compile --statistics -d translations
	touch $@

# Translations: the .po files are the source, the .mo files are built from them (never committed).
# Strings marked with lazy_gettext (forms, error titles) need their keyword named; sorted and without line
# numbers, so two people marking strings in different files rarely touch the same lines of the catalog.
BABEL_KEYWORDS := -k lazy_gettext -k _l -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

translations-extract: $(VENV)/.installed  ## Write translations/messages.pot from the marked strings
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output --no-wrap \
		--project="AWS MFA self-service" --copyright-holder="Seed bfe9e01f maintainers" -o translations/messages.pot .

translations-update: translations-extract  ## Merge new and changed strings into every language's .po
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete

translations-compile: $(MO_FILES)  ## Build the .mo files the portal reads

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

demo: $(VENV)/.installed $(MO_FILES)  ## Run the portal against an embedded AWS emulator with seeded users
	$(BIN)/python -m app.demo

# axe-core for the browser tests, pinned in package-lock.json (npm is needed only to run the tests).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: $(VENV)/.installed $(MO_FILES) node_modules/.installed  ## Run the whole test suite (PostgreSQL/Redis/Chromium tests included when present)
	@# --cov: branch coverage of app/ with the gate in pyproject.toml ([tool.coverage.report] fail_under).
	$(BIN)/python -m pytest -n 2 --cov=app

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r app -c pyproject.toml

# Dependencies: requirements*.in are the source, requirements*.txt the lock (every transitive pin, with
# hashes), each layer constrained by the one it includes. Run after editing an .in file; to upgrade one
# package: make requirements UPGRADE="--upgrade-package botocore". Needs PyPI; tests/test_requirements_lock.py
# fails while a lock is stale.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make requirements" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(UPGRADE)

requirements: $(VENV)/.installed
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-demo.txt requirements-demo.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

bench: $(VENV)/.installed
	$(BIN)/python bench/admin_refresh.py
	$(BIN)/python bench/load_enrollments.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/flow_cpu.py

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
