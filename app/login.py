"""Who is signed in, for Flask-Login and for the audit log, read from the typed session."""

from __future__ import annotations

from flask import current_app, request
from flask_login import UserMixin

from .domain import Actor, Caller
from .sessions import portal


class PortalUser(UserMixin):
    """The Flask-Login user, rebuilt each request from the server-side session."""

    def __init__(self, caller: Caller):
        self.caller = caller
        self.id = caller.arn
        self.arn = caller.arn
        self.user_name = caller.user_name

    @property
    def is_admin(self) -> bool:
        """Tell whether the configuration names this user (or, after MFA, their group) as admin."""
        return portal().admin_by_group or self.user_name in current_app.config["ADMIN_USERS"]

    @property
    def has_mfa_session(self) -> bool:
        """Tell whether this portal session holds unexpired MFA session credentials."""
        return portal().mfa_credentials is not None


def load_user(user_id: str) -> PortalUser | None:
    """Flask-Login loader: only the identity stored at sign-in is accepted."""
    state = portal()
    caller = state.caller
    if caller and caller.arn == user_id and state.signed_in:
        return PortalUser(caller)
    return None


def current_actor() -> Actor:
    """Who is acting in this request and from where, for the audit log."""
    caller = portal().caller
    return Actor(arn=caller.arn if caller else None, user_name=caller.user_name if caller else None,
                 source_ip=request.remote_addr, user_agent=request.user_agent.string or None)
