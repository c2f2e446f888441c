"""SSH public key views (CodeCommit): the list with the ~/.ssh/config lines, and upload (status, delete: changes.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .. import stepup
from ..errors import PortalError, Refusal
from ..services import ssh_keys
from ..services.kinds import SSH_KEY
from . import bp, changes
from .forms import SshKeyForm, StatusForm


def _page(form: SshKeyForm, error: PortalError | None = None, status: int = 200):
    """Render the list and the upload form, first saying what a lost upload or delete turned out to do."""
    keys = changes.listed(SSH_KEY)
    changes.say_lost(SSH_KEY, [k.key_id for k in keys])
    return render_template("long_term_credentials/ssh.html", keys=keys, form=form, act=StatusForm(), error=error,
                           ssh_configs={k.key_id: ssh_keys.ssh_config(k.key_id) for k in keys},
                           kind=SSH_KEY, pages=changes.PAGES[SSH_KEY.name]), status


@bp.route("/ssh", methods=["GET", "POST"])
@login_required
@stepup.recent_code(when=stepup.on_post)
def ssh():
    """List SSH public keys and upload a new one (checked as IAM checks it before AWS sees it)."""
    form = SshKeyForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    try:
        key = changes.upload(SSH_KEY, form.body.data)
    except Refusal as err:
        return _page(form, err, err.status)
    flash(_("Your SSH key is uploaded. Its SSH key ID, %(id)s, is the user name for CodeCommit.", id=key.key_id),
          "success")
    return redirect(url_for("long_term_credentials.ssh"))
