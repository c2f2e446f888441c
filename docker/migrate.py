"""Upgrade the database schema once, even when several instances start at the same moment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Any fixed 64-bit number works; instances only have to agree on it.
LOCK_KEY = 0x6D66615F706F7274  # "mfa_port"


def main(upgrade_schema: bool = True) -> None:
    """Build the app once and upgrade the schema, under a PostgreSQL advisory lock when the database is shared.

    The gunicorn master calls this before forking (gunicorn.conf.py); upgrade_schema=False only loads
    the app's modules there, so that workers inherit them instead of importing their own copies.
    """
    sys.path.insert(0, str(ROOT))
    os.environ["AUTO_MIGRATE"] = "0"  # create_app must not upgrade by itself: that happens below, under the lock
    from sqlalchemy import text

    from app.extensions import db
    from app.factory import attach_migrations, create_app

    # A schema change on a big audit table may take longer than a page's statement timeout allows.
    app = create_app({"DATABASE_STATEMENT_TIMEOUT": 0})
    with app.app_context():
        try:
            if not upgrade_schema:
                return
            # Imported only here: the gunicorn master must not hand Alembic to every worker.
            from flask_migrate import upgrade

            attach_migrations(app)
            if db.engine.dialect.name != "postgresql":
                # SQLite lives on one host, where only one gunicorn master runs this.
                upgrade(directory=str(ROOT / "migrations"))
                return
            # Two concurrent upgrades of a fresh database both CREATE TABLE and one fails; the lock makes the
            # second wait, then find the schema current. It is held on its own connection, outside Alembic's.
            with db.engine.connect() as lock:
                lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
                try:
                    upgrade(directory=str(ROOT / "migrations"))
                finally:
                    lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        finally:
            # In the gunicorn master no worker may inherit an open connection.
            db.engine.dispose()


if __name__ == "__main__":
    main()
