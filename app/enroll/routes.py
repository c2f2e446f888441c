"""Enrollment views: thin wrappers around the devices service."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from .. import current, vault
from ..errors import CodeRejected, DeviceProblem, InvalidInput
from ..forms import EmptyForm, device_choices
from ..limits import limit_code_checks
from ..services import audit, codes, devices, qr
from . import bp
from .forms import ResyncForm, VerifyForm


def _issuer() -> str:
    """Name shown in the authenticator app: configured, else the account alias, else the account."""
    caller = current_user.caller
    return current_app.config["MFA_ISSUER"] or current.alias() or f"AWS {caller.account}"


def _pending() -> tuple[dict, str] | None:
    """Return the device being enrolled and its seed, if this session has one."""
    pending, seed = session.get("pending"), vault.get("pending_seed")
    return (pending, seed) if pending and seed else None


@bp.route("/start", methods=["POST"])
@login_required
def start():
    """Create the virtual device (replacing an abandoned one) and show its QR code."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("account.home"))
    iam = current.client("iam")
    existing = devices.list_devices(iam, current_user.caller)
    pending = session.get("pending")
    if pending and pending["serial"] in {d.serial for d in existing}:
        # An earlier attempt enabled it but its answer was lost: finish that setup, don't loop back to it.
        # The audit log decides when enrollment is complete, so it must learn of the enabling too.
        vault.drop("pending_seed")
        session.pop("pending")
        session["enrolling"] = pending["serial"]
        audit.record("device_enabled", device=pending["serial"], reason="found enabled on retry",
                     first_enrollment=not session.pop("replacing", False))
    if existing:
        flash("You already have an MFA device. To switch phones, use 'Replace device'.", "info")
        return redirect(url_for("account.home"))
    begin(iam)
    return redirect(url_for("enroll.scan"))


def begin(iam) -> None:
    """Create the device (recovering an abandoned one) and keep its seed in the vault only."""
    caller = current_user.caller
    name = devices.device_name(caller, current_app.config["MFA_DEVICE_NAME_PATTERN"])
    try:
        new = devices.create_device(iam, caller, name)
    except DeviceProblem as err:
        audit.record("device_created", outcome="failure", reason=err.message)
        raise
    if new.replaced_stale:
        audit.record("stale_device_replaced", device=new.serial)
    audit.record("device_created", device=new.serial)
    vault.put(pending_seed=new.seed)
    session["pending"] = {"serial": new.serial, "created": time.time()}


@bp.route("/scan")
@login_required
def scan():
    """Show the QR code, the manual key and the two-code form."""
    found = _pending()
    if not found:
        flash("Start the setup to get a QR code.", "info")
        return redirect(url_for("account.home"))
    return _render_scan(VerifyForm(), found)


def _render_scan(form: VerifyForm, found: tuple[dict, str], error=None, status: int = 200):
    """Render the scan-and-verify page."""
    pending, seed = found
    uri = qr.otpauth_uri(_issuer(), current_user.user_name, seed)
    return render_template("enroll/scan.html", form=form, start_form=EmptyForm(), manual_key=qr.grouped(seed),
                           otpauth_uri=uri, qr_svg=qr.qr_svg(uri), issuer=_issuer(), serial=pending["serial"],
                           error=error, next_code_in=codes.seconds_until_next()), status


@bp.route("/verify", methods=["POST"])
@login_required
@limit_code_checks
def verify():
    """Enable the device with two consecutive codes."""
    found = _pending()
    if not found:
        flash("That setup had expired, so nothing was enabled. Start again to get a new QR code.", "info")
        return redirect(url_for("account.home"))
    form = VerifyForm()
    if not form.validate_on_submit():
        return _render_scan(form, found, status=400)
    serial = found[0]["serial"]
    try:
        code1, code2 = codes.normalise_pair(form.code1.data, form.code2.data)
        with current.spending_codes(serial, code1, code2):
            devices.enable_device(current.client("iam"), current_user.caller, serial, code1, code2)
    except (InvalidInput, CodeRejected) as err:
        if isinstance(err, CodeRejected):
            audit.record("device_enabled", outcome="failure", device=serial, reason="codes rejected")
        return _render_scan(form, found, error=err, status=400)
    # The seed is dropped the moment AWS holds the device: it is never needed again.
    vault.drop("pending_seed")
    session.pop("pending", None)
    session["enrolling"] = serial
    audit.record("device_enabled", device=serial, first_enrollment=not session.pop("replacing", False))
    flash("Your MFA device is enabled. Last step: prove it works and get your credentials.", "success")
    return redirect(url_for("credentials.get"))


@bp.route("/resync", methods=["GET", "POST"])
@login_required
@limit_code_checks
def resync():
    """Resynchronise a device whose codes AWS no longer accepts."""
    form = ResyncForm()
    owned = [d for d in devices.list_devices(current.client("iam"), current_user.caller) if d.gives_codes]
    if not owned:
        flash("You have no MFA device to resync yet.", "info")
        return redirect(url_for("account.home"))
    form.device.choices = device_choices(owned)
    if not form.validate_on_submit():
        return render_template("enroll/resync.html", form=form), 400 if form.errors else 200
    try:
        code1, code2 = codes.normalise_pair(form.code1.data, form.code2.data)
        with current.spending_codes(form.device.data, code1, code2):
            devices.resync_device(current.client("iam"), current_user.caller, form.device.data, code1, code2)
    except (InvalidInput, CodeRejected) as err:
        if isinstance(err, CodeRejected):
            audit.record("device_resynced", outcome="failure", device=form.device.data)
        return render_template("enroll/resync.html", form=form, error=err), 400
    audit.record("device_resynced", device=form.device.data)
    flash("Your device is back in sync. Wait for the next code, then get your credentials.", "success")
    return redirect(url_for("credentials.get"))
