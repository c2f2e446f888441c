"""Signing-certificate views: list with ID, status and upload date; upload a PEM; status; delete."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import AwsUnavailable, PortalError
from ..forms import EmptyForm
from ..services import audit, signing_certs
from ..sessions import portal
from . import bp, journal, lost, stepup
from .forms import CertificateForm, StatusForm

_CERT_ID = re.compile(r"^[A-Za-z0-9]{16,128}$")  # AWS: upper case; moto: lower


def _listed() -> list[signing_certs.SigningCert]:
    """The person's certificates (ListSigningCertificates needs the MFA session)."""
    return signing_certs.list_certs(portal().mfa_client("iam"), current_user.user_name)


def _own(cert_id: str) -> signing_certs.SigningCert:
    """Return one of the person's certificates, or 404."""
    found = next((c for c in _listed() if c.cert_id == cert_id), None) if _CERT_ID.match(cert_id) else None
    if found is None:
        abort(404)
    return found


@bp.route("/certificates", methods=["GET", "POST"])
@login_required
def certificates():
    """List signing certificates and upload one (a code within 5 minutes)."""
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    form, error = CertificateForm(), None
    if form.validate_on_submit():
        asked = stepup.needs_recent_code()
        if asked:
            return asked
        before = [c.cert_id for c in _listed()]  # to tell, should AWS's answer be lost, whether it arrived
        try:
            with journal.attempt("signing_cert_uploaded") as attempt:
                cert = signing_certs.upload(portal().mfa_client("iam"), current_user.user_name, form.body.data)
                attempt.add(cert_id=cert.cert_id)
        except AwsUnavailable as err:
            if err.may_have_acted:
                lost.remember("cert_upload", before)
            raise
        except PortalError as err:
            error = err
        else:
            flash(_("Certificate %(id)s is uploaded.", id=cert.cert_id), "success")
            return redirect(url_for("security_credentials.certificates"))
    status = error.status if error else 400 if form.errors else 200
    certs = _listed()
    found = lost.settle("cert_upload", [c.cert_id for c in certs])
    if found is not None:
        lost.say(found[0] and _("Your last upload did reach AWS: certificate %(id)s is uploaded.", id=found[0][0]),
                 _("Your last upload did not reach AWS: no certificate was added. Upload it again."))
    return render_template("security_credentials/certificates.html", certs=certs, form=form, error=error,
                           act=StatusForm(), max_certs=signing_certs.MAX_CERTS), status


@bp.route("/certificates/<cert_id>/status", methods=["POST"])
@login_required
def cert_status(cert_id: str):
    """Set the status the button names on one of the person's certificates; asking twice is a no-op."""
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    cert = _own(cert_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)  # no status named: guessing it from AWS's state would undo a double click
    if cert.status == form.status.data:
        flash(_("Certificate %(id)s is already active.", id=cert.cert_id) if form.active
              else _("Certificate %(id)s is already inactive.", id=cert.cert_id), "info")
        return redirect(url_for("security_credentials.certificates"))
    with journal.attempt("signing_cert_status", cert_id=cert.cert_id, status=form.status.data):
        signing_certs.set_status(portal().mfa_client("iam"), current_user.user_name, cert.cert_id, form.active)
    flash(_("Certificate %(id)s is now active.", id=cert.cert_id) if form.active
          else _("Certificate %(id)s is now inactive.", id=cert.cert_id), "success")
    return redirect(url_for("security_credentials.certificates"))


@bp.route("/certificates/<cert_id>/delete", methods=["POST"])
@login_required
def delete_cert(cert_id: str):
    """Delete one of the person's certificates (the list page's button asks the browser to confirm first)."""
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    if not _CERT_ID.match(cert_id):
        abort(404)
    cert = next((c for c in _listed() if c.cert_id == cert_id), None)
    if cert is None and audit.attempted(audit.Action.SIGNING_CERT_DELETED, current_user.user_name, cert_id) \
            and EmptyForm().validate_on_submit():
        flash(_("Certificate %(id)s is already deleted.", id=cert_id), "info")
        return redirect(url_for("security_credentials.certificates"))
    if cert is None:
        abort(404)
    if EmptyForm().validate_on_submit():
        with journal.attempt("signing_cert_deleted", cert_id=cert.cert_id):
            signing_certs.delete(portal().mfa_client("iam"), current_user.user_name, cert.cert_id)
        flash(_("Certificate %(id)s is deleted.", id=cert.cert_id), "success")
    return redirect(url_for("security_credentials.certificates"))
