"""Configuration: from the environment, with no production default for the secret."""

import pytest

from app import create_app
from app.config import from_environment
from app.setup import ConfigurationError


def test_start_up_stops_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("MFA_PORTAL_DEMO", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        create_app()


def test_secret_key_from_the_environment_serves_the_real_portal(monkeypatch, moto):
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    app = create_app()
    assert not app.config["DEMO_MODE"] and not app.testing
    page = app.test_client().get("/login", base_url="http://localhost")
    assert page.status_code == 200
    assert "Sign in" in page.get_data(as_text=True)


def test_demo_mode_gets_a_random_key_per_process(monkeypatch, moto):
    monkeypatch.setenv("MFA_PORTAL_DEMO", "1")
    first, second = create_app(), create_app()
    assert len(first.config["SECRET_KEY"]) == 64 and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]


def test_aws_settings_use_the_standard_variable_names(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    config = from_environment()
    assert (config["AWS_REGION"], config["AWS_ENDPOINT_URL"]) == ("eu-west-1", "http://127.0.0.1:4566")


@pytest.mark.parametrize("given, expected", [
    ("postgres://u@127.0.0.1/db", "postgresql+psycopg://u@127.0.0.1/db"),
    ("postgresql://u@127.0.0.1/db", "postgresql+psycopg://u@127.0.0.1/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_url_selects_the_psycopg3_driver(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    assert from_environment()["SQLALCHEMY_DATABASE_URI"] == expected


def test_admins_and_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("ADMIN_USERS", "alice, bob,,")
    monkeypatch.setenv("ADMIN_GROUPS", "ops")
    config = from_environment()
    assert config["ADMIN_USERS"] == ["alice", "bob"] and config["ADMIN_GROUPS"] == ["ops"]


def test_policy_show_prints_the_shipped_document(moto, tmp_path):
    import json

    from conftest import make_test_app

    result = make_test_app(tmp_path).test_cli_runner().invoke(args=["policy", "show", "force-mfa"])
    document = json.loads(result.output)
    assert document["Statement"][-1]["Sid"] == "BlockMostAccessUnlessSignedInWithMFA"


# Runs in a child interpreter where the demo-only packages cannot be imported, as in the production image.
_WITHOUT_DEMO_PACKAGES = """
import sys
class NoDemoPackages:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"moto", "pyotp"}:
            raise ImportError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoDemoPackages())
"""


def test_the_portal_runs_without_the_demo_packages(tmp_path):
    import subprocess
    import sys

    serve = _WITHOUT_DEMO_PACKAGES + """
from wsgi import app
client = app.test_client()
assert client.get("/healthz").status_code == 200
assert b"Secret access key" in client.get("/login", base_url="http://localhost").data
assert not {"moto", "pyotp"} & {name.split(".")[0] for name in sys.modules}
print("served")
"""
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "k" * 64, "INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", serve], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "served", done.stderr
    demo = _WITHOUT_DEMO_PACKAGES + "import runpy; runpy.run_module('app.demo', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", demo], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pip install -r requirements-demo.txt" in done.stderr and "Traceback" not in done.stderr


def test_the_production_requirements_leave_the_emulator_out():
    from pathlib import Path

    runtime = Path("requirements.txt").read_text().lower()
    assert "moto" not in runtime and "pyotp" not in runtime
    # Each lock is whole (the demo's holds the runtime's pins too): the layers are in the .in sources.
    assert "-r requirements.in" in Path("requirements-demo.in").read_text()
    assert "-r requirements-demo.in" in Path("requirements-dev.in").read_text()
    assert "requirements.txt" in Path("Dockerfile").read_text() and "requirements-demo" not in Path(
        "Dockerfile").read_text()


def test_a_bad_value_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AWS_READ_TIMEOUT", "five")
    with pytest.raises(ConfigurationError, match='"AWS_READ_TIMEOUT" invalid'):
        from_environment()
    monkeypatch.setenv("AWS_READ_TIMEOUT", "5")
    monkeypatch.setenv("AUTO_MIGRATE", "maybe")
    with pytest.raises(ConfigurationError, match='"AUTO_MIGRATE" invalid'):
        create_app()


@pytest.mark.parametrize("name, key, default", [
    ("AWS_READ_TIMEOUT", "AWS_READ_TIMEOUT", 5),
    ("AUTO_MIGRATE", "AUTO_MIGRATE", True),
    ("MFA_DEVICE_NAME_PATTERN", "MFA_DEVICE_NAME_PATTERN", "{username}"),
    ("REDIS_URL", "REDIS_URL", None),
])
def test_an_empty_variable_means_its_default(monkeypatch, name, key, default):
    monkeypatch.setenv(name, "")
    assert from_environment()[key] == default


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("on", True), ("TRUE", True),
                                             ("0", False), ("no", False), ("off", False)])
def test_flags_read_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("ALLOW_INSECURE_HTTP", value)
    assert from_environment()["ALLOW_INSECURE_HTTP"] is expected


def test_no_environment_variable_turns_the_rate_limits_off(monkeypatch, moto, tmp_path):
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")  # once an undocumented switch; the limits fail closed
    assert "RATELIMIT_ENABLED" not in from_environment()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["RATELIMIT_ENABLED"] is True
    assert create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "t"),
                       "RATELIMIT_ENABLED": False}).config["RATELIMIT_ENABLED"] is False  # tests' override


def test_the_instance_folder_comes_from_the_settings(monkeypatch, moto, tmp_path):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "elsewhere"))
    assert create_app({"TESTING": True}).instance_path == str(tmp_path / "elsewhere")
    assert create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "given")}).instance_path == str(
        tmp_path / "given")


def test_gunicorn_reads_the_environment_through_the_same_module(monkeypatch):
    import runpy

    monkeypatch.setenv("WEB_CONCURRENCY", "")
    monkeypatch.setenv("PORT", "9001")
    conf = runpy.run_path("gunicorn.conf.py")
    assert (conf["workers"], conf["bind"]) == (2, "127.0.0.1:9001")
    monkeypatch.setenv("GUNICORN_THREADS", "eight")
    with pytest.raises(ConfigurationError, match='"GUNICORN_THREADS" invalid'):
        runpy.run_path("gunicorn.conf.py")


def test_dependency_timeouts_reach_the_database_and_redis_clients(monkeypatch, moto, tmp_path):
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "4.5")
    monkeypatch.setenv("REDIS_TIMEOUT", "0.5")
    from app.backends import engine_options

    settings = from_environment()
    postgres = engine_options({**settings, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1/db"})
    assert postgres["pool_pre_ping"] and postgres["pool_timeout"] == 2
    assert postgres["connect_args"]["connect_timeout"] == 3
    assert postgres["connect_args"]["options"] == "-c statement_timeout=4500"
    sqlite = engine_options({**settings, "SQLALCHEMY_DATABASE_URI": "sqlite:////tmp/x.db"})
    assert sqlite["connect_args"] == {"timeout": 4.5}
    app = create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:6379/0"})
    pool = app.config["SESSION_STORE"].redis.connection_pool.connection_kwargs
    assert (pool["socket_timeout"], pool["socket_connect_timeout"]) == (0.5, 1)
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 0.5
