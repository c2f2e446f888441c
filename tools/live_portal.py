"""Run the real portal (gunicorn) against the AWS emulator, each in its own process, on free ports.

Used by the browser tests (tests/e2e) and by tools/screenshots.py:

    with live_portal() as portal:
        portal.url                    # http://127.0.0.1:PORT
        portal.users["new.hire"]      # {name, role, access_key_id, secret_access_key, mfa_seed, groups}

Nothing here is demo mode: the portal gets a random SECRET_KEY, its own instance folder,
SQLite, file sessions, rate limits on, and two gunicorn workers with the shipped
gunicorn.conf.py, as in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404  (only this project's own servers, with fixed arguments)
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_GROUP = "portal-admins"
START_TIMEOUT = 60.0  # seconds; both servers normally start in a few


class StartError(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


@dataclass
class LivePortal:
    """A running emulator and portal, and the seeded users who can sign in."""

    url: str
    endpoint_url: str
    users: dict[str, dict]
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def user(self, name: str) -> dict:
        """Return one seeded user by name."""
        return self.users[name]

    def first(self, role: str, skip: int = 0) -> dict:
        """Return a generated user (not one of the four named ones) with this role."""
        named = {"new.hire", "stale.device", "enrolled.user", "admin"}
        found = [u for u in self.users.values() if u["role"] == role and u["name"] not in named]
        return found[skip]

    def logs(self, limit: int = 4000) -> str:
        """Return the end of both servers' logs, for a failing test's report."""
        parts = []
        for name in ("emulator.log", "portal.log"):
            path = self.folder / name
            if path.exists():
                # The emulator's first line lists every seeded user's keys: long, and no help here.
                lines = [line for line in path.read_text(errors="replace").splitlines() if not line.startswith("{")]
                parts.append(f"--- {name} ---\n" + "\n".join(lines)[-limit:])
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop both servers (politely, then firmly) and delete their folder."""
        for process in reversed(self.processes):
            _stop(process)
        self.processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    """Send SIGTERM to the process group the server leads; SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that could reach real AWS or shared services."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "MFA_PORTAL_")) and k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    # The portal holds no AWS credentials of its own; these placeholders only keep boto3 from searching.
    env.update(PYTHONUNBUFFERED="1", AWS_ACCESS_KEY_ID="not-used", AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1")
    env["AWS_SECRET_ACCESS_KEY"] = "not-used"  # noqa: S105  # nosec B105
    env.update(extra)
    return env


def _spawn(args: list[str], log: Path, env: dict[str, str], **kwargs) -> subprocess.Popen:
    """Start a server in its own process group, its output going to a log file."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603  # nosec B603
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, **kwargs)


def _spawn_emulator(folder: Path, seed_users: int) -> subprocess.Popen:
    """Start `python -m app.demo.emulator --port 0`; it prints one JSON line once seeded."""
    args = [sys.executable, "-m", "app.demo.emulator", "--port", "0", "--seed-users", str(seed_users)]
    return _spawn(args, folder / "emulator.log", _clean_env())


def _emulator_line(process: subprocess.Popen, folder: Path) -> dict:
    """Wait for the emulator's JSON line: its endpoint and the seeded users."""
    log = folder / "emulator.log"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                return json.loads(line)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise StartError(f"the AWS emulator did not start:\n{log.read_text(errors='replace')[-4000:]}")


def _migrate(folder: Path, env: dict[str, str]) -> None:
    """Create the schema once, before several gunicorn workers start (as the README advises)."""
    log = folder / "portal.log"
    with log.open("ab") as out:
        done = subprocess.run(  # noqa: S603  # nosec B603
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, timeout=START_TIMEOUT, check=False)
    if done.returncode:
        raise StartError(f"the database migration failed:\n{log.read_text(errors='replace')[-4000:]}")


def _listening_socket() -> socket.socket:
    """Bind a free port on 127.0.0.1 and keep it bound, so no other process can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the sign-in page until the portal answers."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            # Our own server's http:// address, never a user-supplied URL.
            with urllib.request.urlopen(f"{url}/login", timeout=5) as answer:  # noqa: S310  # nosec B310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise StartError(f"the portal did not start:\n{log.read_text(errors='replace')[-4000:]}")


def start(seed_users: int = 20, workers: int = 2) -> LivePortal:
    """Start the emulator and the portal; the caller must call .stop() (or use live_portal())."""
    folder = Path(tempfile.mkdtemp(prefix="mfa-portal-live-"))
    portal = LivePortal(url="", endpoint_url="", users={}, folder=folder)
    try:
        emulator = _spawn_emulator(folder, seed_users)
        portal.processes.append(emulator)
        env = _clean_env(SECRET_KEY=secrets.token_hex(32), INSTANCE_PATH=str(folder / "instance"),
                         ADMIN_GROUPS=ADMIN_GROUP, ALLOW_INSECURE_HTTP="1", LOG_LEVEL="WARNING")
        _migrate(folder, env)  # while the emulator seeds its users
        seeded = _emulator_line(emulator, folder)
        portal.endpoint_url = env["AWS_ENDPOINT_URL"] = seeded["endpoint_url"]
        portal.users = {u["name"]: u for u in seeded["users"]}
        sock = _listening_socket()
        with sock:
            port = sock.getsockname()[1]
            portal.url = f"http://127.0.0.1:{port}"
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            # The shipped gunicorn.conf.py, with only the socket, the worker count and a quick stop overridden.
            config = ["-c", str(ROOT / "gunicorn.conf.py")] if (ROOT / "gunicorn.conf.py").exists() else []
            server = _spawn([gunicorn, *config, "--bind", f"fd://{sock.fileno()}", "--workers", str(workers),
                             "--graceful-timeout", "5", "--no-control-socket", "wsgi:app"],
                            folder / "portal.log", {**env, "AUTO_MIGRATE": "0"}, pass_fds=(sock.fileno(),))
            portal.processes.append(server)
        _wait_until_up(portal.url, server, folder / "portal.log")
    except BaseException:
        portal.stop()
        raise
    return portal


@contextlib.contextmanager
def live_portal(seed_users: int = 20, workers: int = 2) -> Iterator[LivePortal]:
    """Run the emulator and the portal for the duration of a with-block, and always stop them."""
    portal = start(seed_users, workers)
    try:
        yield portal
    finally:
        portal.stop()
