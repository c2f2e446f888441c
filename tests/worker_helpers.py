"""Helpers shared by the tests that run real gunicorn workers."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

from bench._util import Server


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
