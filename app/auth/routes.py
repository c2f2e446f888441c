"""Sign-in and sign-out views."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_url, login_user, logout_user

from ..errors import InvalidInput, KeysRefused, KeysRejected
from ..forms import EmptyForm
from ..limits import limit_sign_ins
from ..login import PortalUser, current_actor
from ..redirects import safe_next
from ..security import plain_http_refused
from ..services import signin
from ..session_interface import WAS_SIGNED_IN, marker_options
from ..sessions import portal
from . import bp
from .forms import SignInForm


@bp.route("/login", methods=["GET", "POST"])
@limit_sign_ins
def login():
    """Sign in with the IAM user's access key pair."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("account.home"))
    form = SignInForm()
    insecure = plain_http_refused()
    if request.method == "POST" and insecure:
        signin.refuse_plain_http(current_actor())
        return render_template("auth/login.html", form=form, insecure=True), 400
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, insecure=insecure), 400 if form.errors else 200
    state = portal()
    try:
        signed = signin.check_keys(form.access_key_id.data, form.secret_access_key.data, state.settings,
                                   current_actor())
    except (InvalidInput, KeysRejected, KeysRefused) as err:
        if err.field:
            field = getattr(form, err.field)
            field.errors = [*field.errors, err.message]  # marked like any field error (aria-invalid, its message)
        return render_template("auth/login.html", form=form, error=err), err.status
    # A brand-new session id at every sign-in (the store entry is created at the end of this request)
    # defeats session fixation.
    state.begin(signed.caller, signed.keys, signed.alias)
    login_user(PortalUser(signed.caller))
    signin.signed_in(current_actor())
    response = redirect(safe_next(request.args.get("next")) or url_for("account.home"))
    config = current_app.config
    response.set_cookie(WAS_SIGNED_IN, "1", max_age=int((config["ABSOLUTE_TIMEOUT"] + config["IDLE_TIMEOUT"])
                                                        .total_seconds()), **marker_options())
    return response


def ask_to_sign_in(quiet: bool = False) -> Response:
    """Send a visitor to sign in, saying when and why their session ended rather than asking to sign in 'first'."""
    if request.cookies.get(WAS_SIGNED_IN):
        minutes = int(current_app.config["IDLE_TIMEOUT"].total_seconds() // 60)
        flash(ngettext("Your session ended after %(num)s minute without activity, so the portal forgot your keys. "
                       "Sign in again to continue.",
                       "Your session ended after %(num)s minutes without activity, so the portal forgot your keys. "
                       "Sign in again to continue.", minutes), "info")
    elif quiet:
        return redirect(url_for("auth.login"))
    else:
        flash(_("Please sign in with your access key pair first."), "info")
    response = redirect(login_url("auth.login", request.url) if not quiet else url_for("auth.login"))
    response.delete_cookie(WAS_SIGNED_IN, **marker_options())
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and forget every key, seed and credential of this session."""
    form = EmptyForm()
    if form.validate_on_submit():
        signin.signed_out(current_actor())
        logout_user()
        # Deletes the store entry: requests still in flight can no longer write to it.
        portal().end()
        flash(_("You are signed out. The portal has forgotten your keys."), "success")
    response = redirect(url_for("auth.login"))
    response.delete_cookie(WAS_SIGNED_IN, **marker_options())
    return response
