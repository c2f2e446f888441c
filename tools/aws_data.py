"""Write app/aws_data/: botocore's data cut down to what the portal calls, for botocore to read first.

    .venv/bin/python -m tools.aws_data        # after upgrading botocore or calling a new IAM operation;
                                              # tests/test_aws_clients.py says when

- endpoints.json: botocore's own lists every AWS service (1.2 MB on disk, about 7 MB once parsed in every
  process that makes a client). The portal calls IAM and STS only (the admin area judges the Security Hub
  controls itself), so its copy keeps every partition's metadata and only those services.
- iam/ and sts/<version>/service-2.json: the models (IAM's is 2.3 MB parsed, most of it documentation of
  some 170 operations) with only the operations named in app/ and the shapes they use, undocumented.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

SERVICES = ("iam", "sts")  # the services the portal makes clients for
ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
DATA = APP / "aws_data"
TARGET = DATA / "endpoints.json"


def trimmed() -> dict:
    """Return the installed botocore's endpoint data with only the portal's services in each partition."""
    data = Loader().load_data("endpoints")
    return {**data, "partitions": [{**partition, "services": {name: partition["services"][name] for name in SERVICES
                                                              if name in partition["services"]}}
                                   for partition in data["partitions"]]}


def portal_operations(operations: set[str]) -> set[str]:
    """Return the operations of a model that app/ names in a string literal (how aws.call is given them)."""
    named = set()
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in operations:
                named.add(node.value)
    return named


def _undocumented(value: Any) -> Any:
    """Return a copy without botocore's documentation strings (used for docstrings only)."""
    if isinstance(value, dict):
        return {key: _undocumented(item) for key, item in value.items() if key != "documentation"}
    if isinstance(value, list):
        return [_undocumented(item) for item in value]
    return value


def trimmed_model(service: str) -> tuple[str, dict]:
    """Return (api version, model) of a service with only the portal's operations and the shapes they reach."""
    loader = Loader()
    version = loader.determine_latest_version(service, "service-2")
    model = loader.load_service_model(service, "service-2", version)
    operations = {name: model["operations"][name] for name in sorted(portal_operations(set(model["operations"])))}
    shapes, wanted = model["shapes"], []
    for operation in operations.values():
        wanted += [operation[part]["shape"] for part in ("input", "output") if part in operation]
        wanted += [error["shape"] for error in operation.get("errors", [])]
    kept: dict[str, dict] = {}
    while wanted:
        name = wanted.pop()
        if name in kept:
            continue
        kept[name] = shape = shapes[name]
        wanted += [member["shape"] for member in shape.get("members", {}).values()]
        wanted += [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
    return version, _undocumented({**model, "operations": operations, "shapes": dict(sorted(kept.items()))})


def files() -> dict[Path, str]:
    """Return every file of app/aws_data and its text: stable key order, so a rewrite shows only real changes."""
    texts = {TARGET: json.dumps(trimmed(), indent=1, sort_keys=True) + "\n"}
    for service in SERVICES:
        version, model = trimmed_model(service)
        texts[DATA / service / version / "service-2.json"] = json.dumps(model, sort_keys=True) + "\n"
    return texts


def render() -> str:
    """Return endpoints.json's text."""
    return files()[TARGET]


if __name__ == "__main__":
    for path, text in files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
