"""Shared by benchmarks and process-level tests: ports, gunicorn and emulator processes, a scripted browser."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_MANUAL_KEY = re.compile(r'<code id="manual-key">([A-Z2-7 ]+)</code>')
_DEVICE = re.compile(r'name="device" value="([^"]+)"')


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    """Return the end of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _start(command: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a process in its own process group, output to a file (a pipe could fill and stall it)."""
    with open(log, "wb") as out:
        return subprocess.Popen(list(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,  # nosec B603
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started by _start, then anything left in its group: TERM first, KILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()  # to the leader only: gunicorn's master then stops its workers in order
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Workers of a master that died first (or never stopped) would otherwise be left behind.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout)


def _wait_for(predicate, proc: subprocess.Popen, log: Path, what: str, timeout: float):
    """Poll until predicate() returns something truthy; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s\n{_tail(log)}")


@dataclass
class Server:
    """A running gunicorn: its master process and combined log; the port is read from the log."""

    proc: subprocess.Popen
    log: Path
    timeout: float = 60
    _url: str = ""

    @property
    def url(self) -> str:
        """Return the base URL, waiting until gunicorn has bound its port (after any migration)."""
        if not self._url:
            found = _wait_for(lambda: _LISTENING.search(self.log.read_text(errors="replace")), self.proc, self.log,
                              "gunicorn bind", self.timeout)
            self._url = f"http://127.0.0.1:{found.group(1)}"
        return self._url

    def wait_ready(self, path: str = "/healthz") -> None:
        """Wait until a worker answers path with 200."""
        wait_http(self.url + path, self.timeout, self.proc, self.log)

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's current worker processes."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        # The master's other child is the queue consumer's supervisor (gunicorn.conf.py), not a worker.
        return [int(pid) for pid in text.split() if not is_queue_consumer(int(pid))]

    def served_by(self) -> list[int]:
        """Return the worker pid of each access-log line so far, in order (the config logs pid=<N>)."""
        return [int(pid) for pid in re.findall(r" pid=<(\d+)> ", self.log.read_text(errors="replace"))]


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB (VmRSS in /proc/<pid>/status; shared pages count in full)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def cpu_seconds(pids: Sequence[int]) -> float:
    """Return the CPU time (user + system) these processes have used so far, from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """Return one process's CPU time (all threads, user + system) to the nanosecond, via its CPU-time clock.

    /proc/<pid>/stat counts in clock ticks (10 ms here), too coarse for a step of a few milliseconds;
    clock_getcpuclockid(3) gives the kernel's exact figure for another process of the same user.
    """
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    clock = ctypes.c_int()
    if libc.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return cpu_seconds([pid])
    return time.clock_gettime(clock.value)


def pss_mb(pid: int) -> float:
    """Return a process's proportional set size in MB: pages shared with N processes count 1/N."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no Pss for pid {pid}")


def wait_http(url: str, timeout: float = 30, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Wait until a GET of url answers 200."""

    def ok() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    if proc is None or log is None:
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")
            time.sleep(0.1)
        return
    _wait_for(ok, proc, log, url, timeout)


@contextmanager
def gunicorn(app: str = "wsgi:app", env: dict[str, str] | None = None, *, log: Path, args: Sequence[str] = (),
             command: Sequence[str] | None = None, ready_path: str | None = "/healthz",
             timeout: float = 60) -> Iterator[Server]:
    """Run gunicorn with the project's config on a free port of 127.0.0.1; always stop it afterwards.

    With ready_path None it returns at once: call wait_ready() later, so that several boot in parallel.
    """
    # PORT=0: the kernel picks the port at bind time, so parallel tests cannot collide; the log tells it.
    full_env = {**os.environ, **(env or {}), "HOST": "127.0.0.1", "PORT": "0"}
    full_env.pop("BIND", None)
    full_env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{full_env.get('PATH', '')}"
    argv = list(command) if command else [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONF), *args, app]
    proc = _start(argv, full_env, log)
    try:
        server = Server(proc, log, timeout)
        if ready_path:
            server.wait_ready(ready_path)
        yield server
    finally:
        stop(proc)


def is_queue_consumer(pid: int) -> bool:
    """Whether a process runs `python -m app.consumer` (gone already counts as not)."""
    try:
        return b"app.consumer" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Emulator:
    """A running AWS emulator process: its endpoint and the users it was seeded with."""

    proc: subprocess.Popen
    out: Path
    endpoint_url: str
    timeout: float
    users: list[dict] = field(default_factory=list)

    def wait_ready(self) -> None:
        """Wait for the JSON line the emulator prints once it serves, and read it."""

        def first_line() -> str | None:
            text = self.out.read_text(errors="replace")
            line = next((x for x in text.splitlines(keepends=True) if x.startswith("{")), "")
            return line if line.endswith("\n") else None

        info = json.loads(_wait_for(first_line, self.proc, self.out, "emulator", self.timeout))
        self.endpoint_url, self.users = info["endpoint_url"], info["users"]

    def user(self, name: str) -> dict:
        """Return a seeded user's record by name."""
        return next(u for u in self.users if u["name"] == name)


@contextmanager
def emulator(log_dir: Path, seed_users: int = 0, port: int = 0, wait: bool = True,
             timeout: float = 60) -> Iterator[Emulator]:
    """Run `python -m app.demo.emulator` on 127.0.0.1; always stop it afterwards.

    Give a port (free_port()) and wait=False to start other processes against it while it boots.
    """
    out = log_dir / f"emulator-{port}.out"
    proc = _start([PYTHON, "-m", "app.demo.emulator", "--port", str(port), "--seed-users", str(seed_users)],
                  {**os.environ}, out)
    try:
        aws = Emulator(proc, out, f"http://127.0.0.1:{port}" if port else "", timeout)
        if wait:
            aws.wait_ready()
        yield aws
    finally:
        stop(proc)


def totp(seed: str, offset: int = 0) -> str:
    """The code an authenticator app shows `offset` 30-second steps from now."""
    return pyotp.TOTP(seed).at(time.time() + 30 * offset)


@dataclass
class Browser:
    """Walks the portal over HTTP like a person, against one or several instances, timing each request."""

    user: dict
    base: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 60
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    seed: str | None = None
    last: requests.Response | None = None

    def __post_init__(self) -> None:
        """Open the cookie jar every instance shares (cookies ignore ports)."""
        self.http = requests.Session()
        self.http.headers.update(self.headers)

    def request(self, method: str, path: str, on: str | None = None, data: dict | None = None) -> requests.Response:
        """Send one request, follow redirects one by one (each timed under its own label)."""
        base = on or self.base
        while True:
            started = time.perf_counter()
            response = self.http.request(method, base + path, data=data, allow_redirects=False, timeout=self.timeout)
            self.timings[f"{method} {path.split('?')[0]}"].append(time.perf_counter() - started)
            if response.status_code not in (301, 302, 303) or not response.headers.get("Location"):
                self.last = response
                return response
            target = urlsplit(response.headers["Location"])  # Werkzeug sends relative paths
            path, method, data = target.path + (f"?{target.query}" if target.query else ""), "GET", None

    def csrf(self, on: str | None = None) -> str:
        """Return the CSRF token from the last page, fetching the home page if it had none."""
        match = _CSRF.search(self.last.text) if self.last is not None else None
        if match is None:
            match = _CSRF.search(self.request("GET", "/", on).text)
        if match is None:
            raise AssertionError(f"no csrf_token on the page: {self.last.status_code} {self.last.text[:500]}")
        return match.group(1)

    def sign_in(self, on: str | None = None, secret: str | None = None) -> requests.Response:
        """Open the sign-in page and submit the key pair."""
        self.request("GET", "/login", on)
        return self.request("POST", "/login", on, {
            "csrf_token": self.csrf(on), "access_key_id": self.user["access_key_id"],
            "secret_access_key": secret or self.user["secret_access_key"]})

    def start_enrollment(self, on: str | None = None) -> requests.Response:
        """Create the device from the home page and read the manual key from the scan page."""
        self.request("GET", "/", on)
        page = self.request("POST", "/enroll/start", on, {"csrf_token": self.csrf(on)})
        match = _MANUAL_KEY.search(page.text)
        if match is None:
            raise AssertionError(f"no manual key: {page.status_code} {page.text[:1000]}")
        self.seed = match.group(1).replace(" ", "")
        return page

    def verify(self, on: str | None = None) -> requests.Response:
        """Type the previous and the current code."""
        return self.request("POST", "/enroll/verify", on, {
            "csrf_token": self.csrf(on), "code1": totp(self.seed, -1), "code2": totp(self.seed, 0)})

    def get_credentials(self, on: str | None = None) -> requests.Response:
        """Type one new code on the credentials page and land on the result page."""
        page = self.request("GET", "/credentials", on)
        match = _DEVICE.search(page.text)
        if match is None:
            raise AssertionError(f"no device on the credentials page: {page.status_code} {page.text[:1000]}")
        return self.request("POST", "/credentials", on, {
            "csrf_token": self.csrf(on), "device": match.group(1), "code": totp(self.seed, 1),
            "duration": "3600", "profile": "default"})

    def enroll_fully(self, instances: Sequence[str] | None = None,
                     after_step: Callable[[], None] | None = None) -> requests.Response:
        """Sign in, start, verify, get credentials, download: step i goes to instances[i % len]."""
        bases = list(instances or [self.base])
        steps = (self.sign_in, self.start_enrollment, self.verify, self.get_credentials)
        for i, step in enumerate(steps):
            step(bases[i % len(bases)])
            if after_step:
                after_step()
        return self.request("GET", "/credentials/download", bases[len(steps) % len(bases)])

    @property
    def sent(self) -> int:
        """Return how many HTTP requests this browser has sent."""
        return sum(len(times) for times in self.timings.values())


def percentile(values: Sequence[float], share: float) -> float:
    """Return the nearest-rank percentile (share in 0..1) of values."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]
