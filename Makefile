# Adam from first principles: `make lab` to study, `make test` to check everything.
# Needs GNU make, bash and python3 (>= 3.10); everything else goes into .venv.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# --- environment -------------------------------------------------------------------------------
# requirements.lock pins every package (all extras, every platform; `make lock` writes it with uv
# from pyproject.toml and constraints.txt). It is used as a pip constraints file: each install gets
# exactly the locked versions of what it needs, and nothing it does not need.
LOCK := requirements.lock
PIP_VERSION := 26.3
PIP := $(BIN)/python -m pip
# Extra options of the installs into $(VENV) (none by default). Do not pass --no-compile: the bytecode
# caches were then not written, so every notebook kernel compiled torch, matplotlib and scipy from
# source again and the notebook runtime budget failed (see .ci/run).
PIP_INSTALL_FLAGS ?=
# student: run the lectures (`make lab`); dev: + instructor tools, test suite, nbdime, uv.
DEV_EXTRAS := instructor,test,site,dev
STUDENT_STAMP := $(VENV)/.installed-student
DEV_STAMP := $(VENV)/.installed-dev
LATEST_VENV := .venv-latest

# --- tests ---------------------------------------------------------------------------------------
NOTEBOOK_DIRS := notebooks solutions exercises
# Run once, checked twice: where the browser pass can run (Debian's Chromium is installed), `make test`
# runs the lectures only there, in JupyterLab, and checks their outputs with strict nbval's own
# comparison (nbval_compare in tests/conftest.py) and their cell times for the budget; the nbval pass then covers
# the other notebook folders. LECTURES_IN_BROWSER= (empty) runs the lectures under nbval as well.
LECTURES_IN_BROWSER ?= $(if $(wildcard /usr/bin/chromium),1,)
BROWSER_TIMES = $(ARTIFACTS)/browser/notebook_times.json
PYTEST_ARGS ?=
# Each pytest pass of `make test` writes a JUnit report here (.ci/twice compares two runs' reports)
# and its full output to $(LOG_DIR)/<pass>.log.
ARTIFACTS ?= artifacts
JUNIT_DIR ?= $(ARTIFACTS)/junit
LOG_DIR ?= $(ARTIFACTS)/logs
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=500 \
	-p no:randomly
