"""Console-password views: set or change it against the account's rules, or remove console access."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import stepup
from ..errors import Refusal
from ..forms import EmptyForm
from ..login import current_actor
from ..services import login_profile
from ..services.audit import Action, attempt
from ..sessions import portal
from . import bp, lost
from .forms import ChangePasswordForm, SetPasswordForm


def _sign_in() -> dict:
    """The console sign-in address and user name, shown next to every password page."""
    caller = current_user.caller
    return {"sign_in_url": login_profile.sign_in_url(portal().alias, caller.account, caller.partition),
            "user_name": current_user.user_name}


@bp.route("/password", methods=["GET", "POST"])
@login_required
@stepup.recent_code()
def password():
    """Set a first console password, or change the current one, with the account's rules beside the field."""
    iam = portal().mfa_client("iam")
    existing = login_profile.profile(iam, current_user.user_name)
    _say_what_the_lost_attempt_did(existing is not None)
    if existing and request.method == "POST" and request.form.get("intent") == "set":
        # The set form sent twice (or again after a lost answer): the first one set it.
        flash(_("Your console password is already set: an earlier press of the button set it. You can sign in to "
                "the console with it."), "info")
        return redirect(url_for("long_term_credentials.password"))
    rules = login_profile.rules(iam)
    form = (ChangePasswordForm if existing else SetPasswordForm)(rules, current_user.user_name)
    page = dict(form=form, existing=existing, rules=rules.describe(), remove_form=EmptyForm(), **_sign_in())
    if not form.validate_on_submit():
        return render_template("long_term_credentials/password.html", **page), 400 if form.errors else 200
    action = Action.CONSOLE_PASSWORD_CHANGED if existing else Action.CONSOLE_PASSWORD_SET
    try:
        with lost.watch("password", target="change" if existing else "set"), attempt(action, current_actor()):
            if existing:
                login_profile.change(iam, form.current.data, form.new.data, rules)
            else:
                login_profile.create(iam, current_user.user_name, form.new.data, rules)
    except Refusal as err:
        return render_template("long_term_credentials/password.html", error=err, **page), err.status
    return render_template("long_term_credentials/password_done.html", changed=bool(existing), **_sign_in())


def _say_what_the_lost_attempt_did(has_password: bool) -> None:
    """After a lost answer, say whether the password was set; a change AWS does not reveal, so say how to tell."""
    found = lost.settle("password", [])
    if found is None:
        return
    if found[1] == "set":
        lost.say(has_password and _("AWS did set your console password on your last attempt, although its answer "
                                    "was lost. You can sign in to the console with it."),
                 _("Your last attempt did not set a console password. Set it again."))
        return
    flash(_("AWS's answer to your last password change was lost, and AWS does not show whether a password "
            "changed. Sign in to the console with the new password; if it is refused, the old one still works."),
          "info")


@bp.route("/password/remove", methods=["GET", "POST"])
@login_required
@stepup.mfa_session()
def remove_password():
    """Remove console access after a confirmation; access keys and MFA stay as they are."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("long_term_credentials/remove_password.html", form=form, **_sign_in())
    with lost.watch(), attempt(Action.CONSOLE_PASSWORD_REMOVED, current_actor()):
        login_profile.remove(portal().mfa_client("iam"), current_user.user_name)
    flash(_("Console access is removed. Your access keys and MFA device work as before."), "success")
    return redirect(url_for("long_term_credentials.keys"))
