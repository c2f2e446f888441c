"""Message catalogs at start-up: compile a missing or stale .mo from its .po, and tell which languages can be served."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import Translations

log = logging.getLogger(__name__)

_DOMAIN = Path("LC_MESSAGES") / "messages"


def prepare(source: Path, fallback: Path, languages: Iterable[str]) -> tuple[list[str], list[str]]:
    """Return the folders Flask-Babel should read (later ones win) and the languages they can serve.

    `pip install -r requirements.txt` installs no compiled catalogs (they are build output, never
    committed): without this, pages would be English under `Content-Language: ja`. A catalog is compiled
    next to its .po when that folder is writable, else into `fallback` (the instance folder), as
    `pybabel compile` does: fuzzy entries left out. A language whose catalog cannot be had is not offered.
    """
    folders, served = [str(source)], []
    for language in languages:
        po = source / language / _DOMAIN.with_suffix(".po")
        ready = _ready(po, source / language / _DOMAIN.with_suffix(".mo"))
        if ready is None:
            ready = _ready(po, fallback / language / _DOMAIN.with_suffix(".mo"))
        if ready is None:
            ready = _compile(po, [source, fallback], language)
        if ready is None:
            log.warning("language %s is not offered: its catalog %s could not be compiled", language, po)
            continue
        served.append(language)
        if ready.is_relative_to(fallback) and str(fallback) not in folders:
            folders.append(str(fallback))
    return folders, served


def _ready(po: Path, mo: Path) -> Path | None:
    """Return mo if it is there, no older than its .po (when there is one), and readable as a catalog."""
    try:
        if po.exists() and mo.stat().st_mtime < po.stat().st_mtime:
            return None
        with open(mo, "rb") as file:
            Translations(file)
    except (OSError, ValueError):
        return None
    return mo


def _compile(po: Path, roots: list[Path], language: str) -> Path | None:
    """Compile po into the first of roots that takes the file; return where it went, or None."""
    try:
        with open(po, "rb") as file:
            catalog = read_po(file, locale=language, abort_invalid=True)
    except (OSError, ValueError, PoFileError) as err:
        log.warning("cannot read the catalog %s: %s", po, err)
        return None
    for root in roots:
        target = root / language / _DOMAIN.with_suffix(".mo")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file and a rename: workers starting together never read half a catalog.
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".messages-", suffix=".mo")
            try:
                with os.fdopen(handle, "wb") as out:
                    write_mo(out, catalog, use_fuzzy=False)
                os.chmod(temporary, 0o644)
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            continue  # a read-only install: try the next folder
        log.info("compiled the %s catalog into %s", language, target)
        return target
    return None
