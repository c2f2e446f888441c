"""Home page and device replacement."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from .. import current, vault
from ..enroll.routes import begin
from ..errors import CodeAlreadyUsed, CodeRejected, InvalidInput
from ..forms import EmptyForm, device_choices
from ..limits import limit_code_checks
from ..services import audit, codes, devices
from ..services.credentials import MIN_DURATION, get_session_token
from . import bp
from .forms import ReplaceDeviceForm


@bp.route("/")
def home():
    """Show the person's MFA status and the one thing to do next."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    owned = devices.list_devices(current.client("iam"), current_user.caller)
    return render_template("account/home.html", devices=owned, pending=bool(session.get("pending")),
                           alias=current.alias(), caller=current_user.caller, start_form=EmptyForm(),
                           has_credentials=current.mfa_credentials() is not None)


@bp.route("/device/replace", methods=["GET", "POST"])
@login_required
@limit_code_checks
def replace_device():
    """Remove the current device after a current code proves the person holds it, then enroll anew."""
    iam = current.client("iam")
    owned = [d for d in devices.list_devices(iam, current_user.caller) if d.gives_codes]
    if not owned:
        return redirect(url_for("account.home"))
    form = ReplaceDeviceForm()
    form.device.choices = device_choices(owned)
    if not form.validate_on_submit():
        return render_template("account/replace.html", form=form), 400 if form.errors else 200
    serial = form.device.data
    try:
        code = codes.normalise(form.code.data)
        codes.refuse_reuse(code, session.get("used_codes", []), serial)
        # AWS itself checks the code; the short MFA session it yields is what may deactivate the device.
        with current.spending_codes(serial, code):
            proof = get_session_token(current.client("sts"), serial, code, MIN_DURATION)
    except (InvalidInput, CodeAlreadyUsed, CodeRejected) as err:
        if isinstance(err, CodeRejected):
            audit.record("device_replaced", outcome="failure", device=serial, reason="code rejected")
        return render_template("account/replace.html", form=form, error=err), 400
    vault.put(session_credentials=proof.as_dict())
    devices.remove_device(current.mfa_client("iam"), current_user.user_name, serial)
    audit.record("device_removed", device=serial, via="replace")
    session["replacing"] = True
    begin(iam)
    flash("Your old device is removed. Scan the new QR code with your new phone.", "success")
    return redirect(url_for("enroll.scan"))
