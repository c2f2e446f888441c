"""Console-password views: set or change it against the account's rules, or remove console access."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import AwsUnavailable, PortalError
from ..forms import EmptyForm
from ..services import login_profile
from ..sessions import portal
from . import bp, journal, stepup
from .forms import ChangePasswordForm, SetPasswordForm


def _sign_in() -> dict:
    """The console sign-in address and user name, shown next to every password page."""
    caller = current_user.caller
    return {"sign_in_url": login_profile.sign_in_url(portal().alias, caller.account, caller.partition),
            "user_name": current_user.user_name}


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Set a first console password, or change the current one, with the account's rules beside the field."""
    asked = stepup.needs_recent_code()
    if asked:
        return asked
    iam = portal().mfa_client("iam")
    existing = login_profile.profile(iam, current_user.user_name)
    rules = login_profile.rules(iam)
    form = (ChangePasswordForm if existing else SetPasswordForm)(rules, current_user.user_name)
    page = dict(form=form, existing=existing, rules=rules.describe(), remove_form=EmptyForm(), **_sign_in())
    if not form.validate_on_submit():
        return render_template("security_credentials/password.html", **page), 400 if form.errors else 200
    action = "console_password_changed" if existing else "console_password_set"
    try:
        with journal.attempt(action):
            if existing:
                login_profile.change(iam, form.current.data, form.new.data, rules)
            else:
                login_profile.create(iam, current_user.user_name, form.new.data, rules)
    except AwsUnavailable:
        raise
    except PortalError as err:
        return render_template("security_credentials/password.html", error=err, **page), err.status
    return render_template("security_credentials/password_done.html", changed=bool(existing), **_sign_in())


@bp.route("/password/remove", methods=["GET", "POST"])
@login_required
def remove_password():
    """Remove console access after a confirmation; access keys and MFA stay as they are."""
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("security_credentials/remove_password.html", form=form, **_sign_in())
    with journal.attempt("console_password_removed"):
        login_profile.remove(portal().mfa_client("iam"), current_user.user_name)
    flash(_("Console access is removed. Your access keys and MFA device work as before."), "success")
    return redirect(url_for("security_credentials.keys"))
