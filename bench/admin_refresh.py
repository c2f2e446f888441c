"""Benchmark the admin dashboard at scale: AWS calls per refresh, refresh time, page render, database size.

Run: .venv/bin/python bench/admin_refresh.py [--users 5000] [--enrolled 4000] [--abandoned 200]
                                              [--database-url postgresql+psycopg://...]

Everything runs in this process against moto (mock_aws), seeded through moto's backend objects
(app.demo.seed.seed_population), because seeding 5,000 users through the API takes minutes.

How calls are counted. "moto calls" are the API calls the portal really made, seen by
aws.watch_calls(). moto ignores MaxItems for ListUsers, GetGroup and ListEntitiesForPolicy and
returns everything in one page, so "as AWS pages" recounts every list call as ceil(items / 1000)
pages (at least one), from the item counts the refresh itself saw (Report.fetched); calls that are
not lists (GenerateCredentialReport, GetCredentialReport, GetPolicy) count as made. The naive
refresh is what tools that loop over users do: ListUsers, then ListMFADevices for each user.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import aws, create_app  # noqa: E402
from app.demo import emulator, seed  # noqa: E402
from app.policy import policy_text  # noqa: E402
from app.services import findings, reporting, snapshots  # noqa: E402

RENDERS = [
    ("not enrolled, by key use", "/admin/?show=not_enrolled&sort=key_used&order=desc"),
    ("search 'an', page 2", "/admin/?q=an&page=2"),
    ("everyone, by last activity", "/admin/?sort=activity&order=desc"),
    ("abandoned devices", "/admin/?show=abandoned"),
    *((f"finding {control}", f"/admin/?finding={control}") for control in findings.CONTROLS),
    ("finding IAM.22, search 'an', by key use, page 2",
     "/admin/?finding=IAM.22&q=an&sort=key_used&order=desc&page=2"),
    ("history", "/admin/history"),
]


def main() -> None:
    """Seed, refresh, compare with the naive way, time the pages, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--enrolled", type=int, default=4000)
    parser.add_argument("--abandoned", type=int, default=200)
    parser.add_argument("--renders", type=int, default=40, help="requests per dashboard view")
    parser.add_argument("--naive-sample", type=int, default=1000,
                        help="users the naive refresh is timed on, then scaled to all (0: all users)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        os.environ["INSTANCE_PATH"] = tmp
        emulator.install_aws_checks()
        started = time.perf_counter()
        named = seed.seed_demo(policy_text("force-mfa"), extra_users=0)
        seed.seed_population(args.users - len(named), args.enrolled, args.abandoned)
        vary_credentials(seed.backend())
        seeded = time.perf_counter() - started
        admin = next(u for u in named if u.name == "admin")
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        app = create_app({"DEMO_MODE": True, "ADMIN_USERS": ["admin"], "SQLALCHEMY_DATABASE_URI": url,
                          "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"})
        client = sign_in_with_mfa(app, admin)
        results = {"seed": seeded, **refresh(client)}
        results.update(naive(admin, args.naive_sample))
        results["renders"] = renders(client, args.renders)
        # Two more refreshes reach the steady state: the newest three snapshots are kept, older ones dropped.
        results["later_s"] = [refresh(client)["refresh_s"] for _ in range(2)]
        results["db"] = database_size(app, url)
        report(args, results)


def vary_credentials(iam, rng_seed: int = 2) -> None:
    """Give the seeded population what findings judge: key use, console passwords, second keys."""
    from datetime import timedelta

    from moto.core.utils import utcnow
    from moto.iam.models import AccessKeyLastUsed

    rng = random.Random(rng_seed)  # noqa: S311  # nosec B311 - reproducible, not secret
    now = utcnow()
    for user in iam.users.values():
        key = user.access_keys[0] if user.access_keys else None
        if key and rng.random() < 0.7:
            key.last_used = AccessKeyLastUsed(timestamp=now - timedelta(days=rng.uniform(0, 120)), service="s3",
                                              region="us-east-1")
        if rng.random() < 0.3:
            user.password = "bench-password"  # noqa: S105  # nosec B105 - the emulator's flag, never a real one
            if rng.random() < 0.7:
                user.password_last_used = now - timedelta(days=rng.uniform(0, 90))
        if key and rng.random() < 0.05:
            iam.create_access_key(user.name)


def sign_in_with_mfa(app, admin: seed.DemoUser):
    """Sign in as the seeded admin and type a current code, as a person would."""
    client = app.test_client()
    client.post("/login", data={"access_key_id": admin.access_key_id, "secret_access_key": admin.secret_access_key})
    page = client.get("/credentials").get_data(as_text=True)
    serial = re.search(r'name="device" value="([^"]+)"', page).group(1)
    answer = client.post("/credentials", data={"device": serial, "code": pyotp.TOTP(admin.mfa_seed).now(),
                                                "duration": "3600", "profile": "default"})
    if answer.status_code != 302:
        raise SystemExit(f"could not get MFA session credentials: {answer.status_code}")
    return client


def refresh(client) -> dict:
    """Press Refresh once; count calls as made and as AWS would page them."""
    seen: list[reporting.Report] = []
    own = [0.0]
    real = reporting.collect, reporting.build_rows, snapshots.save

    def collect(*a, **kw):
        seen.append(real[0](*a, **kw))
        return seen[-1]

    def timed(function):
        def run(*a, **kw):
            started = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                own[0] += time.perf_counter() - started
        return run

    # The view and collect() look these up on their modules at call time, so the wrappers see the real run.
    reporting.collect, reporting.build_rows, snapshots.save = collect, timed(real[1]), timed(real[2])
    try:
        # The test client runs the view in this thread, so watch_calls() sees exactly the refresh's calls.
        with aws.watch_calls() as records:
            started = time.perf_counter()
            answer = client.post("/admin/refresh")
            seconds = time.perf_counter() - started
    finally:
        reporting.collect, reporting.build_rows, snapshots.save = real
    calls = Counter(record[1] for record in records)
    if answer.status_code != 302:
        raise SystemExit(f"refresh failed: {answer.status_code}")
    fetched = seen[0].fetched
    listed = {op for op, _ in fetched}
    aws_pages = sum(max(1, math.ceil(items / 1000)) for _, items in fetched)
    aws_pages += sum(n for op, n in calls.items() if op not in listed)
    return {"calls": sum(calls.values()), "by_op": dict(calls), "aws_pages": aws_pages, "fetched": fetched,
            "refresh_s": seconds, "own_s": own[0], "rows": len(seen[0].rows)}


def naive(admin: seed.DemoUser, sample: int) -> dict:
    """Refresh the way per-user tools do: ListUsers, then ListMFADevices for every user (timed on a sample)."""
    iam = aws.client("iam", aws.Keys(admin.access_key_id, admin.secret_access_key), aws.Settings())
    users = list(aws.pages(iam, "ListUsers", "Users"))
    timed = users[:sample] if sample else users
    started = time.perf_counter()
    for user in timed:
        aws.call(iam, "ListMFADevices", UserName=user["UserName"])
    seconds = (time.perf_counter() - started) * len(users) / len(timed)
    return {"naive_calls": math.ceil(len(users) / 1000) + len(users), "naive_s": seconds,
            "naive_timed": len(timed)}


def renders(client, count: int) -> list[tuple[str, float, float, int]]:
    """Time filtered dashboard pages rendered from the snapshot: (view, p50 ms, p95 ms, bytes, CPU p50 ms).

    The CPU time (this thread's clock, SQLite runs in it too) is what the wall time would be on an idle
    machine; on a shared one the wall time also holds the waits for a core.
    """
    out = []
    for label, url in RENDERS:
        client.get(url)  # warm the template and the query plan
        times, cpu, size = [], [], 0
        for _ in range(count):
            started, started_cpu = time.perf_counter(), time.thread_time()
            answer = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            size = len(answer.data)
            if answer.status_code != 200:
                raise SystemExit(f"{url} answered {answer.status_code}")
        times.sort()
        out.append((label, statistics.median(times), times[int(len(times) * 0.95) - 1], size, statistics.median(cpu)))
    return out


def database_size(app, url: str) -> dict:
    """Return the database's size and the snapshot row counts."""
    from app.extensions import db
    from app.models import ReportFinding, ReportSnapshot, ReportUser

    with app.app_context():
        counts = {"snapshots": ReportSnapshot.query.count(), "rows": ReportUser.query.count(),
                  "findings": ReportFinding.query.count(), "totals": snapshots.finding_counts(snapshots.latest())}
        if url.startswith("sqlite"):
            db.session.execute(db.text("VACUUM"))
            counts["bytes"] = Path(db.engine.url.database).stat().st_size
        else:
            counts["bytes"] = db.session.execute(db.text(
                "SELECT pg_total_relation_size('report_user') + pg_total_relation_size('report_snapshot')"
                " + pg_total_relation_size('report_finding')")).scalar()
    return counts


def report(args, r: dict) -> None:
    """Print the results as one table."""
    ops = ", ".join(f"{op} {n}" for op, n in sorted(r["by_op"].items()))
    pages = ", ".join(f"{op} {items}" for op, items in r["fetched"])
    lines = [
        ("Users / enrolled / abandoned", f"{r['rows']} / {args.enrolled}+ / {args.abandoned}+ (seeded in "
                                         f"{r['seed']:.1f} s)"),
        ("Refresh: AWS calls (moto)", f"{r['calls']}  [{ops}]"),
        ("Refresh: AWS calls as AWS pages", f"{r['aws_pages']}  [items per list call: {pages}]"),
        ("Naive per-user refresh: calls", f"{r['naive_calls']}  ({r['naive_calls'] / r['aws_pages']:.0f}x more)"),
        ("Refresh wall time", f"{r['refresh_s']:.2f} s first, then {', '.join(f'{s:.2f}' for s in r['later_s'])} s; "
                              f"the portal's own join and store: {r['own_s']:.2f} s, the rest is moto"),
        ("Naive per-user refresh wall time", f"{r['naive_s']:.1f} s (timed on {r['naive_timed']} users, scaled; "
                                             "in-process moto: no network latency, no throttling)"),
    ]
    for label, p50, p95, size, cpu in r["renders"]:
        verdict = "ok" if p50 <= 50 else "OVER 50 ms TARGET"
        lines.append((f"Dashboard render p50: {label}",
                      f"{p50:.1f} ms (p95 {p95:.1f} ms; CPU p50 {cpu:.1f} ms; {size // 1024} KiB) {verdict}"))
    db = r["db"]
    lines.append(("Findings (users per control)", ", ".join(f"{c} {n}" for c, n in db["totals"].items())))
    lines.append(("Database size (3 snapshots' rows kept)", f"{db['bytes'] / 1e6:.2f} MB, {db['snapshots']} snapshots, "
                                                           f"{db['rows']} user rows, {db['findings']} finding rows"))
    width = max(len(k) for k, _ in lines)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nAdmin refresh benchmark ({args.users} users; load average {load} on {os.cpu_count()} CPUs)\n"
          + "-" * (width + 60))
    for key, value in lines:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
