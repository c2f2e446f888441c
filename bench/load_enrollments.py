"""Fifty people enrolling at the same moment, each through the whole flow, against gunicorn and an AWS emulator.

Run: .venv/bin/python bench/load_enrollments.py [--users 50] [--redis-url redis://127.0.0.1:6379/15
                                                 --database-url postgresql://postgres@127.0.0.1:5432/test]

The emulator (python -m app.demo.emulator) runs as its own process on 127.0.0.1; the users are created in
it through the IAM API first. The portal runs under gunicorn.conf.py with its single-host defaults unless
--redis-url/--database-url are given (the Redis database is flushed; the PostgreSQL database gets the
portal's tables). Each person is a thread with its own requests.Session and, as behind a load balancer
(PROXY_HOPS=1), their own X-Forwarded-For address, so per-address sign-in limits apply as in real life.
Afterwards every user must own exactly one MFA device, their own, as ListMFADevices tells the emulator.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from pathlib import Path

import boto3
from _util import GUNICORN_CONF, Browser, emulator, free_port, gunicorn, percentile

ACCOUNT = "123456789012"
# The demo seed's group carrying the force-MFA policy.
MFA_GROUP = "mfa-required"


def create_users(endpoint_url: str, count: int) -> list[dict]:
    """Create IAM users under the force-MFA policy, each with an access key, through the emulator's API."""
    # Admin-side setup: the emulator accepts any credentials for it.
    iam = boto3.client("iam", endpoint_url=endpoint_url, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")  # noqa: S106
    users = []
    for i in range(count):
        name = f"load.user{i:03d}"
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName=MFA_GROUP, UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users.append({"name": name, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]})
    return users


def enroll_everyone(base_url: str, users: list[dict]) -> tuple[list[Browser], list[str], float]:
    """Run one thread per user, all released together; return the browsers, failures and wall time."""
    browsers = [Browser(user, base_url, headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250 + 1}"})
                for i, user in enumerate(users)]
    failures: list[str] = []
    start = threading.Barrier(len(users) + 1)

    def person(browser: Browser) -> None:
        start.wait()
        try:
            page = browser.enroll_fully()
            if page.status_code != 200 or "aws_session_token" not in page.text:
                failures.append(f"{browser.user['name']}: final page {page.status_code}")
        except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and carries on
            failures.append(f"{browser.user['name']}: {type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")

    threads = [threading.Thread(target=person, args=(b,), daemon=True) for b in browsers]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(300)
    return browsers, failures, time.perf_counter() - began


def check_devices(endpoint_url: str, users: list[dict]) -> list[str]:
    """Return a problem for every user who does not own exactly their own one device."""
    iam = boto3.client("iam", endpoint_url=endpoint_url, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")  # noqa: S106
    problems = []
    for user in users:
        serials = [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user["name"])["MFADevices"]]
        if serials != [f"arn:aws:iam::{ACCOUNT}:mfa/{user['name']}"]:
            problems.append(f"{user['name']} owns {serials}")
    return problems


def report(browsers: list[Browser], wall: float, users: int, mode: str) -> None:
    """Print p50/p95 per request type and for whole enrollments."""
    timings: dict[str, list[float]] = defaultdict(list)
    for browser in browsers:
        for label, values in browser.timings.items():
            timings[label].extend(values)
    flows = [sum(sum(v) for v in b.timings.values()) for b in browsers if b.timings]
    print(f"{users} concurrent enrollments, {mode}: all done in {wall:.1f} s")
    print(f"{'request':<30}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    order = ["GET /login", "POST /login", "GET /", "POST /enroll/start", "GET /enroll/scan", "POST /enroll/verify",
             "GET /credentials", "POST /credentials", "GET /credentials/result", "GET /credentials/download"]
    for label in sorted(timings, key=lambda x: order.index(x) if x in order else len(order)):
        values = timings[label]
        print(f"{label:<30}{len(values):>7}{percentile(values, 0.5) * 1000:>9.0f}"
              f"{percentile(values, 0.95) * 1000:>9.0f}{max(values) * 1000:>9.0f}")
    print(f"{'whole enrollment (sum)':<30}{len(flows):>7}{percentile(flows, 0.5) * 1000:>9.0f}"
          f"{percentile(flows, 0.95) * 1000:>9.0f}{max(flows) * 1000:>9.0f}")


def main() -> None:
    """Start the emulator and the portal, enroll everyone at once, check the devices, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", default=None, help="WEB_CONCURRENCY (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", default=None, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--redis-url", default=None, help="shared mode: sessions and rate limits in this Redis")
    parser.add_argument("--database-url", default=None, help="shared mode: audit log in this database")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-enroll-") as tmp:
        work = Path(tmp)
        aws_port = free_port()
        with emulator(work, port=aws_port) as aws:
            users = create_users(aws.endpoint_url, args.users)
            env = {"SECRET_KEY": "e" * 64, "INSTANCE_PATH": str(work / "instance"),
                   "AWS_ENDPOINT_URL": aws.endpoint_url, "ALLOW_INSECURE_HTTP": "1", "PROXY_HOPS": "1"}
            env.update({name: value for name, value in (("WEB_CONCURRENCY", args.workers),
                                                         ("GUNICORN_THREADS", args.threads)) if value})
            conf = runpy.run_path(str(GUNICORN_CONF))
            workers = env.get("WEB_CONCURRENCY") or conf["workers"]
            threads = env.get("GUNICORN_THREADS") or conf["threads"]
            mode = "single-host defaults (SQLite, session files, per-worker rate limits)"
            if args.redis_url or args.database_url:
                import redis  # only shared mode needs it

                if args.redis_url:
                    redis.Redis.from_url(args.redis_url).flushdb()
                    env["REDIS_URL"] = args.redis_url
                if args.database_url:
                    env["DATABASE_URL"] = args.database_url
                mode = f"shared ({'Redis' if args.redis_url else ''} {'PostgreSQL' if args.database_url else ''})"
            with gunicorn(env=env, log=work / "gunicorn.log") as portal:
                browsers, failures, wall = enroll_everyone(portal.url, users)
            problems = check_devices(aws.endpoint_url, users)

    report(browsers, wall, args.users, f"gunicorn {workers} workers x {threads} threads, {mode}")
    ok = args.users - len(failures)
    print(f"Succeeded: {ok}/{args.users}; users owning exactly their own device: {args.users - len(problems)}"
          f"/{args.users}")
    for line in (failures + problems)[:10]:
        print("  " + line)
    if failures or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
