"""Installed as the README says (no compiled catalogs), the portal still speaks the languages it announces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from app import catalogs
from bench._util import ROOT, Server, free_port, stop, wait_http
from conftest import make_test_app

JAPANESE_TITLE = "MFA を設定して AWS 認証情報を取得"


def clone(target: Path) -> Path:
    """Copy the files git tracks, as a fresh clone holds them: catalogs as .po only, never a .mo."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout  # noqa: S607
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    assert not list(target.glob("translations/*/LC_MESSAGES/*.mo"))
    return target


def read_in_japanese(url: str) -> tuple[str, str]:
    """GET a page as a browser set to Japanese: its Content-Language and its text."""
    request = urllib.request.Request(url, headers={"Accept-Language": "ja"})
    with urllib.request.urlopen(request, timeout=10) as page:  # noqa: S310  # nosec B310 (127.0.0.1 only)
        return page.headers["Content-Language"], page.read().decode()


@pytest.mark.parametrize("server", ["gunicorn", "flask run"])
def test_a_fresh_install_serves_japanese(tmp_path, server):
    tree = clone(tmp_path / "tree")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "COV"))}
    env.update(SECRET_KEY="s" * 64, INSTANCE_PATH=str(tmp_path / "instance"), HOST="127.0.0.1", PORT="0",
               WEB_CONCURRENCY="1", PYTHONPATH="")
    if server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    else:
        port = free_port()
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        if server == "gunicorn":
            running = Server(proc, log, 90)
            running.wait_ready()
            url = running.url
        else:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/healthz", 90, proc, log)
        language, text = read_in_japanese(url + "/login")
    finally:
        stop(proc)
    assert language == "ja"
    assert JAPANESE_TITLE in text and "Set up MFA and get AWS credentials" not in text
    # Compiled by the installed copy at start-up, next to its .po (the folder is writable here).
    assert (tree / "translations/ja/LC_MESSAGES/messages.mo").is_file()


def source_tree(tmp_path: Path) -> Path:
    """A translations folder holding the Japanese .po alone."""
    source = tmp_path / "translations"
    (source / "ja/LC_MESSAGES").mkdir(parents=True)
    shutil.copy2(ROOT / "translations/ja/LC_MESSAGES/messages.po", source / "ja/LC_MESSAGES/messages.po")
    return source


def test_a_read_only_install_compiles_into_the_instance_folder(moto, tmp_path, monkeypatch):
    source = source_tree(tmp_path)
    real = tempfile.mkstemp

    def read_only(*args, dir=None, **kwargs):  # noqa: A002
        if Path(dir).is_relative_to(source):
            raise PermissionError(30, "Read-only file system")  # what a read-only mount answers (root included)
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    app = make_test_app(tmp_path / "run", BABEL_TRANSLATION_DIRECTORIES=str(source))
    assert not (source / "ja/LC_MESSAGES/messages.mo").exists()
    assert (Path(app.instance_path) / "translations/ja/LC_MESSAGES/messages.mo").is_file()
    page = app.test_client().get("/login", headers={"Accept-Language": "ja"})
    assert page.headers["Content-Language"] == "ja" and JAPANESE_TITLE in page.get_data(as_text=True)


def test_a_stale_catalog_is_compiled_again(tmp_path):
    source = source_tree(tmp_path)
    po, mo = source / "ja/LC_MESSAGES/messages.po", source / "ja/LC_MESSAGES/messages.mo"
    catalogs.prepare(source, tmp_path / "instance", ["ja"])
    before = po.stat().st_mtime - 60
    os.utime(mo, (before, before))  # the .po changed after the .mo was built (an upgrade)
    assert catalogs.prepare(source, tmp_path / "instance", ["ja"]) == ([str(source)], ["ja"])
    assert mo.stat().st_mtime >= po.stat().st_mtime  # built again


def test_a_language_whose_catalog_cannot_be_had_is_not_announced(moto, tmp_path):
    source = tmp_path / "translations"
    (source / "ja/LC_MESSAGES").mkdir(parents=True)  # an install that lost the Japanese catalog
    app = make_test_app(tmp_path / "run", BABEL_TRANSLATION_DIRECTORIES=str(source))
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "ja"})
    assert page.headers["Content-Language"] == "en"
    assert "日本語" not in page.get_data(as_text=True)  # the switcher does not offer it
    client.set_cookie("lang", "ja")
    assert client.get("/login").headers["Content-Language"] == "en"
