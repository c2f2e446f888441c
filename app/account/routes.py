"""Home page: the person's MFA status and to-do list."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, render_template
from flask_login import current_user

from ..auth.routes import ask_to_sign_in
from ..forms import EmptyForm
from ..services import devices, todo
from ..sessions import portal
from . import bp


@bp.route("/")
def home():
    """Show the person's MFA status and their own to-do list: the findings they can fix here."""
    if not current_user.is_authenticated:
        # The front door asks nobody to sign in "first"; it does say when a session has just ended.
        return ask_to_sign_in(quiet=True)
    state = portal()
    owned = devices.owned(state)
    facts = todo.gather(state, owned, current_app.config["TODO_CONSOLE_PASSWORD"])
    key_age_days = current_app.config["FINDINGS_KEY_AGE_DAYS"]
    return render_template("account/home.html", devices=owned, pending=state.has_pending, alias=state.alias,
                           caller=state.caller, start_form=EmptyForm(),
                           has_credentials=state.mfa_credentials is not None,
                           todo=todo.items(facts, datetime.now(UTC), key_age_days), kinds=todo.Kind,
                           key_age_days=key_age_days)
