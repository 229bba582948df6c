# SPDX-License-Identifier: MIT
# The lab's commands. `make lab` and `make test` are the two a student or CI needs; each sets up
# the machine first (scripts/setup.sh), so they work on a fresh Debian/Ubuntu clone.

VENV        := .venv
PY          := $(VENV)/bin/python
PYTEST_ARGS ?=
LAB_ARGS    ?=
BENCH_ARGS  ?=

# Root may only run JupyterLab with --allow-root (CI containers, Binder-like sandboxes).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# Steps run in the order written (setup before build before tests); the kernel's own make may
# still run its recipes in parallel.
.NOTPARALLEL:
.DEFAULT_GOAL := help
.PHONY: help setup build test lab bench fuzz clean distclean

help: ## list the targets
	@echo "Unikernel lab: make TARGET"
	@awk -F':.*## ' '/^[a-z]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Variables: PYTEST_ARGS (e.g. -k hello), LAB_ARGS (extra jupyter lab flags), BENCH_ARGS"

setup: ## check/install system tools, create .venv and install labkit into it
	@bash scripts/setup.sh

build: ## build the kernel, the apps and the boot archives into images/
	@test -f kernel/Makefile || { echo "build: kernel/Makefile not found: the kernel is missing from this checkout" >&2; exit 1; }
	$(MAKE) -C kernel

test: setup build ## set everything up, build, run the kernel's checks and the test suite
	@if out=$$(LC_ALL=C $(MAKE) -s -C kernel -n check 2>&1); then \
	  echo "$(MAKE) -C kernel check"; $(MAKE) -C kernel check; \
	elif printf '%s\n' "$$out" | grep -q "No rule to make target 'check'\."; then \
	  echo "(kernel/Makefile has no 'check' target: skipped)"; \
	else \
	  $(MAKE) -C kernel check; \
	fi
	LABKIT_REQUIRE_IMAGES=1 $(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

lab: setup build ## set everything up, build, and open JupyterLab on notebooks/
	@echo
	@echo "Starting JupyterLab on 127.0.0.1 (this machine only). Open the http://127.0.0.1:PORT/lab?token=..."
	@echo "URL it prints below in a browser. From another machine: ssh -L 8888:127.0.0.1:8888 THIS-HOST,"
	@echo "then open the same URL there. Stop it with Ctrl-C (twice)."
	@echo
	$(VENV)/bin/jupyter lab notebooks/ --ip 127.0.0.1 $(ALLOW_ROOT) $(LAB_ARGS)

bench: setup build ## set everything up, build, and print the measured figures (labkit bench)
	$(VENV)/bin/labkit bench $(BENCH_ARGS)

fuzz: build ## fuzz the loader and the boot archive parser on the host (libFuzzer, FUZZ_SECONDS each)
	$(MAKE) -C kernel fuzz $(if $(FUZZ_SECONDS),FUZZ_SECONDS=$(FUZZ_SECONDS))

clean: ## remove build outputs (images/ and the kernel's build directory)
	@if [ -f kernel/Makefile ]; then $(MAKE) -C kernel clean; fi
	rm -rf images

distclean: clean ## clean, and also remove .venv/ and test artifacts
	rm -rf $(VENV) test-artifacts
