"""The only module that imports boto3/botocore: clients signing with a person's own keys, errors in plain words."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, ReadOnlyCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.parsers import ResponseParserError
from flask_babel import gettext as _

from . import metrics
from .errors import AwsAccessDenied, AwsError, AwsUnavailable, KeysRejected, PortalError

log = logging.getLogger(__name__)

# Codes that mean "AWS is busy or broken, not you": the person should retry.
_UNAVAILABLE = {
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalError",
    "RequestTimeout", "RequestTimeoutException",
}
# ConnectionClosedError: the connection dropped after the request left, so AWS may have acted on it.
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, BotoConnectionError,
                ConnectionClosedError)
# Of those, the ones raised before a single byte of the request left: AWS cannot have acted on it.
_NEVER_SENT = (EndpointConnectionError, ConnectTimeoutError)
# A proxy's HTML page or a cut-off answer fails parsing, and ResponseParserError is no BotoCoreError.
_GARBLED = (BotoCoreError, ResponseParserError)
# Throttling answers say AWS refused to start the work: a change refused this way may be sent again.
_NOT_STARTED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
# Calls that only read may be resent freely; every other call changes something (GetSessionToken spends a code).
_READ_PREFIXES = ("Get", "List")
_SPENDS_A_CODE = {"GetSessionToken"}
_BAD_KEYS = {
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException", "AuthFailure",
}


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


# What a watcher is told before a call: (service, operation, params, with_mfa_session).
CallRecord = tuple[str, str, dict, bool]
# The keys signing the current call, set only inside call()/pages(): a context variable is per
# thread (and per asyncio task), so two people's requests in one process never see each other's.
_signing_keys: ContextVar[Keys | None] = ContextVar("signing_keys", default=None)
# The record lists of watch_calls() blocks open in this context; other threads' calls never reach them.
_watchers: ContextVar[tuple[list[CallRecord], ...]] = ContextVar("aws_call_watchers", default=())
# botocore's endpoint data for every AWS service costs each process about 7 MB once parsed; the portal's
# own copy (written by tools/aws_data.py, checked against botocore by a test) holds only the services it calls.
DATA_PATH = Path(__file__).resolve().parent / "aws_data"
_clients_lock = threading.Lock()
_clients: dict[tuple[str, Settings], Any] = {}
_session: botocore.session.Session | None = None
# Distinct settings are a handful in production (one endpoint); tests make many, so the cache is bounded.
_MAX_CLIENTS = 16


class _PersonsKeys(Credentials):
    """Credentials that botocore reads at each signing: the keys of the call in progress, or none."""

    method = "mfa-portal-per-call"

    def __init__(self) -> None:
        """Hold nothing: the keys live in a context variable for the length of one call."""

    def _keys(self) -> Keys:
        """Return the keys of the call in progress; signing outside call() is a programming error."""
        keys = _signing_keys.get()
        if keys is None:
            raise RuntimeError("An AWS request was signed outside aws.call/aws.pages.")
        return keys

    @property
    def access_key(self) -> str:
        """Return the access key ID of the call in progress."""
        return self._keys().access_key_id

    @property
    def secret_key(self) -> str:
        """Return the secret access key of the call in progress."""
        return self._keys().secret_access_key

    @property
    def token(self) -> str | None:
        """Return the session token of the call in progress, if any."""
        return self._keys().session_token

    @property
    def account_id(self) -> None:
        """Tell botocore no account ID is known (IAM and STS endpoints do not use it)."""
        return None

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        """Return one consistent snapshot of the keys, as botocore's RequestSigner asks at every signing."""
        keys = self._keys()
        return ReadOnlyCredentials(keys.access_key_id, keys.secret_access_key, keys.session_token)


class _PersonsKeysProvider(CredentialProvider):
    """The session's only credential source: no environment, file or instance role is ever consulted."""

    METHOD = "mfa-portal-per-call"
    CANONICAL_NAME = "custom-mfa-portal"

    def load(self) -> Credentials:
        """Return the per-call credentials object."""
        return _PersonsKeys()


@dataclass(frozen=True)
class Client:
    """A shared botocore client bound to one person's keys for the calls made through it."""

    botocore_client: Any = field(repr=False)
    keys: Keys

    @property
    def meta(self) -> Any:
        """Expose the botocore client's metadata (service model, config, events)."""
        return self.botocore_client.meta

    @contextmanager
    def signing(self) -> Iterator[None]:
        """Sign every request botocore sends inside the block with these keys, then forget them."""
        token = _signing_keys.set(self.keys)
        try:
            yield
        finally:
            _signing_keys.reset(token)


@contextmanager
def watch_calls() -> Iterator[list[CallRecord]]:
    """Record the AWS calls made in this thread (or task) inside the block: (service, op, params, with_mfa)."""
    records: list[CallRecord] = []
    token = _watchers.set((*_watchers.get(), records))
    try:
        yield records
    finally:
        _watchers.reset(token)


def client(service: str, keys: Keys, settings: Settings) -> Client:
    """Return a client that signs with the given keys and nothing else."""
    return Client(_shared_client(service, settings), keys)


