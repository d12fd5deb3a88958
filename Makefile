# photodup: every target a newcomer needs. `make help` lists them.
# Local targets run without Docker or a GPU; the docker-* targets drive docker-compose.yml.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
COMPOSE ?= docker compose
MODEL_REPOSITORY ?= model_repository
PRETRAINED ?= laion2b_s34b_b79k
TRITON_BACKEND ?= python
BACKEND ?= pytorch
PHOTOS_DIR ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install system-deps test lint export serve-pytorch serve-triton demo \
        bench bench-local bench-grouping eval up-pytorch up-triton up-gpu-triton down logs \
        docker-export compose-config clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

# --- setup ---------------------------------------------------------------------------

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install everything (quick when nothing changed)

system-deps: ## Debian packages the browser tests need (chromium, chromium-driver)
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium (Debian packages) for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-dejavu-core >/dev/null; \
	fi

# --- quality -------------------------------------------------------------------------

test: install system-deps ## Run the whole test suite (does its own setup)
	$(BIN)/ruff check src tests bench exporter services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests bench exporter services
	$(BIN)/ruff format --check src tests bench exporter services
	$(BIN)/mypy

# --- the inference stack, locally ----------------------------------------------------

export: install ## Export OpenCLIP to ONNX and write the Triton model repository
	$(BIN)/photodup export --pretrained $(PRETRAINED) --output $(MODEL_REPOSITORY) \
	  --triton-backend $(TRITON_BACKEND) --instance-kind cpu

serve-pytorch: install ## Start the PyTorch service on :8002
	PRETRAINED=$(PRETRAINED) $(BIN)/photodup serve

serve-triton: install ## Start the local Triton server on :8003/:8004/:8005
	$(BIN)/photodup triton --model-repository $(MODEL_REPOSITORY)

demo: install ## The main job: sample library, scan, review page on http://127.0.0.1:8000
	BACKEND=$(BACKEND) PHOTOS_DIR=$(PHOTOS_DIR) $(BIN)/photodup demo --backend $(BACKEND) \
	  $(if $(PHOTOS_DIR),--photos $(PHOTOS_DIR),)

eval: install ## Precision/recall of the grouping on the built-in labelled set
	$(BIN)/photodup eval

# --- benchmarks ----------------------------------------------------------------------

bench-local: install ## Benchmark PyTorch vs Triton here, starting each backend itself
	$(BIN)/photodup bench --start-local

bench-grouping: install ## Grouping speed on 10k and 100k synthetic embeddings
	$(BIN)/photodup bench-grouping

clean: ## Remove build output (keeps .venv)
	rm -rf $(MODEL_REPOSITORY)/*/ .pytest_cache .ruff_cache .mypy_cache
