"""The portal's package: create_app lives in app/factory.py; importing app.aws or app.consumer builds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def __getattr__(name: str) -> Any:
    """Hand out `create_app` and `attach_migrations` from app.factory on first use (`from app import create_app`)."""
    if name in {"create_app", "attach_migrations"}:
        # Lazy on purpose: every `import app.<module>` runs this file, and the factory imports the whole portal.
        from . import factory

        return getattr(factory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