def _shared_client(service: str, settings: Settings) -> Any:
    """Return the process's botocore client for (service, settings), made once: it holds no keys."""
    global _session
    # Creating a client costs ~10 ms of CPU (service model, endpoint rules), so it happens once per
    # process; creation from one session is not thread-safe, hence the lock.
    with _clients_lock:
        made = _clients.get((service, settings))
        if made is not None:
            return made
        if _session is None:
            _session = botocore.session.get_session()
            # AWS_DATA_PATH's setting: botocore looks here first, then in its own data.
            _session.set_config_variable("data_path", str(DATA_PATH))
            # Not public botocore API, kept for one shared client per (service, settings): ~115 ms of CPU per
            # enrollment (bench/README.md); tests/test_aws_clients.py fails if botocore changes underneath.
            _session.register_component("credential_provider", CredentialResolver([_PersonsKeysProvider()]))
        made = _session.create_client(
            service,
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                # total_max_attempts counts the first try; botocore's max_attempts would add one more.
                retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
                user_agent_extra="mfa-portal",
            ),
        )
        made.meta.events.register("provide-client-params", _notify(service))
        # Registered first at the service's level, so botocore's own retry handler (later at that level)
        # never decides alone: the emitter takes the first answer that is not None, and False means "do not".
        made.meta.events.register_first(f"needs-retry.{made.meta.service_model.service_id.hyphenize()}",
                                        _resend_only_reads)
        if len(_clients) >= _MAX_CLIENTS:
            _clients.clear()
        _clients[(service, settings)] = made
        return made


def changes_something(operation: str) -> bool:
    """Tell whether an operation changes something at AWS (or spends an MFA code), so it must not be resent."""
    return not operation.startswith(_READ_PREFIXES) or operation in _SPENDS_A_CODE


def _resend_only_reads(operation: Any, caught_exception: Exception | None = None, response: Any = None,
                       **_: Any) -> bool | None:
    """Forbid botocore to resend a change unless the failure proves AWS never acted on it.

    A change is sent again only when the connection was never made (nothing left the portal) or AWS
    answered that it refused to start (throttling); after a dropped connection, a timeout while waiting
    for the answer or a 5xx, AWS may have acted, and a resend would act twice. Returning None lets
    botocore's retry handler decide as usual (attempts, back-off, its retry quota).
    """
    if not changes_something(operation.name):
        return None
    if caught_exception is not None:
        return None if isinstance(caught_exception, _NEVER_SENT) else False
    if response is not None:
        code = (response[1] or {}).get("Error", {}).get("Code") if len(response) > 1 else None
        return None if code in _NOT_STARTED else False
    return None


def _notify(service: str) -> Callable[..., None]:
    """Build the botocore hook that reports a call to this context's watchers."""

    def hook(params: dict, model: Any, **_: Any) -> None:
        log.debug("aws call %s:%s", service, model.name)
        keys = _signing_keys.get()
        for records in _watchers.get():
            records.append((service, model.name, dict(params), bool(keys and keys.is_session)))

    return hook


def call(aws_client: Client, operation: str, **params: Any) -> dict:
    """Make one AWS call with the client's keys, turning botocore failures into domain errors."""
    method = getattr(aws_client.botocore_client, _snake(operation))
    with _translated(aws_client, operation), aws_client.signing():
        return method(**params)


def pages(aws_client: Client, operation: str, result_key: str, **params: Any) -> Iterator[dict]:
    """Yield every item of a paginated list call, 1,000 a page (the AWS maximum)."""
    paginator = aws_client.botocore_client.get_paginator(_snake(operation))
    iterator = iter(paginator.paginate(**params, PaginationConfig={"PageSize": 1000}))
    while True:
        # The keys are set only while a page is fetched, never across a yield to the caller.
        with _translated(aws_client, operation) as call, aws_client.signing():
            page = next(iterator, None)
            call["made"] = page is not None
        if page is None:
            return
        yield from page.get(result_key, [])


@contextmanager
def _translated(aws_client: Any, operation: str) -> Iterator[dict]:
    """Turn whatever botocore raises inside the block into a domain error (and count the call).

    The block may set `made` to False in what it is given: a paginator's last step asks AWS nothing.
    """
    service = aws_client.meta.service_model.service_name
    started, outcome, call = time.perf_counter(), "ok", {"made": True}
    try:
        yield call
    except ClientError as err:
        outcome = str(err.response.get("Error", {}).get("Code", "Unknown"))
        raise translate(err, service, operation) from None
    except _UNREACHABLE as err:
        outcome = "unavailable"
        log.warning("AWS unreachable during %s: %s", operation, type(err).__name__)
        raise AwsUnavailable(may_have_acted=not isinstance(err, _NEVER_SENT)) from None
    except _GARBLED as err:
        outcome = "garbled"
        log.warning("botocore failure during %s: %s", operation, type(err).__name__)
        raise AwsUnavailable(_("The portal could not complete the request to AWS.")) from None
    finally:
        if call["made"]:
            metrics.aws_call(service, operation, outcome, time.perf_counter() - started)


def translate(err: ClientError, service: str, operation: str) -> PortalError:
    """Map an AWS error answer to the domain error a person can act on."""
    error = err.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", "")
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    log.info("AWS answered %s to %s:%s", code, service, operation)
    if code in _UNAVAILABLE or status >= 500:
        # Throttling and timeouts arrive as 4xx before AWS starts the work; after a 5xx nobody can tell.
        return AwsUnavailable(_("AWS is busy or having trouble right now."), may_have_acted=status >= 500)
    if code in _BAD_KEYS:
        return KeysRejected(
            _("AWS does not recognise this access key pair, or it has been deactivated."),
            _("Check both values for typos (copy them again from where you saved them); "
              "if they are right, ask an AWS administrator whether the key is active."),
        )
    if code in {"AccessDenied", "AccessDeniedException"} and not message.startswith("MultiFactorAuthentication"):
        return AwsAccessDenied(f"{service}:{operation}")
    return AwsError(code, message, operation)


def _snake(operation: str) -> str:
    """Turn an API name like ListMFADevices into boto3's list_mfa_devices."""
    return xform_name(operation)
