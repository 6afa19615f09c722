# syntax=docker/dockerfile:1
# Arabic press monitor: the `monitor` daemon in a virtualenv, run as a non-root user.
#
#   docker build -t arabic-press-monitor .
#   docker run --rm -p 8080:8080 -v monitor-state:/app/state arabic-press-monitor run --demo
#
# BASE_IMAGE must provide `python3` (>= 3.11) with the venv module. The default is the official
# image; scripts/docker-smoke builds the same file on a Debian bookworm base made with debootstrap
# (python3 + python3-venv), which is why only `python3` is used below, never `python`.
ARG BASE_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# build: install the project (non-editable) and its dependencies, all wheels from PyPI.
FROM ${BASE_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv

# Only what the package build needs: metadata, the README it names, the package itself.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor/ ./monitor/
RUN /opt/venv/bin/python3 -m pip install --no-cache-dir /src \
    && /opt/venv/bin/monitor --help > /dev/null

# ---------------------------------------------------------------------------------------------
# runtime: the same base, the venv, the rules and a state volume; no compilers, no sources.
FROM ${BASE_IMAGE} AS runtime

# Interpreter of /opt/venv (its bin/python3 links to the base's python3, identical in both stages).
COPY --from=build /opt/venv /opt/venv

RUN groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid monitor --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin monitor \
    && mkdir -p /app/state \
    && chown monitor:monitor /app /app/state

WORKDIR /app

# The shipped rule pack; mount ./rules:/app/rules:ro over it to edit rules on the host.
COPY --chown=monitor:monitor rules/ /app/rules/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MONITOR_OPS__HOST=0.0.0.0 \
    MONITOR_OPS__PORT=8080

# SQLite state (state/monitor.db, state/demo.db): keep it on a volume so restarts resume.
VOLUME ["/app/state"]

EXPOSE 8080

# 200 from /healthz = scheduler running, DB writable, a feed succeeded recently; 503 = unhealthy
# (urlopen raises on it). Honours MONITOR_OPS__PORT. The demo turns healthy a few seconds after start;
# a real first poll of many feeds can take longer, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MONITOR_OPS__PORT', '8080'), timeout=3)"]

# The daemon stops gracefully on SIGTERM (within 20 s by default); give `docker stop` 30 s.
STOPSIGNAL SIGTERM

# Numeric (= monitor:monitor) so Kubernetes runAsNonRoot can verify it is not root.
USER 10001:10001

ENTRYPOINT ["monitor"]
CMD ["run"]
