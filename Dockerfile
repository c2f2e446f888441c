# syntax=docker/dockerfile:1
# The portal under gunicorn. Put a TLS-terminating proxy in front (see docker-compose.example.yml) and set
# SECRET_KEY, PROXY_HOPS=1 and, for several instances, DATABASE_URL and REDIS_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged uid, so volume permissions can be set up front.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal

WORKDIR /app

# Dependencies first: this layer survives code changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY translations/ translations/
COPY migrations/ migrations/
COPY docker/ docker/
COPY wsgi.py gunicorn.conf.py ./
# Only the instance folder (SQLite file, session files) is writable by the portal user; mount a volume
# there to keep the single-host audit log across container replacements.
# The .po catalogs are the source; the portal reads the .mo files compiled here (Babel is in requirements.txt).
RUN pybabel compile --statistics -d translations \
 && chmod 0755 docker/entrypoint.sh \
 && mkdir -p /app/instance \
 && chown portal:portal /app/instance \
 && chmod 0700 /app/instance

# gunicorn.conf.py binds HOST:PORT (loopback by default); in a container it must listen on all interfaces.
# AUTO_MIGRATE stays on: the gunicorn master upgrades the schema once and its workers run with AUTO_MIGRATE=0.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    INSTANCE_PATH=/app/instance

USER 10001:10001
EXPOSE 8000

# Liveness (/healthz): an orchestrator that restarts unhealthy containers must not restart every instance
# because the database is down, which a restart cannot fix. Readiness (/readyz, `healthcheck.py --ready`)
# is for whatever routes traffic: docker-compose.example.yml uses it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve"]
