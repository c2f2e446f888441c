"""Log lines as text or JSON, a request id on every response, and one access record per request."""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
HEADER = "X-Request-ID"
# Letters, digits and dashes: anything else (spaces, quotes, newlines, 200 characters) is not an id, and a
# value copied into every log line and audit row must not be able to forge one or smuggle text in.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ACCESS_LOGGER = "app.access"
_ENDPOINT, _ACTOR = "mfa_portal.endpoint", "mfa_portal.actor_arn"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """Return the id of the request this thread serves (None outside a request): no Flask needed."""
    return _request_id.get()


def json_formatter() -> logging.Formatter:
    """A formatter writing one JSON object per line: time (UTC, ISO 8601), level, logger, message, extras."""
    return _json_formatter_class()()


@functools.cache
def _json_formatter_class() -> type[logging.Formatter]:
    """Build the formatter class on first use: with text logs python-json-logger is never imported."""
    from pythonjsonlogger.json import JsonFormatter  # only with LOG_FORMAT=json (1.3 MB in the queue's supervisor)

    class PortalJsonFormatter(JsonFormatter):
        """python-json-logger's formatter with the portal's field names, the time first."""

        def __init__(self) -> None:
            super().__init__("%(levelname)s %(name)s %(message)s",
                             rename_fields={"levelname": "level", "name": "logger"})

        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                       message_dict: dict[str, Any]) -> None:
            """Put the time first, then the standard fields and the extras (request_id, status...)."""
            log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            super().add_fields(log_data, record, message_dict)

    return PortalJsonFormatter


def _stamp_request_id(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """Wrap a record factory so each record made during a request carries its id (whatever the handler)."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    make.stamps_request_id = True  # type: ignore[attr-defined]
    return make


def install_record_factory() -> None:
    """Stamp request ids on every record, once per process (create_app may run many times)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "stamps_request_id", False):
        logging.setLogRecordFactory(_stamp_request_id(factory))


def _werkzeug_request_line(record: logging.LogRecord) -> bool:
    """Drop the development server's own request lines (they carry query strings); app.access replaces them."""
    return not (record.name == "werkzeug" and str(record.msg).startswith("%s - - [%s] "))


def configure(log_format: str, level: str) -> None:
    """Set up the root logger unless a server (gunicorn's logconfig_dict) or a test harness already has."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(level)
    if log_format == "json":
        werkzeug = logging.getLogger("werkzeug")
        if _werkzeug_request_line not in werkzeug.filters:
            werkzeug.addFilter(_werkzeug_request_line)
        # Access lines follow GUNICORN_ACCESS_LOG (on or off), not LOG_LEVEL, as gunicorn's own did.
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)


def _destination(target: str | None, stream: str) -> dict[str, Any]:
    """A dictConfig handler for one of gunicorn's log targets: '-' is a stream, None is off, else a file."""
    if target is None:
        return {"class": "logging.NullHandler"}
    if target == "-":
        return {"class": "logging.StreamHandler", "formatter": "json", "stream": f"ext://sys.{stream}"}
    return {"class": "logging.FileHandler", "formatter": "json", "filename": target}


def gunicorn_logconfig(errorlog: str, accesslog: str | None, gunicorn_level: str, app_level: str) -> dict[str, Any]:
    """gunicorn's logconfig_dict for LOG_FORMAT=json: its own lines, the portal's and the access lines as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {"error": _destination(errorlog, "stderr"), "access": _destination(accesslog, "stdout")},
        "root": {"level": app_level.upper(), "handlers": ["error"]},
        "loggers": {
            "gunicorn.error": {"level": gunicorn_level.upper(), "handlers": ["error"], "propagate": False},
            # gunicorn's access log stays off (accesslog=None in gunicorn.conf.py): the portal writes each
            # access record itself, to the same destination, with the request id, endpoint and actor.
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
            ACCESS_LOGGER: {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


def new_request_id() -> str:
    """Return a fresh request id."""
    return uuid.uuid4().hex


class RequestIds:
    """WSGI middleware: give each request an id, put it on the response, and (JSON logs) log one access record.

    It sits inside ProxyFix, so REMOTE_ADDR is already the client as PROXY_HOPS resolves it.
    The access record is written here rather than in after_request or by gunicorn: the status is the one
    handed to the server (error pages, static files and 304s included), the time runs until the body's
    close() (the last byte handed over), and the endpoint and actor are known, which gunicorn's line is not.
    """

    def __init__(self, wsgi_app: Callable, trust_incoming: bool, access_records: bool):
        self.wsgi_app = wsgi_app
        self.trust_incoming = trust_incoming
        self.access_records = access_records
        self.log = logging.getLogger(ACCESS_LOGGER)

    def request_id(self, environ: dict[str, Any]) -> str:
        """Keep the proxy's id when a trusted proxy passed one that looks like an id, else make one."""
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        if self.trust_incoming and _INCOMING_ID.match(incoming):
            return incoming
        return new_request_id()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request_id = self.request_id(environ)
        environ["mfa_portal.request_id"] = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status: list[str] = []

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            headers[:] = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            status[:] = [code]
            return start_response(code, headers, exc_info)

        def finished() -> None:
            try:
                if self.access_records:
                    self._access(environ, status[0] if status else "500", started)
            finally:
                try:
                    _request_id.reset(token)
                except ValueError:  # closed from another thread or context than the one that started it
                    _request_id.set(None)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            finished()
            raise
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and isinstance(body, wrapper):
            # The server sends its own file wrapper with sendfile() only if it gets that very object back.
            body.close = _closing(getattr(body, "close", None), finished)
            return body
        return _ClosingBody(body, finished)

    def _access(self, environ: dict[str, Any], status: str, started: float) -> None:
        """Write the request's access record (never the query string, which may carry anything)."""
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        method, code = environ.get("REQUEST_METHOD", "-"), int(status.split(None, 1)[0])
        fields = {"method": method, "path": path, "endpoint": environ.get(_ENDPOINT), "status": code,
                  "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                  "client": environ.get("REMOTE_ADDR"), "actor_arn": environ.get(_ACTOR)}
        self.log.info("%s %s %s", method, path, code, extra={k: v for k, v in fields.items() if v is not None})


def _closing(close: Callable[[], None] | None, then: Callable[[], None]) -> Callable[[], None]:
    """Return a close() that closes the body, then runs `then` even if that failed."""

    def closed() -> None:
        try:
            if close is not None:
                close()
        finally:
            then()

    return closed


class _ClosingBody:
    """The response body, with a callback when the server closes it (after the last byte)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]):
        self.body = body
        self.close = _closing(getattr(body, "close", None), on_close)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)


def note_request(environ: dict[str, Any], endpoint: str | None, actor_arn: str | None) -> None:
    """Hand the endpoint and the actor to the access record (Flask knows them; the middleware does not)."""
    environ[_ENDPOINT] = endpoint
    if actor_arn:
        environ[_ACTOR] = actor_arn
