"""Benchmark `flask audit export`: Python memory and time at growing audit logs, to show memory stays flat.

Run: .venv/bin/python bench/audit_export.py [--rows 20000,200000] [--database-url postgresql+psycopg://...]

For each size it fills a fresh audit table with that many rows (Core executemany, 10,000 at a time,
a realistic mix of attempts and outcomes with user agents and details), then runs the real command
through click's runner with --output to a file in a temporary folder, in both formats, and prints the
peak of Python allocations during the export (tracemalloc, from a fresh start just before the command)
and the rows per second. With a PostgreSQL URL each size gets its own database on that server, dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("SECRET_KEY", "bench" * 13)

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import AuditEvent  # noqa: E402

AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def fill(app, rows: int) -> None:
    """Write `rows` audit events spread over two years, 10,000 per statement."""
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / max(rows, 1)
    with app.app_context():
        for first in range(0, rows, 10_000):
            batch = []
            for i in range(first, min(rows, first + 10_000)):
                attempt, user = i % 2 == 0, f"user.{i % 5000:04d}"
                batch.append({
                    "at": start + step * i, "action": "credentials_issued",
                    "outcome": "attempt" if attempt else "success",
                    "subject": user, "actor_arn": f"arn:aws:iam::123456789012:user/{user}",
                    "source_ip": f"10.0.{i % 250}.{i % 200}", "user_agent": AGENT, "first_enrollment": False,
                    "detail": None if attempt else json.dumps({"duration": 43200, "via": "code"}),
                    "event_key": uuid.uuid4().hex, "request_id": uuid.uuid4().hex})
            db.session.execute(db.insert(AuditEvent.__table__), batch)
            db.session.commit()


def export(app, kind: str, output: Path) -> float:
    """Run the command once; return its seconds."""
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["audit", "export", "--format", kind, "--output", str(output)])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return time.perf_counter() - started


def measure(app, kind: str, output: Path) -> tuple[float, float, int]:
    """Run the export traced, then untraced; return (peak MB of Python allocations, untraced seconds, bytes)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    export(app, kind, output)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # tracemalloc slows every allocation several times over: the time comes from a second, untraced run.
    return peak / 1e6, export(app, kind, output), output.stat().st_size


def database(base_url: str | None, folder: str, rows: int):
    """A fresh database URL for one size, and how to drop it afterwards."""
    if not base_url:
        return f"sqlite:///{folder}/audit-{rows}.sqlite", lambda: None
    import psycopg

    name = f"bench_audit_{uuid.uuid4().hex[:10]}"
    admin_url = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base_url.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    """Fill, export, print one line per size and format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="20000,200000", help="comma-separated table sizes")
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql+psycopg://user@host/db) to use")
    args = parser.parse_args()
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{engine}: peak Python allocations during `flask audit export --output FILE`")
    print(f"{'rows':>9}  {'format':<6} {'peak MB':>8} {'seconds':>8} {'rows/s':>9} {'file MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(n) for n in args.rows.split(",")):
            url, drop = database(args.database_url, folder, rows)
            try:
                app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": folder, "TESTING": True})
                fill(app, rows)
                for kind in ("jsonl", "csv"):
                    peak, seconds, size = measure(app, kind, Path(folder) / f"out.{kind}")
                    print(f"{rows:>9,}  {kind:<6} {peak:>8.2f} {seconds:>8.2f} {rows / seconds:>9,.0f}"
                          f" {size / 1e6:>8.1f}")
                with app.app_context():
                    db.engine.dispose()
            finally:
                drop()


if __name__ == "__main__":
    main()
