"""Signing-certificate views: the list with ID, status and upload date, and upload (status, delete: changes.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .. import stepup
from ..errors import Refusal
from ..services.kinds import SIGNING_CERT
from . import bp, changes
from .forms import CertificateForm, StatusForm


@bp.route("/certificates", methods=["GET", "POST"])
@login_required
@stepup.mfa_session()  # ListSigningCertificates needs the MFA session
@stepup.recent_code(when=stepup.on_post)
def certificates():
    """List signing certificates and upload one (a code within 5 minutes)."""
    form, error = CertificateForm(), None
    if form.validate_on_submit():
        try:
            cert = changes.upload(SIGNING_CERT, form.body.data)
        except Refusal as err:
            error = err
        else:
            flash(_("Certificate %(id)s is uploaded.", id=cert.cert_id), "success")
            return redirect(url_for("long_term_credentials.certificates"))
    status = error.status if error else 400 if form.errors else 200
    certs = changes.listed(SIGNING_CERT)
    changes.say_lost(SIGNING_CERT, [c.cert_id for c in certs])
    return render_template("long_term_credentials/certificates.html", certs=certs, form=form, error=error,
                           act=StatusForm(), kind=SIGNING_CERT,
                           pages=changes.PAGES[SIGNING_CERT.name]), status
