"""SSH public key views (CodeCommit): list with the ~/.ssh/config lines, upload, status, delete."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import AwsUnavailable, PortalError
from ..forms import EmptyForm
from ..services import audit, ssh_keys
from ..sessions import portal
from . import bp, journal, lost, stepup
from .forms import SshKeyForm, StatusForm

_KEY_ID = re.compile(r"^APKA[A-Z0-9]{16}$")


def _listed() -> list[ssh_keys.SshKey]:
    """The person's SSH keys (ListSSHPublicKeys is allowed before MFA)."""
    return ssh_keys.list_keys(portal().client("iam"), current_user.user_name)


def _own(key_id: str) -> ssh_keys.SshKey:
    """Return one of the person's SSH keys, or 404."""
    found = _own_if_there(key_id)
    if found is None:
        abort(404)
    return found


def _own_if_there(key_id: str) -> ssh_keys.SshKey | None:
    """Return one of the person's SSH keys, None if it is not there; 404 for what cannot be an SSH key ID."""
    if not _KEY_ID.match(key_id):
        abort(404)
    return next((k for k in _listed() if k.key_id == key_id), None)


def _page(form: SshKeyForm, error: PortalError | None = None, status: int = 200):
    """Render the list and the upload form, first saying what a lost upload turned out to do."""
    keys = _listed()
    found = lost.settle("ssh_upload", [k.key_id for k in keys])
    if found is not None:
        lost.say(found[0] and _("Your last upload did reach AWS: SSH key %(id)s is uploaded.", id=found[0][0]),
                 _("Your last upload did not reach AWS: no SSH key was added. Upload it again."))
    return render_template("security_credentials/ssh.html", keys=keys, form=form, act=StatusForm(), error=error,
                           ssh_configs={k.key_id: ssh_keys.ssh_config(k.key_id) for k in keys},
                           max_keys=ssh_keys.MAX_KEYS), status


@bp.route("/ssh", methods=["GET", "POST"])
@login_required
def ssh():
    """List SSH public keys and upload a new one (checked as IAM checks it before AWS sees it)."""
    form = SshKeyForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    asked = stepup.needs_recent_code()
    if asked:
        return asked
    before = [k.key_id for k in _listed()]  # to tell, should AWS's answer be lost, whether the key arrived
    try:
        with journal.attempt("ssh_key_uploaded") as attempt:
            key = ssh_keys.upload(portal().mfa_client("iam"), current_user.user_name, form.body.data)
            attempt.add(ssh_key_id=key.key_id)
    except AwsUnavailable as err:
        if err.may_have_acted:
            lost.remember("ssh_upload", before)
        raise
    except PortalError as err:
        return _page(form, err, err.status)
    flash(_("Your SSH key is uploaded. Its SSH key ID, %(id)s, is the user name for CodeCommit.", id=key.key_id),
          "success")
    return redirect(url_for("security_credentials.ssh"))


@bp.route("/ssh/<key_id>/status", methods=["POST"])
@login_required
def ssh_status(key_id: str):
    """Set the status the button names on one of the person's SSH keys; asking twice is a no-op."""
    key = _own(key_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)  # no status named: guessing it from AWS's state would undo a double click
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    if key.status == form.status.data:
        flash(_("SSH key %(id)s is already active.", id=key.key_id) if form.active
              else _("SSH key %(id)s is already inactive.", id=key.key_id), "info")
        return redirect(url_for("security_credentials.ssh"))
    with journal.attempt("ssh_key_status", ssh_key_id=key.key_id, status=form.status.data):
        ssh_keys.set_status(portal().mfa_client("iam"), current_user.user_name, key.key_id, form.active)
    flash(_("SSH key %(id)s is now active.", id=key.key_id) if form.active
          else _("SSH key %(id)s is now inactive.", id=key.key_id), "success")
    return redirect(url_for("security_credentials.ssh"))


@bp.route("/ssh/<key_id>/delete", methods=["GET", "POST"])
@login_required
def delete_ssh(key_id: str):
    """Delete one of the person's SSH keys after a confirmation; a second press says it is done."""
    form = EmptyForm()
    key = _own_if_there(key_id)
    if key is None and audit.attempted(audit.Action.SSH_KEY_DELETED, current_user.user_name, key_id) \
            and form.validate_on_submit():
        flash(_("SSH key %(id)s is already deleted.", id=key_id), "info")
        return redirect(url_for("security_credentials.ssh"))
    if key is None:
        abort(404)
    if not form.validate_on_submit():
        return render_template("security_credentials/delete_ssh.html", key=key, form=form)
    asked = stepup.needs_mfa_session()
    if asked:
        return asked
    with journal.attempt("ssh_key_deleted", ssh_key_id=key.key_id):
        ssh_keys.delete(portal().mfa_client("iam"), current_user.user_name, key.key_id)
    flash(_("SSH key %(id)s is deleted.", id=key.key_id), "success")
    return redirect(url_for("security_credentials.ssh"))
