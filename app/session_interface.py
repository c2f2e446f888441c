"""The session interface: a signed cookie before sign-in, per-key writes to the server-side store after it."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin

from .errors import StoreUnavailable
from .session_store import SessionStore

ANONYMOUS_COOKIE = "mfa_portal_pre"
SIGNED_IN_KEY = "identity"
STORE_ERROR = "mfa_portal.session_store_error"
_SWEEP_EVERY = 60  # seconds between sweeps of a store that does not expire entries itself, per process
# A page that changes nothing restarts the idle time only if the last restart is older than this: most
# page views then cost the store one read and no write, and a session ends at most this much early.
RESTART_AFTER = 60


class _AnonymousCookie(SecureCookieSessionInterface):
    """Flask's signed cookie under its own name, for visitors who hold no secret yet."""

    def get_cookie_name(self, app: Flask) -> str:
        """Keep it apart from the server-side session's cookie."""
        return ANONYMOUS_COOKIE


class ServerSession(dict, SessionMixin):
    """A signed-in session that remembers which keys this request changed, so only those are written."""

    def __init__(self, data: dict[str, Any], sid: str | None, expires: float = 0.0,
                 store: SessionStore | None = None):
        super().__init__(data)
        self.sid = sid
        self.store = store
        self.expires = expires  # when the idle time ran out as loaded (store clock); 0 for "unknown"
        self.changed: set[str] = set()
        self.removed: set[str] = set()
        self.cleared = False  # sign-in again or sign-out: this id ends

    @property
    def permanent(self) -> bool:  # type: ignore[override]
        """Signed-in sessions always carry the idle timeout (the store's TTL and the cookie's expiry)."""
        return True

    @permanent.setter
    def permanent(self, value: bool) -> None:
        """Fixed (see the getter): setting it must not count as a change."""

    @property
    def modified(self) -> bool:  # type: ignore[override]
        """Tell whether this request changed anything."""
        return bool(self.changed or self.removed or self.cleared)

    @modified.setter
    def modified(self, value: bool) -> None:
        """Flask-Login and Flask-WTF set this after in-place changes; the key they changed is tracked already."""

    @property
    def accessed(self) -> bool:  # type: ignore[override]
        """Every signed-in page varies by its session."""
        return True

    @accessed.setter
    def accessed(self, value: bool) -> None:
        """Always accessed (see the getter)."""

    def _touch(self, key: str) -> None:
        self.changed.add(key)
        self.removed.discard(key)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._touch(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changed.discard(key)
        self.removed.add(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove a key, remembering to remove it in the store."""
        if key in self:
            self.changed.discard(key)
            self.removed.add(key)
        return super().pop(key, *default)

    def take(self, key: str) -> Any:
        """Remove a key in the store itself and return the stored value: None when another request took it first.

        The copy loaded with this request is no proof: parallel requests all loaded it, and only the store
        can tell which of them removed it.
        """
        if key not in self:
            return None
        value = self.store.take(self.sid, key) if self.store is not None and self.sid else self.get(key)
        super().pop(key, None)
        self.changed.discard(key)
        self.removed.add(key)
        return value

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Set a missing key, tracked."""
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys, tracked."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        """End this session id: what is set afterwards starts a new one."""
        super().clear()
        self.changed.clear()
        self.removed.clear()
        self.cleared = True

    def changes(self) -> tuple[dict[str, Any], set[str]]:
        """Return the changed values and the removed keys."""
        return {key: self[key] for key in self.changed}, set(self.removed)


class PortalSessionInterface(SessionInterface):
    """Anonymous visitors hold only a CSRF token and flashes, so they get no server-side entry.

    Storing a server-side session for every sign-in page view costs a store write per visit and
    lets anonymous traffic fill the store; an anonymous session also has no server-side id to fix
    in advance, so fixation is impossible by construction. Signed-in sessions are written key by
    key, and only while their entry exists: signing out, expiring and dropping a seed are final
    whatever requests are still in flight.
    """

    def __init__(self, store: SessionStore):
        """Keep the store."""
        self.store = store
        self.cookie = _AnonymousCookie()
        self._next_sweep = 0.0

    def ping(self) -> bool:
        """Tell whether the store answers (for /readyz)."""
        try:
            self.store.ping()
        except StoreUnavailable:
            return False
        return True

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Load the server-side session of a signed-in person, else the anonymous cookie."""
        if request.path.startswith(f"{app.static_url_path}/"):
            # Files need no session: skip the store read a page would pay for.
            return self.make_null_session(app)
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid or request.method == "POST":  # every signed-in page, and every sign-in
            try:
                self._sweep()
                stored = self.store.load(sid) if sid else None
            except StoreUnavailable as err:
                # The request goes on so the error page can render with its headers; a before_request
                # check turns this into the portal's 503 page.
                request.environ[STORE_ERROR] = err
                stored = None
            if stored and SIGNED_IN_KEY in stored.data:
                return ServerSession(stored.data, sid, stored.expires, self.store)
        return self.cookie.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write what this request changed where it belongs."""
        if request.endpoint == "static" and not session.modified:
            # Stylesheets and scripts are not activity: they must not restart the idle timeout.
            return
        if request.environ.get(STORE_ERROR) is not None:
            return  # never overwrite what could not be read
        try:
            self._save(app, session, response)
        except StoreUnavailable as err:
            request.environ[STORE_ERROR] = err  # the error page's own save then leaves the store alone
            raise

    def _save(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Update, end, create or keep as a cookie."""
        name, options = self.get_cookie_name(app), self._cookie_options(app)
        if isinstance(session, ServerSession) and session.sid and not session.cleared:
            changed, removed = session.changes()
            if not changed and not removed and session.expires - time.time() > self._ttl(app) - RESTART_AFTER:
                return  # restarted under a minute ago: the entry and the cookie both still have ~the full idle time
            if self.store.update(session.sid, changed, removed, self._ttl(app)):
                response.set_cookie(name, session.sid, expires=self.get_expiration_time(app, session), **options)
            else:
                # Signed out or expired meanwhile: this late request must not revive it.
                response.delete_cookie(name, **self._delete_options(app))
            return
        if isinstance(session, ServerSession) and session.sid:
            self.store.delete(session.sid)
            response.delete_cookie(name, **self._delete_options(app))
        if SIGNED_IN_KEY in session:
            data = dict(session)
            # A CSRF token chosen before sign-in could be known to whoever planted the cookie.
            data.pop("csrf_token", None)
            data.setdefault("created_at", time.time())
            sid = secrets.token_urlsafe(32)
            self.store.create(sid, data, self._ttl(app))
            response.set_cookie(name, sid, expires=time.time() + self._ttl(app), **options)
            response.delete_cookie(ANONYMOUS_COOKIE, path=self.cookie.get_cookie_path(app))
            return
        anonymous = self.cookie.session_class(dict(session))
        anonymous.modified = isinstance(session, ServerSession) or session.modified
        self.cookie.save_session(app, anonymous, response)

    def _sweep(self) -> None:
        """Delete expired entries at most once a minute per process."""
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_EVERY
            self.store.sweep()

    @staticmethod
    def _ttl(app: Flask) -> float:
        """The idle timeout in seconds: every request that writes restarts it."""
        return app.permanent_session_lifetime.total_seconds()

    def _cookie_options(self, app: Flask) -> dict[str, Any]:
        """Cookie attributes from the app's session settings."""
        return {"domain": self.get_cookie_domain(app), "path": self.get_cookie_path(app),
                "secure": self.get_cookie_secure(app), "httponly": self.get_cookie_httponly(app),
                "samesite": self.get_cookie_samesite(app)}

    def _delete_options(self, app: Flask) -> dict[str, Any]:
        """Attributes a deleting cookie must match."""
        options = self._cookie_options(app)
        return {key: options[key] for key in ("domain", "path", "secure", "httponly", "samesite")}


# A cookie that says only "this browser was signed in": the session's own cookie ends with its idle time,
# so without it the sign-in page could not tell a session that ended from one that never began.
WAS_SIGNED_IN = "mfa_portal_was_signed_in"


def marker_options() -> dict:
    """The session cookie's own attributes, so the marker is as safe and deleted alike."""
    interface = current_app.session_interface
    return {"path": interface.get_cookie_path(current_app), "secure": interface.get_cookie_secure(current_app),
            "httponly": True, "samesite": interface.get_cookie_samesite(current_app),
            "domain": interface.get_cookie_domain(current_app)}
