"""TOTP steps for the browser tests: AWS refuses a code twice, so each session spends each step once."""

from __future__ import annotations

import time

from .conftest import Visitor

# The seeded admin's steps spent by any browser test of this session: they all sign in as the one admin.
ADMIN_STEPS: set[int] = set()


def fresh_step(used: set[int]) -> int:
    """A TOTP step inside AWS's window that this session has not spent yet (AWS refuses a code twice)."""
    while True:
        now = Visitor.step_now()
        for step in (now, now + 1):
            if step not in used and step > max(used, default=0):
                used.add(step)
                return step
        time.sleep(1)
