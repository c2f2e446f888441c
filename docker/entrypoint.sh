#!/bin/sh
# Container start. `serve` (the default): gunicorn, whose master upgrades the schema once (under a
# PostgreSQL advisory lock, so replicas starting together take turns) and then forks workers that run
# with AUTO_MIGRATE=0; options (-w 4 ...) go to gunicorn. `migrate`: only the upgrade, for a one-off job
# when the instances run with AUTO_MIGRATE=0. Anything else runs as a command.
set -eu
cd "$(dirname "$0")/.."

case "${1:-serve}" in
    migrate)
        exec python docker/migrate.py
        ;;
    serve | -*)
        [ "${1:-}" = serve ] && shift
        # exec: gunicorn replaces the shell, so it is PID 1 and receives docker stop's SIGTERM itself.
        exec gunicorn -c gunicorn.conf.py "$@" wsgi:app
        ;;
    *)
        exec "$@"
        ;;
esac
