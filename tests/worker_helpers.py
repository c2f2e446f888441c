"""Helpers shared by the tests that run real gunicorn workers."""

from __future__ import annotations

import os
import runpy
import signal
from contextlib import contextmanager

from bench._util import GUNICORN_CONF, Server


@contextmanager
def only_worker(server: Server, pid: int):
    """Freeze every other worker (SIGSTOP), so this one takes the next connections."""
    others = [other for other in server.worker_pids() if other != pid]
    for other in others:
        os.kill(other, signal.SIGSTOP)
    try:
        yield
    finally:
        for other in others:
            os.kill(other, signal.SIGCONT)


def load_config(monkeypatch, **env: str) -> dict:
    """Evaluate gunicorn.conf.py under the given environment, as gunicorn does."""
    for name in ("BIND", "HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS",
                 "GUNICORN_CONTROL_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))
