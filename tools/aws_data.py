"""Write app/aws_data/endpoints.json: botocore's endpoint data cut down to the services the portal calls.

    .venv/bin/python -m tools.aws_data        # after upgrading botocore; tests/test_aws_clients.py checks it

botocore's own endpoints.json lists every AWS service (1.2 MB on disk, about 7 MB once parsed), and every
process that makes a client parses and keeps all of it. The portal calls IAM and STS (and Security Hub
for the admin area's findings), so its copy keeps every partition's metadata and only those services.
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.loaders import Loader

SERVICES = ("iam", "sts", "securityhub")
TARGET = Path(__file__).resolve().parent.parent / "app" / "aws_data" / "endpoints.json"


def trimmed() -> dict:
    """Return the installed botocore's endpoint data with only the portal's services in each partition."""
    data = Loader().load_data("endpoints")
    return {**data, "partitions": [{**partition, "services": {name: partition["services"][name] for name in SERVICES
                                                              if name in partition["services"]}}
                                   for partition in data["partitions"]]}


def render() -> str:
    """Return the file's text: stable key order, so a regeneration shows only real changes."""
    return json.dumps(trimmed(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")
