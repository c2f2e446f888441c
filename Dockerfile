# syntax=docker/dockerfile:1
# The portal under gunicorn. Put a TLS-terminating proxy in front (see docker-compose.example.yml) and set
# SECRET_KEY, PROXY_HOPS=1 and, for several instances, DATABASE_URL and REDIS_URL.
# Built and run by tests/test_image.py (README, Deployment), which passes a base made from Debian's packages
# (BASE=...): any image with python3 and its venv module will do.
ARG BASE=python:3.11-slim

# Stage 1: the virtualenv and the compiled catalogs. Every dependency is a locked, hashed wheel, so nothing
# is compiled and no compiler is needed even here; pip and setuptools leave with this stage.
FROM ${BASE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Behind a TLS-inspecting proxy, pass its CA bundle (mounted into the build) as PIP_CERT: a build argument
# reaches this stage's commands only, never the image's environment.
ARG PIP_CERT
RUN python3 -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# --require-hashes: every file pip downloads must match requirements.txt (pip-compile --generate-hashes).
RUN /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.txt \
 && /opt/venv/bin/python -m pip uninstall --yes --quiet pip setuptools

# Only the AWS services and languages the portal uses keep their data (docker/slim_venv.py: 60 MB less).
# The .po catalogs are the source; the portal reads the .mo files compiled here (Babel is a runtime dependency).
COPY app/aws_data/endpoints.json /app/app/aws_data/endpoints.json
COPY translations/ /app/translations/
COPY docker/slim_venv.py /tmp/slim_venv.py
RUN /opt/venv/bin/python /tmp/slim_venv.py /app \
 && /opt/venv/bin/pybabel compile --statistics -d /app/translations

# Stage 2: what runs. The same base (the venv's python is a link to it), the venv and the code; no pip.
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# A fixed, unprivileged uid, so volume permissions can be set up front. Only the instance folder (SQLite
# file, session files) is writable by the portal user; mount a volume there to keep the single-host audit
# log across container replacements.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal \
 && mkdir -p /app/instance \
 && chown portal:portal /app/instance \
 && chmod 0700 /app/instance

WORKDIR /app

# Dependencies first: this layer survives code changes.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app/translations/ translations/
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY migrations/ migrations/
COPY docker/ docker/
COPY wsgi.py gunicorn.conf.py ./

# gunicorn.conf.py binds HOST:PORT (loopback by default); in a container it must listen on all interfaces.
# AUTO_MIGRATE stays on: the gunicorn master upgrades the schema once and its workers run with AUTO_MIGRATE=0.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    INSTANCE_PATH=/app/instance

USER 10001:10001
EXPOSE 8000

# Liveness (/healthz): an orchestrator that restarts unhealthy containers must not restart every instance
# because the database is down, which a restart cannot fix. Readiness (/readyz, `healthcheck.py --ready`)
# is for whatever routes traffic: docker-compose.example.yml uses it. (podman keeps HEALTHCHECK only when
# it builds with --format docker.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# Through sh: the script needs no execute bit (a checkout or a COPY may lose it); it execs gunicorn as PID 1.
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
CMD ["serve"]
