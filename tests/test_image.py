"""The shipped Dockerfile, built with podman and run: it serves, in Japanese too, and two containers act as one."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from bench._util import ROOT, Browser, emulator, free_port
from conftest import _service_missing

pytestmark = pytest.mark.image

# Outside the clone, so a fresh checkout (CI) reuses the base image; the test still works with it empty.
CACHE = Path(os.environ.get("MFA_IMAGE_CACHE", "/var/tmp/mfa-portal-image-cache"))
# The registry that serves python:3.11-slim may be out of reach: the base is made from Debian's packages,
# from the mirror this machine's apt uses (/etc/apt/sources.list.d/debian.sources).
BASE_RECIPE = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": "python3,python3-venv,ca-certificates",
    "mirror": os.environ.get("MFA_IMAGE_DEBIAN_MIRROR", "http://deb.debian.org/debian"),
    "pruned": ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info"],
}
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
FLOW = ["sign_in", "device_created", "device_enabled", "credentials_issued", "enrollment_completed"]


def _podman_env() -> dict[str, str]:
    """podman's environment: the kernel here refuses podman's default ulimits, so none are set."""
    CACHE.mkdir(parents=True, exist_ok=True)
    conf = CACHE / "containers.conf"
    if not conf.exists():
        conf.write_text("[containers]\ndefault_ulimits = []\n")
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run podman with the runc runtime (crun refuses this kernel's hybrid cgroups) and return its result."""
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    result = subprocess.run(["podman", *runtime, *args], env=_podman_env(), capture_output=True, text=True,  # nosec
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} ... exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


