"""Helpers shared by the emulator tests: clients signed with given keys, codes and errors."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from app.demo import emulator

ROOT = Path(__file__).resolve().parents[1]


def clients(key_id: str, secret: str, token: str | None = None, endpoint_url: str | None = None):
    """Return IAM and STS clients signed with the given keys."""
    kwargs = {
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "aws_session_token": token,
        "region_name": "us-east-1",
        "endpoint_url": endpoint_url,
    }
    return boto3.client("iam", **kwargs), boto3.client("sts", **kwargs)


def emulator_code(seed_b32: str, steps: int = 0) -> str:
    """Return the code the frozen clock shows, steps away."""
    return emulator.current_code(seed_b32, steps)


def aws_error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    """Return an AWS error's code and HTTP status."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