# Every pytest pass runs under course_utils.execution's policy (PYTHONHASHSEED=0, one BLAS thread
# unless set, inline figures in kernels, a temporary HOME and Jupyter folders).
POLICY := $(BIN)/python -m course_utils.execution run --
# The unit pass spreads over both cores (pytest-xdist); loadscope keeps each module on one worker,
# so module-scoped fixtures (a graded batch, a rebuilt release) are built once.
UNIT_XDIST ?= -n 2 --dist loadscope
# `make test-order`: the unit tests shuffled with these fixed seeds.
ORDER_SEEDS := 1 2 3
FIRST_NOTEBOOK := $(firstword $(sort $(wildcard notebooks/*.ipynb)))
# Jupyter refuses to run as root (containers, CI) unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# npm writes this file on every install: the browser assets (MathJax, reveal.js) of `make site` and `make slides`.
NODE_STAMP := node_modules/.package-lock.json

.PHONY: help venv lab test lint clean lock lock-upgrade test-latest test-machines test-machines-quick test-order \
	normalize nbdime site slides points-table

help:
	@echo "make lab            open the course in JupyterLab (installs only what the lectures need)"
	echo "make test           unit, browser and nbval passes (in parallel), notebook budget, lint"
	echo "make site           build the website from the committed notebooks (build/site/html; no execution)"
	echo "make slides         build one reveal.js slide deck per lecture (build/slides)"
	echo "make lint           ruff check and ruff format --check"
	echo "make test-machines  unit tests + strict nbval with 1 and 2 BLAS threads and another OpenBLAS kernel"
	echo "make test-machines-quick  the subset of test-machines that .ci/run runs"
	echo "make test-order     unit tests in shuffled orders (fixed seeds: $(ORDER_SEEDS))"
	echo "make lock           re-resolve $(LOCK) after a change of pyproject.toml (keeps other pins)"
	echo "make lock-upgrade   re-resolve $(LOCK) with the newest releases"
	echo "make test-latest    the whole suite against the newest releases, with a report of what drifted"
	echo "make points-table   rewrite INSTRUCTORS.md's points table from the question registry"
	echo "make normalize      strip timestamps and other run-to-run noise from committed notebooks (no execution)"
	echo "make nbdime         use nbdime as git's diff/merge driver for notebooks in this clone"
	echo "make clean          remove caches and build outputs (keeps .venv)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q 'pip==$(PIP_VERSION)'

# PyTorch's CPU-only build on Linux without an NVIDIA GPU: PyPI's Linux torch wheel depends on NVIDIA's
# CUDA libraries (gigabytes). Where `nvidia-smi` is missing, torch alone is first installed from
# PyTorch's CPU index at the locked version (2.13.0+cpu satisfies the lock's ==2.13.0), then the
# ordinary install keeps it. If that index cannot be reached (no network, a proxy that only lets PyPI
# through), the step says so and the install carries on as before: pip then takes torch from the
# indexes it is configured with (a local wheel folder may hold the CPU build; else PyPI's CUDA build).
# Override: `make venv TORCH_INDEX=` (plain pip), or another index such as .../whl/cu126.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),$(if $(shell command -v nvidia-smi),,$(TORCH_CPU_INDEX)))
define install_torch
	if [ -n "$(TORCH_INDEX)" ]; then
		echo "== torch from $(TORCH_INDEX) (the version in $(LOCK); TORCH_INDEX= turns this off)"
		$(PIP) install --no-deps --retries 1 --timeout 20 --index-url '$(TORCH_INDEX)' torch -c $(LOCK) $(PIP_INSTALL_FLAGS) \
			|| echo "WARNING: could not install torch from $(TORCH_INDEX); pip takes it from its usual indexes instead"
	fi
endef

$(STUDENT_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(install_torch)
	$(PIP) install -e . -c $(LOCK) $(PIP_INSTALL_FLAGS)
	touch $@

$(DEV_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(install_torch)
	$(PIP) install -e '.[$(DEV_EXTRAS)]' -c $(LOCK) $(PIP_INSTALL_FLAGS)
	touch $@ $(STUDENT_STAMP)

venv: $(DEV_STAMP)

lab: $(STUDENT_STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(ALLOW_ROOT) $(FIRST_NOTEBOOK)

# uv resolves for every platform and Python >= 3.10 at once (--universal) from PyPI's metadata,
# without downloading wheels; an existing lock is kept where it still fits (lock-upgrade: newest).
# Only uv is needed (not the locked environment), so `make lock` also works right after a merge
# that added a dependency the old lock does not have.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.10 -c constraints.txt

# packaging: tools/lock_drift.py (make test-latest) reads the locks with it, before any other install.
$(BIN)/uv: | $(BIN)/python
	$(PIP) install -c $(LOCK) uv packaging

lock: $(BIN)/uv
	$(UV_COMPILE) -o $(LOCK) --custom-compile-command "make lock" -q
	echo "$(LOCK) written (git diff $(LOCK) shows what changed)"

lock-upgrade: $(BIN)/uv
	$(UV_COMPILE) -o $(LOCK) --custom-compile-command "make lock" --upgrade -q
	echo "$(LOCK) written (git diff $(LOCK) shows what changed)"

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The last line printed is the path of index.html.
site: venv $(NODE_STAMP)
	@$(BIN)/python tools/build_site.py --out build/site

# The last line printed is the folder of the decks.
slides: venv $(NODE_STAMP)
	@$(BIN)/python tools/build_slides.py --out build/slides

# A separate environment with the newest releases (torch stays at constraints.txt's pin): a report
# of every package whose newest release differs from the lock, then `make test` in that environment.
# "Newest" is what uv finds on PyPI (uv asks PyPI itself and does not read pip's configuration;
# UV_DEFAULT_INDEX=<url> points it at a mirror). Where no index can be reached, it says so and stops.
# With nothing drifted there is nothing new to test: it says so and stops (TEST_LATEST_FORCE=1 runs anyway).
TEST_LATEST_FORCE ?=
test-latest: $(BIN)/uv
	@mkdir -p $(ARTIFACTS)
	index=$${UV_DEFAULT_INDEX:-$${UV_INDEX_URL:-https://pypi.org/simple}}
	echo "== the newest releases on $$index (uv pip compile --upgrade)"
	if ! $(UV_COMPILE) -o $(ARTIFACTS)/latest.lock --upgrade --no-header -q; then
		echo "make test-latest: could not learn the newest releases: uv could not resolve from $$index (see its" \
			"message above; offline, or an index that is not reachable from here). Nothing was installed or tested."
		exit 1
	fi
	$(BIN)/python tools/lock_drift.py $(LOCK) $(ARTIFACTS)/latest.lock --out $(ARTIFACTS)/drift.txt
	if [ -z "$(TEST_LATEST_FORCE)" ] && grep -q '^0 package(s) differ' $(ARTIFACTS)/drift.txt; then
		echo "make test-latest: $(LOCK) already has the newest releases for this Python; nothing new to test"
		exit 0
	fi
	rm -rf $(LATEST_VENV)
	$(MAKE) --no-print-directory venv VENV=$(LATEST_VENV) LOCK=$(ARTIFACTS)/latest.lock || {
		echo "make test-latest: FAILED to install the newest releases ($(ARTIFACTS)/latest.lock) into $(LATEST_VENV)"; exit 1; }
	if $(MAKE) --no-print-directory test VENV=$(LATEST_VENV) LOCK=$(ARTIFACTS)/latest.lock ARTIFACTS=$(ARTIFACTS)/latest; then
		echo "make test-latest: passed with the newest releases; what differs from $(LOCK):"
		cat $(ARTIFACTS)/drift.txt
		echo "(to adopt them: make lock-upgrade)"
	else
		echo "make test-latest: FAILED with the newest releases (logs: $(ARTIFACTS)/latest/logs/); what differs from $(LOCK):"
		cat $(ARTIFACTS)/drift.txt
		exit 1
	fi

# Four passes, each a background job with its log in $(LOG_DIR)/<pass>.log, so that both cores stay busy
# (each pass mostly waits on its own kernel, browser or sandbox); all run even if one fails:
#  1. strict nbval over the notebook folders that hold notebooks (without notebooks/ when the
#     browser pass runs the lectures: LECTURES_IN_BROWSER); tests/conftest.py records each cell's
#     time, and tools/notebook_budget.py checks them (kernel CPU seconds);
#  2. unit tests (tests/, not browser) and the doctests of course_utils/;
#  3. browser tests (tests/, -m browser): they skip themselves without /usr/bin/chromium; each
#     lecture's run in JupyterLab is also its strict nbval check and its budget timing.
# All three start at once, beside the website build (`make site` into build/site); the site's own
# tests in passes 2 and 3 check that build (COURSE_SITE_DIR) and wait until it has ended
# (COURSE_SITE_READY, the website fixture of tests/conftest.py), while the rest of their pass goes on;
#  4. with MACHINES_QUICK=1 (.ci/run), `make test-machines-quick`, started when the nbval pass ends.
# Then the notebook budget and the linter.
MACHINES_QUICK ?=
test: venv $(NODE_STAMP)
	@mkdir -p $(LOG_DIR) $(JUNIT_DIR)
	failed=""
	dirs=""
	for d in $(NOTEBOOK_DIRS); do
		if [ -n "$(LECTURES_IN_BROWSER)" ] && [ "$$d" = notebooks ]; then continue; fi  # the browser pass runs them
		# -print -quit, not `find | grep -q .`: under pipefail an early-closing grep can fail the recipe by chance.
		if [ -d "$$d" ] && [ -n "$$(find "$$d" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -print -quit)" ]; then
			dirs="$$dirs $$d"
		fi
	done
	pass() {  # pass NAME COMMAND...: run a pass in the background, output to its log
		local name=$$1; shift
		echo "+ $$*" > $(LOG_DIR)/$$name.log
		"$$@" >> $(LOG_DIR)/$$name.log 2>&1 &
		eval "pid_$$name=$$!"
	}
	if [ -n "$$dirs" ]; then
		echo "== starting the nbval pass (log in $(LOG_DIR)/nbval.log)"
		pass nbval env COURSE_NOTEBOOK_TIMES=$(ARTIFACTS)/notebook_times.json $(POLICY) \
			$(BIN)/python -m pytest $(NBVAL_ARGS) $$dirs --junitxml=$(JUNIT_DIR)/nbval.xml $(PYTEST_ARGS)
	fi
	export COURSE_SITE_DIR="$$PWD/build/site" COURSE_SITE_STDOUT="$(abspath $(LOG_DIR))/site-stdout.txt"
	export COURSE_SITE_READY="$(abspath $(LOG_DIR))/site-ready"
	rm -f "$$COURSE_SITE_READY"
	echo "== starting the unit and browser passes (logs in $(LOG_DIR)/)"
	pass unit $(POLICY) $(BIN)/python -m pytest tests course_utils -m "not browser" $(UNIT_XDIST) --junitxml=$(JUNIT_DIR)/unit.xml $(PYTEST_ARGS)
	rm -f $(BROWSER_TIMES)
	pass browser env COURSE_BROWSER_NOTEBOOK_TIMES=$(BROWSER_TIMES) $(POLICY) \
		$(BIN)/python -m pytest tests -m browser --junitxml=$(JUNIT_DIR)/browser.xml $(PYTEST_ARGS)
	echo "== website (make site; the site's tests in the unit and browser passes wait for it)"
	if $(POLICY) $(BIN)/python tools/build_site.py --out build/site >"$$COURSE_SITE_STDOUT"; then
		cat "$$COURSE_SITE_STDOUT"
		echo ok > "$$COURSE_SITE_READY"
	else
		cat "$$COURSE_SITE_STDOUT"
		failed="$$failed site"
		echo failed > "$$COURSE_SITE_READY"  # the site tests then fail at once instead of rebuilding
	fi
	for name in nbval unit browser machines; do
		pid_var=pid_$$name
		rc=none
		if [ -n "$${!pid_var:-}" ]; then rc=0; wait "$${!pid_var}" || rc=$$?; fi
		if [ $$name = nbval ] && [ -n "$(MACHINES_QUICK)" ]; then
			# the nbval pass ends well before the browser pass: its core goes to test-machines-quick
			echo "== starting test-machines-quick (log in $(LOG_DIR)/machines.log)"
			pass machines $(MAKE) --no-print-directory test-machines-quick
		fi
		if [ $$rc = none ]; then
			[ $$name != nbval ] || echo "== nbval: no notebooks in $(NOTEBOOK_DIRS)"
			continue
		fi
		echo "== $$name (exit $$rc)"
		cat $(LOG_DIR)/$$name.log
		# exit 5 = no tests collected: only acceptable for the browser pass (it skips without Chromium)
		if [ $$rc -ne 0 ] && ! { [ $$name = browser ] && [ $$rc -eq 5 ]; }; then failed="$$failed $$name"; fi
	done
	times=""
	[ -z "$$dirs" ] || times=$(ARTIFACTS)/notebook_times.json
	if [ -n "$(LECTURES_IN_BROWSER)" ]; then
		times="$$times $(BROWSER_TIMES)"
		# the budget covers every lecture, unless PYTEST_ARGS chose a subset of the tests
		[ -n "$(PYTEST_ARGS)" ] || times="--require-lectures $$times"
	fi
	if [ -n "$$times" ]; then
		echo "== notebook runtime budget"
		$(BIN)/python tools/notebook_budget.py $$times || failed="$$failed budget"
	fi
	echo "== lint (ruff check, ruff format --check)"
	{ $(BIN)/ruff check . && $(BIN)/ruff format --check .; } || failed="$$failed lint"
	if [ -n "$$failed" ]; then echo "make test FAILED:$$failed"; exit 1; fi
	echo "make test passed"

# The same unit tests and strict nbval under other BLAS settings: every committed number must come
# out the same (or within its documented tolerance). OPENBLAS_CORETYPE picks an older OpenBLAS
# kernel than the CPU's own (Sandybridge: AVX without FMA, valid on any x86-64 CPU with AVX).
MACHINE_SETTINGS ?= threads1:OMP_NUM_THREADS=1,OPENBLAS_NUM_THREADS=1 \
	threads2:OMP_NUM_THREADS=2,OPENBLAS_NUM_THREADS=2 \
	sandybridge:OPENBLAS_CORETYPE=Sandybridge,OMP_NUM_THREADS=1,OPENBLAS_NUM_THREADS=1
MACHINE_UNIT ?= tests course_utils
MACHINE_NOTEBOOKS ?= $(NOTEBOOK_DIRS)
test-machines: venv
	@mkdir -p $(LOG_DIR) $(JUNIT_DIR)
	failed=""
	for setting in $(MACHINE_SETTINGS); do
		name=$${setting%%:*}; vars=$${setting#*:}
		echo "== unit tests ($(MACHINE_UNIT)) with $${vars//,/ }"
		env $${vars//,/ } $(POLICY) $(BIN)/python -m pytest $(MACHINE_UNIT) -m "not browser" -q $(UNIT_XDIST) \
			--junitxml=$(JUNIT_DIR)/machines-$$name-unit.xml $(PYTEST_ARGS) || failed="$$failed $$name/unit"
		echo "== strict nbval ($(MACHINE_NOTEBOOKS)) with $${vars//,/ }"
		env $${vars//,/ } COURSE_NOTEBOOK_TIMES=$(ARTIFACTS)/machines/$$name-times.json $(POLICY) \
			$(BIN)/python -m pytest $(NBVAL_ARGS) $(MACHINE_NOTEBOOKS) -q \
			--junitxml=$(JUNIT_DIR)/machines-$$name-nbval.xml $(PYTEST_ARGS) || failed="$$failed $$name/nbval"
	done
	if [ -n "$$failed" ]; then echo "make test-machines FAILED:$$failed"; exit 1; fi
	echo "make test-machines passed"

# What .ci/run adds to `make test` within its time budget: one setting that changes both the thread
# count and the OpenBLAS kernel, on the check data (regenerated and compared with the committed
# files), the doctests, and strict nbval of the solution notebooks (whose check cells compare
# student-style code with that data). The whole suite and the lectures: `make test-machines`.
test-machines-quick: venv
	@$(MAKE) --no-print-directory test-machines UNIT_XDIST= \
		MACHINE_SETTINGS="sandybridge-2threads:OPENBLAS_CORETYPE=Sandybridge,OMP_NUM_THREADS=2,OPENBLAS_NUM_THREADS=2" \
		MACHINE_UNIT="tests/test_assignments.py::test_public_check_data_is_in_sync course_utils" \
		MACHINE_NOTEBOOKS="solutions"

# The unit tests in shuffled orders (pytest-randomly, fixed seeds so that a failure can be replayed
# with `pytest -p randomly --randomly-seed=N`). pytest-randomly also reseeds `random` and NumPy's
# global generator before each test, so only the order changes between runs of one seed.
test-order: venv
	@failed=""
	for seed in $(ORDER_SEEDS); do
		echo "== unit tests shuffled, seed $$seed"
		$(POLICY) $(BIN)/python -m pytest tests course_utils -m "not browser" -q -p randomly --randomly-seed=$$seed \
			--junitxml=$(JUNIT_DIR)/order-$$seed.xml $(PYTEST_ARGS) || failed="$$failed seed=$$seed"
	done
	if [ -n "$$failed" ]; then echo "make test-order FAILED:$$failed"; exit 1; fi
	echo "make test-order passed"

lint: venv
	@status=0
	$(BIN)/ruff check . || status=1
	$(BIN)/ruff format --check . || status=1
	exit $$status

normalize: venv
	$(BIN)/python tools/normalize_notebooks.py

points-table: venv
	$(BIN)/python tools/points_table.py

# nbdime's git integration for this clone: the drivers go into .git/config; the committed
# .gitattributes already routes *.ipynb to them (clones without the drivers use git's text diff).
nbdime: venv
	$(BIN)/nbdime config-git --enable
	echo "git diff / git merge now use nbdime for notebooks here; 'git difftool --tool=nbdime' opens the web view"

clean:
	rm -rf build dist .pytest_cache .ruff_cache node_modules
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf
