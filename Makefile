# Adam from first principles: `make lab` to study, `make test` to check everything.
# Needs GNU make, bash and python3 (>= 3.10); everything else goes into .venv.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Rebuilt (pip install) only when the dependency files change.
STAMP := $(VENV)/.course-installed
NOTEBOOK_DIRS := notebooks solutions exercises
PYTEST_ARGS ?=
# Each pytest pass of `make test` writes a JUnit report here (.ci/twice compares two runs' reports).
JUNIT_DIR ?= artifacts/junit
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=120 \
	-p no:randomly
FIRST_NOTEBOOK := $(firstword $(sort $(wildcard notebooks/*.ipynb)))
# Jupyter refuses to run as root (containers, CI) unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# npm writes this file on every install: the browser assets (MathJax, reveal.js) of `make site` and `make slides`.
NODE_STAMP := node_modules/.package-lock.json

.PHONY: help venv lab test lint clean site slides

help:
	@echo "make lab    open the course in JupyterLab (creates .venv on first use)"
	echo "make test   unit tests, browser tests (when /usr/bin/chromium exists), strict nbval on notebooks"
	echo "make site   build the website from the committed notebooks (build/site/html; no execution)"
	echo "make slides build one reveal.js slide deck per lecture (build/slides)"
	echo "make lint   ruff check and ruff format --check"
	echo "make clean  remove caches and build outputs (keeps .venv)"

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test,site]' -c constraints.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The last line printed is the path of index.html.
site: venv $(NODE_STAMP)
	@$(BIN)/python tools/build_site.py --out build/site

# The last line printed is the folder of the decks.
slides: venv $(NODE_STAMP)
	@$(BIN)/python tools/build_slides.py --out build/slides

lab: venv
	$(BIN)/jupyter lab --notebook-dir=. $(ALLOW_ROOT) $(FIRST_NOTEBOOK)

# The website build and three pytest runs and the linter, all of which run even if one fails:
#  0. `make site` once, into build/site: the unit and browser passes check that build (COURSE_SITE_DIR);
#  1. unit tests (tests/, not browser) with MPLBACKEND=Agg;
#  2. browser tests (tests/, -m browser): they skip themselves without /usr/bin/chromium;
#  3. strict nbval over the notebook folders that hold notebooks;
#  4. ruff check and ruff format --check.
# MPLBACKEND stays unset for 2 and 3: ipykernel honours it, and with Agg a kernel shows no figures,
# so every plotting cell would fail nbval and the browser tests would see no images.
# HOME and the Jupyter/IPython/matplotlib folders point at a temporary folder so that tests leave
# the user's home alone; the kernel is still found through the venv's sys.prefix.
test: venv $(NODE_STAMP)
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/course-test.XXXXXX")
	trap 'rm -rf "$$tmp"' EXIT
	export HOME="$$tmp" IPYTHONDIR="$$tmp/ipython" MPLCONFIGDIR="$$tmp/matplotlib" \
		JUPYTER_CONFIG_DIR="$$tmp/jupyter/config" JUPYTER_DATA_DIR="$$tmp/jupyter/data" \
		JUPYTER_RUNTIME_DIR="$$tmp/jupyter/runtime" JUPYTERLAB_SETTINGS_DIR="$$tmp/jupyter/lab/settings" \
		JUPYTERLAB_WORKSPACES_DIR="$$tmp/jupyter/lab/workspaces" PYTHONHASHSEED=0
	unset MPLBACKEND
	run() { echo "+ $$*"; "$$@"; }
	failed=""
	echo "== website (make site)"
	export COURSE_SITE_DIR="$$PWD/build/site" COURSE_SITE_STDOUT="$$tmp/site-stdout.txt"
	if run $(BIN)/python tools/build_site.py --out build/site >"$$COURSE_SITE_STDOUT"; then
		cat "$$COURSE_SITE_STDOUT"
	else
		failed="$$failed site"
		COURSE_SITE_DIR="$$PWD/build/site-failed"  # the site tests then fail at once instead of rebuilding
	fi
	echo "== unit tests"
	MPLBACKEND=Agg run $(BIN)/python -m pytest tests -m "not browser" --junitxml=$(JUNIT_DIR)/unit.xml $(PYTEST_ARGS) || failed="$$failed unit"
	echo "== browser tests ($$([ -x /usr/bin/chromium ] && echo "with /usr/bin/chromium" \
		|| echo "/usr/bin/chromium missing: they will skip"))"
	run $(BIN)/python -m pytest tests -m browser --junitxml=$(JUNIT_DIR)/browser.xml $(PYTEST_ARGS) || { rc=$$?; [ $$rc -eq 5 ] || failed="$$failed browser"; }
	dirs=""
	for d in $(NOTEBOOK_DIRS); do
		# -print -quit, not `find | grep -q .`: under pipefail an early-closing grep can fail the recipe by chance.
		if [ -d "$$d" ] && [ -n "$$(find "$$d" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print -quit)" ]; then
			dirs="$$dirs $$d"
		fi
	done
	if [ -n "$$dirs" ]; then
		echo "== notebooks (strict nbval):$$dirs"
		run $(BIN)/python -m pytest $(NBVAL_ARGS) $$dirs --junitxml=$(JUNIT_DIR)/nbval.xml $(PYTEST_ARGS) || failed="$$failed nbval"
	else
		echo "== notebooks: none yet in $(NOTEBOOK_DIRS)"
	fi
	echo "== lint (ruff check, ruff format --check)"
	{ run $(BIN)/ruff check . && run $(BIN)/ruff format --check .; } || failed="$$failed lint"
	if [ -n "$$failed" ]; then echo "make test FAILED:$$failed"; exit 1; fi
	echo "make test passed"

lint: venv
	@status=0
	$(BIN)/ruff check . || status=1
	$(BIN)/ruff format --check . || status=1
	exit $$status

clean:
	rm -rf build dist .pytest_cache .ruff_cache node_modules
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf
