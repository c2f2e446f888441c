"""Signing-certificate views: the list with ID, status and upload date, and upload (status, delete: changes.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import stepup
from ..errors import Refusal
from ..login import current_actor
from ..services import signing_certs
from ..services.audit import Action, attempt
from ..services.kinds import SIGNING_CERT
from ..sessions import portal
from . import bp, changes, lost
from .forms import CertificateForm, StatusForm


@bp.route("/certificates", methods=["GET", "POST"])
@login_required
@stepup.mfa_session()  # ListSigningCertificates needs the MFA session
@stepup.recent_code(when=stepup.on_post)
def certificates():
    """List signing certificates and upload one (a code within 5 minutes)."""
    form, error = CertificateForm(), None
    if form.validate_on_submit():
        before = [c.cert_id for c in changes.listed(SIGNING_CERT)]  # to tell, should AWS's answer be lost
        try:
            with lost.watch("cert_upload", before), attempt(Action.SIGNING_CERT_UPLOADED, current_actor()) as pending:
                cert = signing_certs.upload(portal().mfa_client("iam"), current_user.user_name, form.body.data)
                pending.add(cert_id=cert.cert_id)
        except Refusal as err:
            error = err
        else:
            flash(_("Certificate %(id)s is uploaded.", id=cert.cert_id), "success")
            return redirect(url_for("long_term_credentials.certificates"))
    status = error.status if error else 400 if form.errors else 200
    certs = changes.listed(SIGNING_CERT)
    found = lost.settle("cert_upload", [c.cert_id for c in certs])
    if found is not None:
        lost.say(found[0] and _("Your last upload did reach AWS: certificate %(id)s is uploaded.", id=found[0][0]),
                 _("Your last upload did not reach AWS: no certificate was added. Upload it again."))
    changes.say_lost_delete(SIGNING_CERT, [c.cert_id for c in certs])
    return render_template("long_term_credentials/certificates.html", certs=certs, form=form, error=error,
                           act=StatusForm(), kind=SIGNING_CERT,
                           pages=changes.PAGES[SIGNING_CERT.name]), status
