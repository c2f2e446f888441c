"""Session-credential views."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .. import stepup
from ..errors import CodeAlreadyUsed, CodeRejected, InvalidInput
from ..forms import CodeForm, EmptyForm, device_choices, form_problem
from ..login import current_actor
from ..redirects import safe_next
from ..services import codes, devices, formats, session_credentials
from ..sessions import portal
from . import bp
from .forms import CredentialsForm


@bp.route("", methods=["GET", "POST"])
@login_required
def get():
    """Type one code, pick a duration, receive MFA session credentials."""
    state = portal()
    owned = devices.code_givers(state, request.form.get("device"))
    if not owned:
        return _set_up_a_device_first(_("Set up an MFA device first; then you can get session credentials."))
    form = CredentialsForm()
    form.device.choices = device_choices(owned)
    enrolling = state.enrolling
    if request.method == "GET":
        form.device.data = enrolling if enrolling in {d.serial for d in owned} else owned[0].serial
    if not form.validate_on_submit():
        return _render(form, enrolling, status=400 if form.errors else 200)
    config = current_app.config
    try:
        completed = session_credentials.issue(state, current_actor(), form.device.data, form.code.data,
                                              int(form.duration.data), form.profile.data, config["ADMIN_USERS"],
                                              config["ADMIN_GROUPS"])
    except (CodeAlreadyUsed, CodeRejected) as err:
        return _render(form, enrolling, error=err, status=400)
    if completed:
        flash(_("Your MFA device works. Enrollment is complete."), "success")
    return redirect(safe_next(request.args.get("next")) or url_for("session_credentials.result"))


@bp.route("/code", methods=["GET", "POST"])
@login_required
def confirm():
    """Type one code to unlock the change the person was making, told in words, then go back to it."""
    state = portal()
    owned = devices.code_givers(state, request.form.get("device"))
    if not owned:  # the change asked for needs a code, and there is no device to give one
        return _set_up_a_device_first(_("Set up an MFA device first: this step needs a code from it."))
    form = CodeForm()
    form.device.choices = device_choices(owned)
    if request.method == "GET":
        form.device.data = state.credentials_choice.device if state.credentials_choice.device in {
            d.serial for d in owned} else owned[0].serial
    target = safe_next(request.args.get("next"))
    page = {"form": form, "unlocks": stepup.unlocks(target), "why": request.args.get("why"),
            "next_code_in": codes.seconds_until_next()}
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("session_credentials/confirm.html", error=form_problem(form), **page), status
    config = current_app.config
    try:
        session_credentials.confirm(state, current_actor(), form.device.data, form.code.data,
                                    config["ADMIN_USERS"], config["ADMIN_GROUPS"])
    except (CodeAlreadyUsed, CodeRejected) as err:
        return render_template("session_credentials/confirm.html", error=err, **page), 400
    return redirect(target or url_for("account.home"))


def _set_up_a_device_first(why: str):
    """Send a person without a device that gives codes to the home page, where setting one up starts."""
    flash(why, "info")
    return redirect(url_for("account.home"))


def _render(form: CredentialsForm, enrolling: str | None, error=None, status: int = 200):
    """Render the code form, with the enrollment step indicator while enrolling."""
    error = error or form_problem(form)
    return render_template("session_credentials/get.html", form=form, enrolling=bool(enrolling), error=error,
                           next_code_in=codes.seconds_until_next()), status


@bp.route("/result")
@login_required
def result():
    """Show the credentials in every format, with their expiry."""
    state = portal()
    creds = state.mfa_credentials
    if creds is None:
        flash(_("You have no current session credentials. Type a code to get new ones."), "info")
        return redirect(url_for("session_credentials.get"))
    profile = state.credentials_choice.profile
    if "profile" in request.args:
        try:
            profile = formats.check_profile(request.args["profile"])
        except InvalidInput as err:
            flash(err.message, "error")
    region = current_app.config["AWS_REGION"]
    snippets = {fmt: formats.render(fmt, creds, profile, region) for fmt in formats.FORMATS}
    remaining = creds.expiration - datetime.now(UTC)
    return render_template("session_credentials/result.html", snippets=snippets, labels=formats.FORMATS,
                           profile=profile, expiration=creds.expiration, remaining=remaining,
                           forget_form=EmptyForm(), process_file=formats.process_file(profile),
                           process_config=formats.process_config(profile, region))


@bp.route("/download")
@login_required
def download():
    """Give one snippet as a file: the INI block for ~/.aws/credentials, a shell's to source, the JSON to save."""
    state = portal()
    creds = state.mfa_credentials
    if creds is None:
        return redirect(url_for("session_credentials.get"))
    try:
        profile = formats.check_profile(request.args.get("profile") or state.credentials_choice.profile)
        fmt = request.args.get("format", "ini")
        name, mime = formats.file_name(fmt, profile)
    except InvalidInput as err:
        flash(err.message, "error")
        return redirect(url_for("session_credentials.result"))
    body = formats.render(fmt, creds, profile, current_app.config["AWS_REGION"])
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.route("/forget", methods=["POST"])
@login_required
def forget():
    """Drop the session credentials from the portal (they stay valid in AWS until expiry)."""
    if EmptyForm().validate_on_submit():
        portal().forget_credentials()
        flash(_("The portal has forgotten your session credentials."), "success")
    return redirect(url_for("account.home"))
