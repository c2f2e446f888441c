"""Access-key views: the list and rotation of the signed-in key (status and deletion: changes.py, shared)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import stepup
from ..domain import NewKey, Rotation
from ..error_pages import ON_STORE_FAILURE
from ..errors import CodeAlreadyUsed, CodeRejected, LimitReached, PortalError
from ..forms import EmptyForm, form_problem
from ..login import current_actor
from ..services import access_keys, audit, cli_profiles, codes, rotation
from ..services.kinds import ACCESS_KEY
from ..sessions import portal
from . import bp, changes
from .forms import RotateForm, StatusForm


def _keys(iam=None) -> list[access_keys.AccessKey]:
    """List the person's keys; ListAccessKeys works with the long-term key, before MFA too."""
    return access_keys.list_keys(iam or portal().client("iam"), current_user.user_name, portal().keys().access_key_id)


@bp.route("/keys")
@login_required
def keys():
    """List the person's access keys, their age, status and (where the policy allows) last use."""
    listed = _keys()
    changes.say_lost_delete(ACCESS_KEY, [k.key_id for k in listed])
    orphans = rotation.orphans(listed, rotation.lost_before(portal()), audit.lost_secrets(current_user.user_name))
    if current_user.has_mfa_session:
        listed = access_keys.with_last_use(portal().mfa_client("iam"), listed)
    rotation_left = access_keys.unfinished_rotation(current_user.user_name, listed)
    return render_template("long_term_credentials/keys.html", keys=listed,
                           stale_days=current_app.config["FINDINGS_KEY_AGE_DAYS"], rotation_left=rotation_left,
                           in_use=portal().keys().access_key_id,
                           hidden=access_keys.HIDDEN, needs_mfa=access_keys.NEEDS_MFA, form=StatusForm(),
                           orphans=orphans, kind=ACCESS_KEY, pages=changes.PAGES[ACCESS_KEY.name])


@bp.route("/keys/rotate", methods=["GET", "POST"])
@login_required
def rotate():
    """Replace the key the portal signs with by a new one only the person knows, with a code typed right here."""
    form = stepup.code_here(RotateForm)
    if form.is_submitted() and rotation.made_already(portal()):
        # Pressed twice: the first press made the key and its secret waits on the next page.
        flash(_("Your new key is already made: here it is."), "info")
        return redirect(url_for("long_term_credentials.new_key"))
    plan = rotation.plan(_keys(), rotation.lost_before(portal()), audit.lost_secrets(current_user.user_name))
    if not form.validate_on_submit() or plan.blocker:
        status = 409 if plan.blocker and form.is_submitted() else 400 if form.errors else 200
        return _rotate_page(form, plan, status=status)
    try:
        stepup.prove_here(form)
    except (CodeAlreadyUsed, CodeRejected) as err:
        return _rotate_page(form, plan, error=err, status=400)
    try:
        rotation.rotate(portal(), current_actor(), current_user.caller, plan, form.profile.data, made=_keep_watch)
    except LimitReached:
        # Another tab or window took the second slot a moment ago: AWS's quota lets only one rotation win.
        flash(_("Another window has just created a new key, so this one did not. Continue there, or check the "
                "keys below."), "info")
        return redirect(url_for("long_term_credentials.keys"))
    return redirect(url_for("long_term_credentials.new_key"))


def _keep_watch(new: NewKey) -> None:
    """Have the error page record and say that the new key's secret was lost, should the session store fail."""
    # Until the session is saved the secret lives only in this request; the keys page then offers to delete the key.
    g.setdefault(ON_STORE_FAILURE, lambda: rotation.secret_not_kept(current_actor(), new.key_id))


def _rotate_page(form: RotateForm, plan: rotation.Plan, error: PortalError | None = None, status: int = 200):
    """Render the rotation page: the plan, or what blocks it, and the form with its code."""
    # Said to have been seen by an administrator only when the portal knows (its audit), never guessed.
    handed = plan.in_use is not None and (portal().enrolled_first_with == plan.in_use.key_id or access_keys.key_origin(
        current_user.user_name, plan.in_use) is access_keys.KeyOrigin.ADMINISTRATOR)
    return render_template("long_term_credentials/rotate.html", form=form, plan=plan, act=EmptyForm(), handed=handed,
                           error=error or form_problem(form), next_code_in=codes.seconds_until_next()), status


@bp.route("/keys/new")
@login_required
def new_key():
    """Show the new key's secret exactly once, with its downloads embedded in this one page."""
    held = portal().take_new_key()
    if held is None:
        flash(_("A new key's secret is shown only once. If you did not save it, delete that key and rotate again."),
              "info")
        return redirect(url_for("long_term_credentials.keys"))
    ini = cli_profiles.credentials_profile(held.key, held.profile, current_app.config["AWS_REGION"])
    files = {"csv": cli_profiles.data_uri(cli_profiles.console_csv(held.key), "text/csv"),
             "ini": cli_profiles.data_uri(ini, "text/plain")}
    return render_template("long_term_credentials/new_key.html", new=held.key, profile=held.profile, files=files,
                           ini=ini, flow=portal().rotation() or Rotation(), form=EmptyForm())


@bp.route("/keys/rotate/finish", methods=["GET", "POST"])
@login_required
@stepup.mfa_session(when=stepup.on_post)
def finish_rotation():
    """Once the person has saved the new key, deactivate the old one (the portal no longer signs with it)."""
    if request.method == "GET":
        # The code page sends the person back here after an expired MFA session: the keys page holds the
        # rotation's last step (deactivating the old key), so nothing is changed on a GET.
        return redirect(url_for("long_term_credentials.keys", _anchor="finish-rotation"))
    flow = portal().rotation()
    if not EmptyForm().validate_on_submit() or flow is None or not flow.switched:
        return redirect(url_for("long_term_credentials.keys"))
    if not changes.change_status(ACCESS_KEY, flow.old, active=False, announce=False):
        return redirect(url_for("long_term_credentials.keys"))  # the refusal is flashed there
    portal().end_rotation()
    flash(_("Your old key is now inactive. Delete it once nothing uses it any more."), "success")
    # The rotation ends on the person's to-do list, where the rotation item is now gone.
    return redirect(url_for("account.home"))
