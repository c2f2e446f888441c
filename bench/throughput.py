"""Sign-in page throughput against a bare Flask page under the same gunicorn settings, and RSS per worker.

Run: .venv/bin/python bench/throughput.py [--duration 10] [--connections 16] [--tool wrk|python]

Both apps run under gunicorn.conf.py with the same WEB_CONCURRENCY and GUNICORN_THREADS, side by side on
127.0.0.1, measured in alternating rounds. The portal runs with its single-host defaults (SQLite, session files).
GET /login is measured twice: as a first visit (no cookie, so every request creates a session for its
CSRF token) and as a returning browser (one session cookie, re-saved by each request). Goals: sign-in
page >= 70 % of the bare page's requests per second; <= 80 MB resident per worker.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _util import GUNICORN_CONF, cpu_seconds, gunicorn, percentile, pss_mb, rss_mb

LOAD_BEFORE = " ".join(f"{x:.1f}" for x in os.getloadavg())
RATIO_GOAL = 0.70
RSS_GOAL_MB = 80


def run_wrk(url: str, duration: float, connections: int, cookie: str | None) -> dict:
    """Load url with wrk and return requests/s, latency percentiles and failures."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout", "10s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 60, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%"),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "failed": (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)}


def run_python(url: str, duration: float, connections: int, cookie: str | None) -> dict:
    """Load url from threads, each with one keep-alive connection, until the time is up."""
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, bad = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                bad += response.status != 200
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 30)
    elapsed = time.monotonic() - started
    return {"rps": len(latencies) / elapsed, "p50": percentile(latencies, 0.5) * 1000,
            "p99": percentile(latencies, 0.99) * 1000, "requests": len(latencies), "failed": failed[0]}


def measure(load, server, url: str, args, cookie: str | None = None) -> dict:
    """Warm up, then measure one URL: throughput, latency, and the workers' CPU time per request.

    CPU per request is the steadier figure on a shared machine: other load slows the requests down
    but hardly changes how much work each one takes.
    """
    load(url, min(2, args.duration), args.connections, cookie)
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    row = load(url, args.duration, args.connections, cookie)
    row["cpu_us"] = (cpu_seconds(pids) - before) / max(row.pop("requests"), 1) * 1e6
    return row


def session_cookie(base: str) -> str:
    """Open the sign-in page twice, keeping cookies as a browser does, and return the session cookie.

    The second visit matters: Flask-Login marks the anonymous session not fresh once, and a browser
    keeps that updated cookie; replaying the first one would make every request re-sign it.
    """
    with requests.Session() as browser:
        for _ in range(2):
            browser.get(base + "/login", timeout=10).raise_for_status()
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def worker_memory(server) -> list[tuple[float, float]]:
    """Return (RSS, PSS) in MB of each gunicorn worker."""
    return [(rss_mb(pid), pss_mb(pid)) for pid in server.worker_pids()]


def memory_line(label: str, idle: list[tuple[float, float]], loaded: list[tuple[float, float]]) -> str:
    """Describe worker memory before and after load."""
    def show(rows: list[tuple[float, float]]) -> str:
        return ", ".join(f"{rss:.0f} ({pss:.0f})" for rss, pss in rows)
    return f"Worker RSS (PSS) in MB, {label}: idle {show(idle)}; after load {show(loaded)}"


def median_row(rows: list[dict]) -> dict:
    """Combine rounds: the median of each figure, the sum of failures."""
    return {key: (sum(r[key] for r in rows) if key == "failed" else statistics.median(r[key] for r in rows))
            for key in rows[0]}


def main() -> None:
    """Measure both apps in alternating rounds and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default=None, help="WEB_CONCURRENCY (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", default=None, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--tool", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args()
    load = run_wrk if args.tool == "wrk" else run_python
    settings = {name: value for name, value in (("WEB_CONCURRENCY", args.workers),
                                                 ("GUNICORN_THREADS", args.threads)) if value}
    os.environ.update(settings)
    conf = runpy.run_path(str(GUNICORN_CONF))  # what gunicorn will make of this environment

    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        work = Path(tmp)
        # GET /login calls no AWS API; the endpoint is a closed local port so nothing could leave the machine.
        portal_env = {**settings, "SECRET_KEY": "b" * 64, "INSTANCE_PATH": str(work / "instance"),
                      "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "ALLOW_INSECURE_HTTP": "1"}
        bench_dir = str(Path(__file__).parent)
        # Both run at once (idle workers cost nothing) and take turns, so a change in the machine's other
        # load between measurements hits every page alike.
        with gunicorn("wsgi:app", portal_env, log=work / "portal.log") as portal, \
             gunicorn("bare_app:app", settings, log=work / "bare.log", args=["--chdir", bench_dir]) as bare:
            idle_portal, idle_bare = worker_memory(portal), worker_memory(bare)
            cookie = session_cookie(portal.url)
            pages = {"bare Flask page": (bare, "/", None),
                     "portal GET /healthz (hooks only)": (portal, "/healthz", None),
                     "GET /login, first visit": (portal, "/login", None),
                     "GET /login, returning browser": (portal, "/login", cookie)}
            rounds: dict[str, list[dict]] = {label: [] for label in pages}
            for _ in range(args.rounds):
                for label, (server, path, with_cookie) in pages.items():
                    rounds[label].append(measure(load, server, server.url + path, args, with_cookie))
            loaded_portal, loaded_bare = worker_memory(portal), worker_memory(bare)

    rows = {label: median_row(results) for label, results in rounds.items()}
    ceiling = rows["bare Flask page"]
    print(f"gunicorn: {conf['workers']} workers x {conf['threads']} threads ({conf['worker_class']}); "
          f"load: {args.tool}, {args.connections} keep-alive connections; medians of {args.rounds} rounds "
          f"of {args.duration:.0f} s; 127.0.0.1; load average before: {LOAD_BEFORE}")
    print(f"{'page':<36}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}{'vs bare':>9}"
          f"{'CPU us/req':>12}{'bare/this':>11}")
    for label, row in rows.items():
        print(f"{label:<36}{row['rps']:>9.0f}{row['p50']:>9.1f}{row['p99']:>9.1f}{row['failed']:>8.0f}"
              f"{row['rps'] / ceiling['rps']:>9.0%}{row['cpu_us']:>12.0f}{ceiling['cpu_us'] / row['cpu_us']:>11.0%}")
    print("(bare/this: the bare page's worker CPU per request over this page's; the throughput ratio a quiet "
          "machine would show, as far as the load generator leaves the workers the CPU)")
    print(memory_line("portal", idle_portal, loaded_portal))
    print(memory_line("bare", idle_bare, loaded_bare))
    ratio = min(rows["GET /login, first visit"]["rps"], rows["GET /login, returning browser"]["rps"]) / ceiling["rps"]
    worst_rss = max(rss for rss, _ in loaded_portal)
    print(f"Goal sign-in >= {RATIO_GOAL:.0%} of bare: {'met' if ratio >= RATIO_GOAL else 'NOT met'} ({ratio:.0%}); "
          f"goal <= {RSS_GOAL_MB} MB per worker: {'met' if worst_rss <= RSS_GOAL_MB else 'NOT met'} "
          f"({worst_rss:.0f} MB RSS)")
    if any(row["failed"] for row in rows.values()):
        sys.exit("some requests failed; the figures above are not trustworthy")


if __name__ == "__main__":
    main()
