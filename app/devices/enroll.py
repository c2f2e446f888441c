"""Enrollment, the devices area's sub-flow: start, scan, verify, resync, replace a device."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..domain import PendingDevice
from ..errors import AlreadyEnrolled, CodeAlreadyUsed, CodeRejected, SetupExpired, SetupRestarted
from ..forms import EmptyForm, device_choices, form_problem
from ..i18n import sentences
from ..login import current_actor
from ..services import codes, devices, qr
from ..services.devices import enrollment
from ..sessions import portal
from . import bp
from .forms import ReplaceDeviceForm, ResyncForm, VerifyForm


def _issuer() -> str:
    """Name shown in the authenticator app: configured, else the account alias, else the account."""
    state = portal()
    return current_app.config["MFA_ISSUER"] or state.alias or f"AWS {state.caller.account}"


@bp.route("/enroll/start", methods=["POST"])
@login_required
def start():
    """Create the virtual device (replacing an abandoned one) and show its QR code."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("account.home"))
    try:
        enrollment.start(portal(), current_actor(), current_app.config["MFA_DEVICE_NAME_PATTERN"])
    except AlreadyEnrolled as err:
        flash(err.message, "info")
        return redirect(url_for("account.home"))
    return redirect(url_for("devices.scan"))


@bp.route("/enroll/scan")
@login_required
def scan():
    """Show the QR code, the manual key and the two-code form."""
    state = portal()
    pending = state.pending
    if pending is None:
        # Back from the next step: the device is enabled, and its QR code is gone for good (as it should be).
        if state.enrolling:
            flash(_("Your MFA device is already enabled, so its QR code is no longer shown. Last step: type one "
                    "new code to prove it works."), "info")
            return redirect(url_for("session_credentials.get"))
        if devices.owned(state):
            flash(_("Your MFA device is already set up, so its QR code is no longer shown."), "info")
        else:
            flash(_("Start the setup to get a QR code."), "info")
        return redirect(url_for("account.home"))
    return _render_scan(VerifyForm(), pending)


def _render_scan(form: VerifyForm, pending: PendingDevice, error=None, status: int = 200):
    """Render the scan-and-verify page."""
    error = error or form_problem(form)
    state = portal()
    # A backup is listed in the app under its own name, so the person can tell the two entries apart.
    label = pending.name if state.adding_backup else state.caller.user_name
    uri = qr.otpauth_uri(_issuer(), label, pending.seed)
    form.setup.data = pending.tag  # the QR shown now: a verify from a page showing an older one is told so
    return render_template("devices/scan.html", form=form, start_form=EmptyForm(), manual_key=qr.grouped(pending.seed),
                           otpauth_uri=uri, qr_svg=qr.qr_svg(uri), issuer=_issuer(), serial=pending.serial,
                           account_label=label, backup=state.adding_backup,
                           error=error, next_code_in=codes.seconds_until_next()), status


@bp.route("/enroll/verify", methods=["POST"])
@login_required
def verify():
    """Enable the device with two consecutive codes."""
    state = portal()
    pending = state.pending
    if pending is None:
        flash(sentences(SetupExpired().message, _("Start again to get a new QR code.")), "info")
        return redirect(url_for("account.home"))
    form = VerifyForm()
    if not form.validate_on_submit():
        return _render_scan(form, pending, status=400)
    backup = state.adding_backup
    try:
        enrollment.verify(state, current_actor(), form.code1.data, form.code2.data, shown=form.setup.data)
    except SetupRestarted as err:
        return _render_scan(VerifyForm(formdata=None), state.pending, error=err, status=err.status)
    except (CodeAlreadyUsed, CodeRejected) as err:
        return _render_scan(form, pending, error=err, status=400)
    if backup:
        flash(_("Your backup device %(name)s is enabled. Pick it wherever the portal asks for a code.",
                name=pending.name), "success")
        return redirect(url_for("devices.index"))
    flash(_("Your MFA device is enabled. Last step: prove it works and get your credentials."), "success")
    return redirect(url_for("session_credentials.get"))


@bp.route("/enroll/resync", methods=["GET", "POST"])
@login_required
def resync():
    """Resynchronise a device whose codes AWS no longer accepts."""
    state = portal()
    form = ResyncForm()
    owned = devices.code_givers(state, request.form.get("device"))
    if not owned:
        flash(_("You have no MFA device to resync yet."), "info")
        return redirect(url_for("account.home"))
    form.device.choices = device_choices(owned)
    if not form.validate_on_submit():
        return render_template("devices/resync.html", form=form, error=form_problem(form)), 400 if form.errors else 200
    try:
        enrollment.resync(state, current_actor(), form.device.data, form.code1.data, form.code2.data)
    except (CodeAlreadyUsed, CodeRejected) as err:
        return render_template("devices/resync.html", form=form, error=err), 400
    flash(_("Your device is back in sync. Wait for the next code, then get your credentials."), "success")
    return redirect(url_for("session_credentials.get"))


@bp.route("/device/replace", methods=["GET", "POST"])
@login_required
def replace():
    """Remove the current device after a current code proves the person holds it, then enroll anew."""
    state = portal()
    owned = devices.code_givers(state, request.form.get("device"))
    if not owned:
        return redirect(url_for("account.home"))
    form = ReplaceDeviceForm()
    form.device.choices = device_choices(owned)
    if not form.validate_on_submit():
        return render_template("devices/replace.html", form=form, error=form_problem(form)), 400 if form.errors else 200
    try:
        enrollment.replace(state, current_actor(), form.device.data, form.code.data,
                           current_app.config["MFA_DEVICE_NAME_PATTERN"])
    except (CodeAlreadyUsed, CodeRejected) as err:
        return render_template("devices/replace.html", form=form, error=err), 400
    flash(_("Your old device is removed. Scan the new QR code with your new phone."), "success")
    return redirect(url_for("devices.scan"))
