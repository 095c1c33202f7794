# A CPU image serving the bundled corpus. There's no Docker engine here; see `make image` (buildah).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

# On a plain Debian base (no Python), install Python itself; the project's own install step does the rest.
RUN if ! command -v python3.11 >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-dev make ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    else \
      apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /app
COPY . /app
# wheels/ may hold a local torch CPU wheel (make image copies one when this machine has it); else PyPI is used
ENV PIP_FIND_LINKS=/app/wheels
# no browser in the serving image: the browser tests run in CI, not in production
RUN if [ -f wheels/host-ca.crt ]; then export PIP_CERT=/app/wheels/host-ca.crt; fi \
    && make install PY="$(command -v python3.11 || command -v python3)" SKIP_BROWSER=1 \
    && .venv/bin/ofsted-qa index indexer/data/corpus --index /app/data/index \
    && rm -rf /root/.cache

ENV OFSTED_QA_API__HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD [".venv/bin/ofsted-qa", "serve", "--host", "0.0.0.0"]
