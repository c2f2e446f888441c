"""Sessions: a signed cookie before sign-in, the encrypted server-side store after it."""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from flask_session.base import ServerSideSession, ServerSideSessionInterface

ANONYMOUS_COOKIE = "mfa_portal_pre"
SIGNED_IN_KEY = "identity"


class _AnonymousCookie(SecureCookieSessionInterface):
    """Flask's signed cookie under its own name, for visitors who hold no secret yet."""

    def get_cookie_name(self, app: Flask) -> str:
        """Keep it apart from the server-side session's cookie."""
        return ANONYMOUS_COOKIE


class HybridSessionInterface(SessionInterface):
    """Anonymous visitors hold only a CSRF token and flashes, so they get no server-side entry.

    Storing a server-side session for every sign-in page view costs a store write per
    visit and lets anonymous traffic fill the store; an anonymous session also has no
    server-side id to fix in advance, so fixation is impossible by construction.
    """

    def __init__(self, server: ServerSideSessionInterface):
        """Wrap Flask-Session's interface."""
        self.server = server
        self.cookie = _AnonymousCookie()

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Load the server-side session of a signed-in person, else the anonymous cookie."""
        if request.path.startswith(f"{app.static_url_path}/"):
            # Files need no session: skip the store read (and its decryption) a page would pay for.
            return self.make_null_session(app)
        if request.cookies.get(app.config["SESSION_COOKIE_NAME"]):
            stored = self.server.open_session(app, request)
            if SIGNED_IN_KEY in stored:
                return stored
        return self.cookie.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the session where its content belongs, moving it when that changed."""
        if request.endpoint == "static" and not session.modified:
            # Stylesheets and scripts are not activity: they must not restart the idle timeout,
            # and need not cost a store write each.
            return
        if SIGNED_IN_KEY in session:
            if not isinstance(session, ServerSideSession):
                session = self._to_server(session)
                response.delete_cookie(ANONYMOUS_COOKIE, path=self.cookie.get_cookie_path(app))
            self.server.save_session(app, session, response)
            return
        if isinstance(session, ServerSideSession):
            # Signed out (or never signed in on this id): drop the store entry, keep flashes in the cookie.
            anonymous = self.cookie.session_class(dict(session))
            anonymous.modified = bool(anonymous)
            session.clear()
            session.modified = True
            self.server.save_session(app, session, response)
            session = anonymous
        self.cookie.save_session(app, session, response)

    def regenerate(self, session: SessionMixin) -> None:
        """Give a server-side session a new id; an anonymous one gets a fresh id when it moves."""
        if isinstance(session, ServerSideSession):
            self.server.regenerate(session)

    def _to_server(self, session: SessionMixin) -> ServerSideSession:
        """Move a just-signed-in session into the store under a brand-new id."""
        data = dict(session)
        # A CSRF token chosen before sign-in could be known to whoever planted the cookie.
        data.pop("csrf_token", None)
        moved = self.server.session_class(data, sid=self.server._generate_sid(self.server.sid_length),
                                          permanent=True)
        moved.modified = True
        return moved