@contextmanager
def _cache_lock() -> Iterator[None]:
    """One base and one image build at a time on this machine (xdist workers, other checkouts)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def debian_base() -> str:
    """Return the tag of a python3 base made by debootstrap, from podman's store, the cache's tarball, or anew."""
    key = hashlib.sha256(json.dumps(BASE_RECIPE, sort_keys=True).encode()).hexdigest()[:16]
    tag = f"localhost/mfa-portal-base:{key}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    tarball = CACHE / f"base-{key}.tar"
    if not tarball.exists():
        if shutil.which("debootstrap") is None or os.geteuid() != 0:
            _service_missing("making the image's base needs debootstrap, run as root")
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            root = Path(work) / "root"
            started = time.monotonic()
            subprocess.run(["debootstrap", f"--variant={BASE_RECIPE['variant']}",  # nosec B603 B607
                            f"--include={BASE_RECIPE['include']}", BASE_RECIPE["suite"], str(root),
                            BASE_RECIPE["mirror"]], check=True, capture_output=True, timeout=900)
            print(f"debootstrap: {time.monotonic() - started:.0f} s")
            for pruned in BASE_RECIPE["pruned"]:
                shutil.rmtree(root / pruned, ignore_errors=True)
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True, timeout=300)  # nosec
            partial.rename(tarball)  # whole or absent: an interrupted run leaves no half tarball behind
    podman("import", str(tarball), tag, timeout=300)
    return tag


def build_image() -> str:
    """Build the Dockerfile on the Debian base and return the image id."""
    iidfile = Path(tempfile.mkstemp(prefix="mfa-portal-iid-")[1])
    try:
        args = ["build", "--format", "docker",  # OCI images drop HEALTHCHECK
                "--network", "host", "--layers", "--build-arg", f"BASE={debian_base()}", "--iidfile", str(iidfile)]
        if CA_BUNDLE.exists():
            # pip inside the build trusts what the machine trusts (a TLS-inspecting proxy's CA included).
            args += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro", "--build-arg", f"PIP_CERT={CA_BUNDLE}"]
        started = time.monotonic()
        podman(*args, str(ROOT), timeout=1200)
        print(f"podman build: {time.monotonic() - started:.0f} s")
        return iidfile.read_text().strip()
    finally:
        iidfile.unlink()


def built_image() -> str:
    """Build the image from this checkout (podman's layer cache makes a rebuild of unchanged steps quick)."""
    if shutil.which("podman") is None:
        _service_missing("podman is not installed")
    info = podman("info", check=False)
    if info.returncode != 0:
        _service_missing(f"podman cannot run here: {info.stderr.strip()[-500:]}")
    with _cache_lock():
        return build_image()


@dataclass
class Container:
    """A running container of the image, on the host's network at its own port."""

    name: str
    url: str

    def logs(self) -> str:
        """Return what the container wrote, for failure messages."""
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def exec(self, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a command inside the container, as the image's user."""
        options = [arg for key, value in (env or {}).items() for arg in ("--env", f"{key}={value}")]
        return podman("exec", *options, self.name, *command, check=False)

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until /healthz answers; fail with the container's log if it stops or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            state = podman("inspect", "--format", "{{.State.Running}}", self.name, check=False).stdout.strip()
            if state != "true":
                raise AssertionError(f"container {self.name} stopped:\n{self.logs()}")
            time.sleep(0.3)
        raise AssertionError(f"container {self.name} not ready after {timeout:.0f} s:\n{self.logs()}")


@contextmanager
def running(image: str, env: dict[str, str]) -> Iterator[Container]:
    """Run the image with the host's network, listening on 127.0.0.1 only; always removed afterwards."""
    port = free_port()
    name = f"mfa-portal-test-{uuid.uuid4().hex[:10]}"
    env = {"HOST": "127.0.0.1", "PORT": str(port), "ALLOW_INSECURE_HTTP": "1", "WEB_CONCURRENCY": "1",
           "GUNICORN_THREADS": "4", **env}
    options = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    podman("run", "--detach", "--name", name, "--network", "host", *options, image)
    try:
        yield Container(name, f"http://127.0.0.1:{port}")
    finally:
        podman("rm", "--force", "--time", "5", name, check=False)


# One test, so under pytest-xdist one worker builds while the other runs the rest of the suite.
@pytest.mark.services
def test_image_builds_serves_and_scales_out(pg_url, redis_url, tmp_path):
    built = built_image()
    serves_in_japanese_as_an_unprivileged_user(built)
    two_containers_share_postgresql_and_redis(built, pg_url, redis_url, tmp_path)


def serves_in_japanese_as_an_unprivileged_user(image: str) -> None:
    """Alone, on SQLite: health, readiness, Japanese, the HEALTHCHECK, uid 10001, the instance folder, no pip."""
    with running(image, {"SECRET_KEY": secrets.token_hex(32)}) as box:
        box.wait_ready()
        assert requests.get(box.url + "/healthz", timeout=5).text == "ok"
        # SQLite and the session files in the instance folder: ready without PostgreSQL or Redis.
        assert requests.get(box.url + "/readyz", timeout=5).status_code == 200

        # The catalogs the image compiled itself (.dockerignore keeps local .mo files out of the build).
        japanese = requests.get(box.url + "/login", headers={"Accept-Language": "ja"}, timeout=5)
        english = requests.get(box.url + "/login", headers={"Accept-Language": "en"}, timeout=5)
        assert japanese.status_code == english.status_code == 200
        assert '<html lang="ja">' in japanese.text and "サインイン" in japanese.text
        assert '<html lang="en">' in english.text and "サインイン" not in english.text

        # The image's own HEALTHCHECK, as the engine would run it; and it does fail when nothing answers.
        test = json.loads(podman("image", "inspect", "--format", "{{json .HealthCheck.Test}}", image).stdout)
        assert test[0] == "CMD", test
        healthy = box.exec(*test[1:])
        assert healthy.returncode == 0, healthy.stderr
        assert box.exec(*test[1:], env={"PORT": str(free_port())}).returncode == 1

        # gunicorn is PID 1 (it receives the engine's SIGTERM); its children are the workers and the queue
        # consumer's supervisor, and every one of them runs as uid 10001.
        pid = podman("inspect", "--format", "{{.State.Pid}}", box.name).stdout.strip()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        commands = {process: Path(f"/proc/{process}/cmdline").read_text() for process in [pid, *children]}
        assert "gunicorn" in commands[pid]
        assert sum("gunicorn" in command for command in commands.values()) >= 2, commands  # the master and a worker
        assert sum("app.consumer" in command for command in commands.values()) == 1, commands
        for process in commands:
            status = Path(f"/proc/{process}/status").read_text()
            assert re.search(r"^Uid:\s+10001\s+10001\s+10001\s+10001$", status, re.M), status
        instance = box.exec("python", "-c", "import os; s = os.stat('/app/instance'); print(oct(s.st_mode), s.st_uid)")
        assert instance.stdout.split() == ["0o40700", "10001"], instance.stderr
        # No pip in what runs: the runtime stage got the finished virtualenv only.
        assert box.exec("python", "-m", "pip", "--version").returncode != 0


def two_containers_share_postgresql_and_redis(image: str, pg_url: str, redis_url: str, tmp_path: Path) -> None:
    """Two containers on one PostgreSQL and one Redis: signed in on one, the enrollment finished across both."""
    aws_port = free_port()
    shared = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": pg_url, "REDIS_URL": redis_url,
              "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}"}
    # Both masters upgrade the fresh database at once: the advisory lock makes one wait for the other.
    with emulator(tmp_path, port=aws_port, wait=False) as aws, running(image, shared) as a, running(image, shared) as b:
        aws.wait_ready()
        a.wait_ready()
        b.wait_ready()
        for box in (a, b):
            assert requests.get(box.url + "/readyz", timeout=5).status_code == 200, box.logs()
        user = aws.user("new.hire")
        browser = Browser(user, a.url)
        # A real sign-in (IAM and STS through the emulator) on A; then B, A, B, A: one session in Redis.
        result = browser.enroll_fully(instances=[a.url, b.url])
        assert result.status_code == 200, result.text[:2000] + a.logs() + b.logs()
        assert "aws_session_token" in result.text

    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as db:
        actions = [row[0] for row in db.execute(
            "SELECT action FROM audit_event WHERE outcome <> 'attempt' ORDER BY id")]
    assert actions == FLOW
