"""MFA device views: the list, a hardware token, a backup device where allowed, removing one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import stepup
from ..errors import CodeAlreadyUsed, CodeRejected, PortalError, Refusal
from ..forms import CodeForm, EmptyForm, form_problem
from ..login import current_actor
from ..long_term_credentials import lost
from ..services import audit, codes, devices
from ..services.audit import Action
from ..services.devices import enrollment
from ..sessions import portal
from . import bp
from .forms import BackupDeviceForm, HardwareTokenForm


def _owned(including: str | None = None) -> list[devices.Device]:
    """The person's devices as AWS lists them (hardware and FIDO too)."""
    return devices.owned(portal(), including=including)


def _page(form: HardwareTokenForm | None = None, error: PortalError | None = None, status: int = 200,
          backup_form: BackupDeviceForm | None = None, backup_error: PortalError | None = None):
    """Render the device list, the backup-device form where allowed and the hardware-token form."""
    pattern = current_app.config["MFA_BACKUP_NAME_PATTERN"]
    owned = _say_what_lost_attempts_did()
    return render_template("devices/index.html", devices=owned, form=form or HardwareTokenForm(),
                           error=error, backup=devices.backup_allowed(pattern),
                           backup_form=backup_form or BackupDeviceForm(formdata=None), backup_error=backup_error,
                           next_code_in=codes.seconds_until_next()), status


def _say_what_lost_attempts_did() -> list[devices.Device]:
    """List the devices, first (after a lost answer) asking AWS afresh and saying what the last attempt did."""
    owned = devices.owned(portal(), fresh=lost.pending("token_enabled") or lost.pending("device_removed"))
    serials = [d.serial for d in owned]
    found = lost.settle("token_enabled", serials)
    if found is not None:
        lost.say(found[1] in serials and _("AWS did enable your hardware token %(serial)s on your last attempt, "
                                           "although its answer was lost.", serial=found[1]),
                 _("Your last attempt did not enable the hardware token %(serial)s. Type two new codes to add it.",
                   serial=found[1]))
    found = lost.settle("device_removed", serials)
    if found is not None:
        name = devices.Device(found[1], None).name
        lost.say(found[1] not in serials and _("AWS did remove your device %(name)s on your last attempt, although "
                                               "its answer was lost.", name=name),
                 _("Your last attempt did not remove the device %(name)s. It still works.", name=name))
    return owned


@bp.route("/security/devices/backup", methods=["POST"])
@login_required
def add_backup():
    """Create a named backup virtual device, then show its QR code on the usual scan page."""
    pattern = current_app.config["MFA_BACKUP_NAME_PATTERN"]
    if not devices.backup_allowed(pattern):
        abort(404)
    form = BackupDeviceForm()
    if not form.validate_on_submit():
        return _page(backup_form=form, status=400)
    try:
        name = devices.backup_name(current_user.caller, pattern, form.label.data)
        enrollment.begin_backup(portal(), current_actor(), name)
    except Refusal as err:
        return _page(backup_form=form, backup_error=err, status=err.status)
    return redirect(url_for("devices.scan"))


@bp.route("/security/devices", methods=["GET", "POST"])
@login_required
def index():
    """List the person's MFA devices and add a hardware TOTP token with two consecutive codes."""
    form = HardwareTokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    serial = form.device.data
    try:
        code1, code2 = form.code1.data, form.code2.data
        state = portal()
        count = len(devices.list_devices(state.client("iam"), state.caller))  # AWS's own count, for its quota
        state.forget_devices()
        with lost.watch("token_enabled", target=serial):  # a lost answer: this list finds out what AWS did
            codes.submit(state, current_actor(), Action.HARDWARE_TOKEN_ENABLED, serial, (code1, code2),
                         lambda: devices.enable_hardware(state.client("iam"), state.caller, serial, code1, code2,
                                                         count))
    except Refusal as err:
        return _page(form, err, err.status)
    flash(_("Your hardware token %(serial)s is enabled. You can pick it wherever the portal asks for a code.",
            serial=serial), "success")
    return redirect(url_for("devices.index"))


def _removing_without_code_here(serial: str) -> bool:
    """Tell whether this request removes a device that needs no code typed on its page (a recent code does)."""
    if not stepup.on_post():
        return False
    owned = _owned(including=serial)  # the session's list of the last minute: the view reads it again for free
    device = next((d for d in owned if d.serial == serial), None)
    return device is not None and not (len(owned) == 1 and device.gives_codes)


@bp.route("/security/devices/remove/<path:serial>", methods=["GET", "POST"])
@login_required
@stepup.recent_code(when=_removing_without_code_here)
def remove(serial: str):
    """Remove one of the person's devices after a confirmation that warns when it is the last one."""
    owned = _owned(including=serial)
    device = next((d for d in owned if d.serial == serial), None)
    form = EmptyForm()
    if device is None and audit.attempted(Action.DEVICE_REMOVED, current_user.user_name, serial) \
            and form.validate_on_submit():
        # Pressed twice, or again after a lost answer: the device is already gone.
        flash(_("The device %(name)s is already removed.", name=devices.Device(serial, None).name), "info")
        return redirect(url_for("devices.index"))
    if device is None:
        abort(404)
    # Removing the last device is one of the most destructive changes: it asks for a code typed on this page.
    last = len(owned) == 1
    form = stepup.code_here(CodeForm) if last and device.gives_codes else EmptyForm()
    page = {"device": device, "form": form, "last": last, "next_code_in": codes.seconds_until_next()}
    if not form.validate_on_submit():
        return render_template("devices/remove.html", error=form_problem(form),
                               **page), 400 if form.errors else 200
    if isinstance(form, CodeForm):
        try:
            stepup.prove_here(form)
        except (CodeAlreadyUsed, CodeRejected) as err:
            return render_template("devices/remove.html", error=err, **page), 400
    portal().forget_devices()
    with lost.watch("device_removed", target=serial), \
            audit.attempt(Action.DEVICE_REMOVED, current_actor(), device=serial, via="security credentials"):
        devices.remove_device(portal().mfa_client("iam"), current_user.user_name, serial)
    flash(_("The device %(name)s is removed.", name=device.name), "success")
    if len(owned) == 1:
        return redirect(url_for("account.home"))
    return redirect(url_for("devices.index"))
