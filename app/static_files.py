"""Static files under versioned URLs: a content hash in each URL, so browsers keep them for a year."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, request

# A year, the longest lifetime caches honour; "immutable" also spares the revalidation on reload.
VERSIONED_MAX_AGE = 31_536_000


def init_static_files(app: Flask) -> None:
    """Hash every static file once at start; url_for('static') adds the hash, matching requests are cached."""
    folder = Path(app.static_folder or "")
    versions = file_versions(folder)
    # The 169-byte icon goes inside every page: a fresh browser would otherwise spend a request on it.
    app.jinja_env.globals["favicon_href"] = icon_data_uri(folder / "favicon.svg")

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        """Add ?v=<content hash> to every static URL the templates build."""
        if endpoint == "static" and "v" not in values:
            version = versions.get(values.get("filename", ""))
            if version:
                values["v"] = version

    @app.after_request
    def cache_versioned(response: Response) -> Response:
        """Let browsers keep a file for a year when its URL names the current content; others revalidate."""
        if (request.endpoint == "static" and response.status_code == 200 and request.view_args
                and request.args.get("v") == versions.get(request.view_args.get("filename", ""))):
            response.cache_control.no_cache = None  # what Flask sets for files without a max age
            response.cache_control.public = True
            response.cache_control.max_age = VERSIONED_MAX_AGE
            response.cache_control.immutable = True
        return response


def file_versions(folder: Path) -> dict[str, str]:
    """Return a short content hash for each file under the folder, by its path relative to it."""
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in sorted(folder.rglob("*")) if path.is_file()}


def icon_data_uri(path: Path) -> str:
    """Return an SVG file as a data: URL (empty when the file is missing)."""
    if not path.is_file():
        return ""
    return "data:image/svg+xml," + quote(path.read_text(encoding="utf-8").strip(), safe=" :/=")
