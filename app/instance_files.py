"""Files the portal keeps on disk (SQLite, sessions, rate limits, spools): owner-only, 0600 in 0700 folders."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's side files take the database file's mode when SQLite creates them; an existing one may not.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: str | os.PathLike) -> Path:
    """Create a folder readable by this user only (missing parents as the umask says), or tighten it."""
    folder = Path(path)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode is cut by the umask and leaves an existing folder alone: set it outright.
    os.chmod(folder, DIR_MODE)
    return folder


def private_file(path: str | os.PathLike) -> Path:
    """Create an empty file readable by this user only, or tighten an existing one; its folder too."""
    file = Path(path)
    private_dir(file.parent)
    # O_CREAT with 0600 from the start: no moment where the file exists with wider permissions.
    os.close(os.open(file, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    os.chmod(file, FILE_MODE)
    return file


def private_sqlite(path: str | os.PathLike) -> Path:
    """Prepare a SQLite database file 0600, and tighten any journal or WAL files left beside it."""
    file = private_file(path)
    for suffix in _SQLITE_SIDE_FILES:
        side = file.with_name(file.name + suffix)
        if side.exists():
            os.chmod(side, FILE_MODE)
    return file


def sqlite_path(uri: str) -> str | None:
    """The file behind a SQLAlchemy SQLite URI, or None for another database or an in-memory one."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database
