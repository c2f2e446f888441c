"""The session-credentials flow: one code for credentials, which also proves a fresh enrollment."""

from __future__ import annotations

from ..domain import CredentialsChoice
from ..sessions import PortalSession
from . import admins, audit, codes
from .audit import Action
from .credentials import DEFAULT_DURATION, get_session_token


def issue(state: PortalSession, actor: audit.Actor, serial: str, code: str, duration: int, profile: str,
          admin_users: list[str], admin_groups: list[str]) -> bool:
    """Exchange a code for MFA session credentials; return whether this completed an enrollment."""
    creds = codes.submit(state, actor, Action.CREDENTIALS_ISSUED, serial, (code,),
                         lambda: get_session_token(state.client("sts"), serial, code, duration), duration=duration)
    state.keep_credentials(creds, CredentialsChoice(profile, duration, serial))
    completed = False
    # The audit log, not this session, knows whether the proof is still owed: a person may sign out
    # between enabling the device and typing the proving code. The session flag only shapes the page.
    if audit.enrollment_unproven(actor.user_name, fallback=state.enrolling is not None):
        state.set_enrolling(None)
        audit.record(Action.ENROLLMENT_COMPLETED, actor, device=serial)
        completed = True
    if admin_users or admin_groups:
        state.set_admin_by_group(admins.is_admin(state.mfa_client("iam"), actor.user_name, admin_users,
                                                 admin_groups))
    return completed


def confirm(state: PortalSession, actor: audit.Actor, serial: str, code: str, admin_users: list[str],
            admin_groups: list[str]) -> bool:
    """Check one code with AWS for a step-up, renewing the session credentials as the person last asked for them."""
    choice = state.credentials_choice
    return issue(state, actor, serial, code, choice.duration or DEFAULT_DURATION, choice.profile,
                 admin_users, admin_groups)
