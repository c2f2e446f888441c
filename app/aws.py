"""The only module that imports boto3: clients from a person's own keys, errors in plain words."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.parsers import ResponseParserError

from .errors import AwsAccessDenied, AwsError, AwsUnavailable, KeysRejected, PortalError

log = logging.getLogger(__name__)

# Codes that mean "AWS is busy or broken, not you": the person should retry.
_UNAVAILABLE = {
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalError",
    "RequestTimeout", "RequestTimeoutException",
}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, BotoConnectionError)
# Of those, the ones raised before a single byte of the request left: AWS cannot have acted on it.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)
# A proxy's HTML page or a cut-off answer fails parsing, and ResponseParserError is no BotoCoreError.
_GARBLED = (BotoCoreError, ResponseParserError)
_BAD_KEYS = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException", "AuthFailure",
}

CallListener = Callable[[str, str, dict, bool], None]
_listeners: list[CallListener] = []
_session_lock = threading.Lock()
_session: boto3.session.Session | None = None


@dataclass(frozen=True)
class Keys:
    """An AWS key pair, long-term or (with a token) an MFA session."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def is_session(self) -> bool:
        """Tell whether these are temporary session credentials."""
        return self.session_token is not None


@dataclass(frozen=True)
class Settings:
    """Where and how patiently to talk to AWS."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    connect_timeout: int = 3
    read_timeout: int = 5
    max_attempts: int = 2

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        """Build settings from a Flask config mapping."""
        return cls(
            region=config["AWS_REGION"],
            endpoint_url=config["AWS_ENDPOINT_URL"],
            connect_timeout=config["AWS_CONNECT_TIMEOUT"],
            read_timeout=config["AWS_READ_TIMEOUT"],
            max_attempts=config["AWS_MAX_ATTEMPTS"],
        )


def add_call_listener(listener: CallListener) -> None:
    """Be told (service, operation, params, with_mfa_session) before every AWS call."""
    _listeners.append(listener)


def remove_call_listener(listener: CallListener) -> None:
    """Stop telling a listener about calls."""
    _listeners.remove(listener)


def client(service: str, keys: Keys, settings: Settings) -> Any:
    """Return a boto3 client that signs with the given keys and nothing else."""
    global _session
    # One shared session avoids reloading botocore's data files per request;
    # client creation from it is not thread-safe, hence the lock.
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        made = _session.client(
            service,
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            config=Config(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                # total_max_attempts counts the first try; botocore's max_attempts would add one more.
                retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
                user_agent_extra="mfa-portal",
            ),
        )
    made.meta.events.register("provide-client-params", _notify(service, keys.is_session))
    return made


def _notify(service: str, with_mfa: bool) -> Callable[..., None]:
    """Build the botocore hook that reports a call to the listeners."""

    def hook(params: dict, model: Any, **_: Any) -> None:
        log.debug("aws call %s:%s", service, model.name)
        for listener in list(_listeners):
            listener(service, model.name, dict(params), with_mfa)

    return hook


def call(aws_client: Any, operation: str, **params: Any) -> dict:
    """Make one AWS call, turning botocore failures into domain errors."""
    method = getattr(aws_client, _snake(operation))
    with _translated(aws_client, operation):
        return method(**params)


def pages(aws_client: Any, operation: str, result_key: str, **params: Any) -> Iterator[dict]:
    """Yield every item of a paginated list call, 1,000 a page (the AWS maximum)."""
    paginator = aws_client.get_paginator(_snake(operation))
    iterator = paginator.paginate(**params, PaginationConfig={"PageSize": 1000})
    with _translated(aws_client, operation):
        for page in iterator:
            yield from page.get(result_key, [])


@contextmanager
def _translated(aws_client: Any, operation: str) -> Iterator[None]:
    """Turn whatever botocore raises inside the block into a domain error."""
    try:
        yield
    except ClientError as err:
        raise translate(err, aws_client.meta.service_model.service_name, operation) from None
    except _UNREACHABLE as err:
        log.warning("AWS unreachable during %s: %s", operation, type(err).__name__)
        raise AwsUnavailable(may_have_acted=not isinstance(err, _NEVER_SENT)) from None
    except _GARBLED as err:
        log.warning("botocore failure during %s: %s", operation, type(err).__name__)
        raise AwsUnavailable("The portal could not complete the request to AWS.") from None


def translate(err: ClientError, service: str, operation: str) -> PortalError:
    """Map an AWS error answer to the domain error a person can act on."""
    error = err.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", "")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    log.info("AWS answered %s to %s:%s", code, service, operation)
    if code in _UNAVAILABLE or status >= 500:
        # Throttling and timeouts arrive as 4xx before AWS starts the work; after a 5xx nobody can tell.
        return AwsUnavailable("AWS is busy or having trouble right now.", may_have_acted=status >= 500)
    if code in _BAD_KEYS:
        return KeysRejected(
            "AWS does not recognise this access key pair, or it has been deactivated.",
            "Check both values for typos (copy them again from where you saved them); "
            "if they are right, ask an AWS administrator whether the key is active.",
        )
    if code in {"AccessDenied", "AccessDeniedException"} and not message.startswith("MultiFactorAuthentication"):
        return AwsAccessDenied(f"{service}:{operation}")
    return AwsError(code, message, operation)


def error_code(err: PortalError) -> str | None:
    """Return the AWS error code behind a domain error, if any."""
    return getattr(err, "code", None)


def _snake(operation: str) -> str:
    """Turn an API name like ListMFADevices into boto3's list_mfa_devices."""
    return xform_name(operation)
