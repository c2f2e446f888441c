"""Image build step: drop the data files the portal never reads from the virtualenv (60 of its 160 MB).

    /opt/venv/bin/python docker/slim_venv.py APP_DIR    # the venv's python: its site-packages are slimmed

- botocore/data: every AWS service's models and endpoint rules (28 MB). The portal calls only the services
  named in app/aws_data/endpoints.json (tools/aws_data.py writes it; tests/test_aws_clients.py keeps it
  current), so only their folders and botocore's top-level files stay.
- babel/locale-data: CLDR data for some 1,000 locales (32 MB). The portal speaks English and the languages
  under translations/, so only those (with their regional variants) and the root locale stay.

tests/test_image.py proves what is left is enough: it signs in through IAM and STS and serves both languages.
"""

from __future__ import annotations

import json
import shutil
import sys
import sysconfig
from pathlib import Path


def keep_aws_services(site: Path, app: Path) -> int:
    """Remove botocore's service folders that the portal does not call; return the bytes freed."""
    endpoints = json.loads((app / "app" / "aws_data" / "endpoints.json").read_text())
    services = {name for partition in endpoints["partitions"] for name in partition["services"]}
    assert {"iam", "sts"} <= services, services  # a broken endpoints.json must fail the build, not the portal
    data = site / "botocore" / "data"
    return _remove(path for path in data.iterdir() if path.is_dir() and path.name not in services)


def keep_languages(site: Path, app: Path) -> int:
    """Remove Babel's locale data for languages the portal has no catalog for; return the bytes freed."""
    languages = {"en", "root"} | {path.name for path in (app / "translations").iterdir() if path.is_dir()}
    assert "ja" in languages, languages
    return _remove(path for path in (site / "babel" / "locale-data").glob("*.dat")
                   if path.stem.split("_")[0] not in languages)


def _remove(paths) -> int:
    """Delete files and folders; return their total size."""
    freed = 0
    for path in paths:
        if path.is_dir():
            freed += sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
            shutil.rmtree(path)
        else:
            freed += path.stat().st_size
            path.unlink()
    return freed


if __name__ == "__main__":
    site_packages, app_dir = Path(sysconfig.get_paths()["purelib"]), Path(sys.argv[1])
    for step in (keep_aws_services, keep_languages):
        print(f"{step.__name__}: {step(site_packages, app_dir) / 1e6:.1f} MB freed")
