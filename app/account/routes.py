"""Home page and device replacement."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.routes import ask_to_sign_in
from ..errors import CodeAlreadyUsed, CodeRejected
from ..forms import EmptyForm, device_choices, form_problem
from ..login import current_actor
from ..services import devices, enrollment, todo
from ..sessions import portal
from . import bp
from .forms import ReplaceDeviceForm


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


@bp.route("/device/replace", methods=["GET", "POST"])
@login_required
def replace_device():
    """Remove the current device after a current code proves the person holds it, then enroll anew."""
    state = portal()
    owned = devices.code_givers(state, request.form.get("device"))
    if not owned:
        return redirect(url_for("account.home"))
    form = ReplaceDeviceForm()
    form.device.choices = device_choices(owned)
    if not form.validate_on_submit():
        return render_template("account/replace.html", form=form, error=form_problem(form)), 400 if form.errors else 200
    try:
        enrollment.replace(state, current_actor(), form.device.data, form.code.data,
                           current_app.config["MFA_DEVICE_NAME_PATTERN"])
    except (CodeAlreadyUsed, CodeRejected) as err:
        return render_template("account/replace.html", form=form, error=err), 400
    flash(_("Your old device is removed. Scan the new QR code with your new phone."), "success")
    return redirect(url_for("enroll.scan"))
