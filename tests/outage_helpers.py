"""Helpers shared by the outage tests: the portal's settings as production handles errors."""

from __future__ import annotations


def settings(tmp_path, **overrides) -> dict:
    """Test settings like make_test_app's, as production handles errors (not re-raised to the test)."""
    # TESTING makes Flask re-raise errors from outside a view (opening or saving the session); the
    # portal in production renders its page for them, and that is what these tests look at.
    return {"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False, **overrides}
