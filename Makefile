# ofsted-qa: two commands from a clean clone: `make serve` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
CORPUS ?= ../shared/corpus
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench eval train image image-base image-test clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt $(wildcard wheels/llama_cpp_python-*.whl)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the CPU wheel; a plain `torch` requirement would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	# llama.cpp's server for the local LLM: from the wheel built once here (compiling it takes about 15 min)
	$(BIN)/pip install --quiet -c constraints.txt --find-links wheels --only-binary llama-cpp-python -e ".[local-llm]"
	@test -n "$(SKIP_BROWSER)" || test -x /usr/bin/chromium || \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) || \
	  echo "chromium could not be installed: the browser tests will fail; install Debian's chromium package"
	touch $(STAMP)

serve: install
	PORT=$(PORT) $(BIN)/ofsted-qa serve --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/mypy api indexer eval prompts training

# Fine-tune the cross-encoder (+ the answer-or-refuse decision) and the embedder into models/; about 1 h on 2 cores.
# Hard negatives come from a first stage built with the stock models, as the shipped models were trained.
train: install
	test -f data/train-index/CURRENT || OFSTED_QA_INDEX__EMBEDDER_DIR= OFSTED_QA_RETRIEVAL__RERANKER_DIR= \
	  $(BIN)/ofsted-qa index $(CORPUS) --index data/train-index
	$(BIN)/python -m training.train --index data/train-index
	$(BIN)/python -m training.train_embedder --index data/train-index
	$(BIN)/python -m training.train_intent

bench: install
	$(BIN)/ofsted-qa bench

eval: install
	$(BIN)/ofsted-qa eval

# Without a registry (as here), build a Debian base first: make image-base, then make image BASE=localhost/debian-bookworm:min
image-base:
	apt-get install -y -q buildah podman debootstrap >/dev/null
	root=$$(mktemp -d)/rootfs && debootstrap --variant=minbase bookworm "$$root" >/dev/null && \
	  tar -C "$$root" -c . | podman import - localhost/debian-bookworm:min

IMAGE ?= ofsted-qa:dev
# docker format, not OCI: OCI images drop HEALTHCHECK
image:
	mkdir -p wheels
	# behind a TLS-inspecting proxy (as here) the build must trust the same CA bundle as this machine
	test ! -f /etc/ssl/certs/ca-certificates.crt || cp /etc/ssl/certs/ca-certificates.crt wheels/host-ca.crt
	buildah bud --isolation chroot --format docker $(if $(BASE),--build-arg BASE=$(BASE)) -t $(IMAGE) .

image-test:
	buildah inspect $(IMAGE) >/dev/null 2>&1 || $(MAKE) image
	IMAGE=$(IMAGE) ./scripts/image-test.sh

clean:
	rm -rf $(VENV) data/index
