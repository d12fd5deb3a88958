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
        bench bench-local bench-quick bench-grouping eval ui up-pytorch up-triton up-gpu-triton down logs \
        docker-export compose-config clean bench-ui bench-scan

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
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
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

eval: install ## Precision/recall of the grouping on the built-in labelled set (starts its own service)
	@port=$$($(BIN)/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	  PRETRAINED=$(PRETRAINED) SERVICE_PORT=$$port $(BIN)/photodup serve & pid=$$!; \
	  trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' EXIT; \
	  $(BIN)/photodup eval --backend pytorch --url http://127.0.0.1:$$port

ui: install ## Review page for PHOTOS_DIR on http://127.0.0.1:8000 (needs a scanned library and a backend)
	$(BIN)/photodup ui --library $(or $(PHOTOS_DIR),sample_library)

# --- benchmarks ----------------------------------------------------------------------

bench-local: install ## Benchmark PyTorch vs Triton here, starting each backend itself
	$(BIN)/photodup bench --start-local

bench-quick: install ## The same, short profile (about a minute or two here)
	$(BIN)/photodup bench --quick --start-local

bench-grouping: install ## Grouping speed on 10k and 100k synthetic embeddings
	$(BIN)/photodup bench-grouping

bench-scan: install ## The whole scan per backend against its measured limit; memory and 10k rescan (~15 min here)
	$(BIN)/photodup bench-scan --photos $(or $(PHOTOS),200) --workers 2 --batch-sizes 32 --output bench/results/scan

bench-ui: install ## Review page: HTML size and server time of the lists with 10,000 groups
	$(BIN)/python -m photodup.ui.bench_pages --groups $(or $(GROUPS),10000)

clean: ## Remove build output (keeps .venv)
	rm -rf $(MODEL_REPOSITORY)/*/ .pytest_cache .ruff_cache .mypy_cache

# --- docker (the Compose stack; docs/deploy.md) ----------------------------------------
# Needs Docker with the Compose plugin; the GPU targets also need the NVIDIA Container Toolkit.
# compose-config needs neither: it uses the docker-compose binary installed into .venv.
COMPOSE_BASE := -f docker-compose.yml
COMPOSE_GPU := -f docker-compose.yml -f docker-compose.gpu.yml
ALL_PROFILES := --profile pytorch --profile triton --profile bench
# Containers that write into bind mounts (the library's quarantine, bench results) run as you.
DOCKER_ENV = HOST_UID=$$(id -u) HOST_GID=$$(id -g) \
  $(if $(PHOTOS_DIR),PHOTOS_DIR=$(abspath $(PHOTOS_DIR)),)
# The ui reaches the active backend by its Compose-network name.
TRITON_UI := UI_BACKEND=triton UI_INFERENCE_URL=http://triton:8000
# Without PHOTOS_DIR the ui gets ./sample_library (`make demo` fills it); create it as you,
# or Docker would create the bind-mount source as root.
LIBRARY_DIR = $(if $(PHOTOS_DIR),,mkdir -p sample_library)

up-pytorch: ## Compose: exporter, PyTorch service :8002, UI :8000 (CPU; PHOTOS_DIR=...)
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(COMPOSE) $(COMPOSE_BASE) --profile pytorch up -d --build

up-triton: ## Compose: exporter, Triton :8003/:8004/:8005, UI :8000 (CPU; PHOTOS_DIR=...)
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(TRITON_UI) $(COMPOSE) $(COMPOSE_BASE) --profile triton up -d --build

up-gpu-triton: ## Compose on a GPU host: GPU export, Triton on the GPU, UI :8000
	$(LIBRARY_DIR)
	$(DOCKER_ENV) $(TRITON_UI) $(COMPOSE) $(COMPOSE_GPU) --profile triton up -d --build

down: ## Compose: stop and remove the stack's containers (named volumes are kept)
	$(COMPOSE) $(COMPOSE_BASE) $(ALL_PROFILES) down --remove-orphans

logs: ## Compose: follow the stack's logs
	$(COMPOSE) $(COMPOSE_BASE) $(ALL_PROFILES) logs --follow --tail=200

docker-export: ## Compose: run only the exporter into the model_repository volume (GPU=1 for GPU)
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile triton build exporter
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile triton run --rm exporter

bench: ## Compose: bench container, PyTorch vs Triton; results in bench/results/ (GPU=1)
	mkdir -p bench/results
	$(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile bench build
	$(DOCKER_ENV) $(COMPOSE) $(if $(GPU),$(COMPOSE_GPU),$(COMPOSE_BASE)) --profile bench \
	  run --rm bench

compose-config: install ## Check the Compose files resolve for every profile, with and without GPU
	@for files in "$(COMPOSE_BASE)" "$(COMPOSE_GPU)"; do \
	  for profile in pytorch triton bench; do \
	    $(BIN)/docker-compose $$files --profile $$profile config --quiet \
	      && echo "ok: $$files --profile $$profile" || exit 1; \
	  done; \
	done
