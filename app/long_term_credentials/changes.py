"""One set of views for every kind of long-term credential: set its status, delete it after a confirmation page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import stepup
from ..errors import CodeAlreadyUsed, CodeRejected, PortalError, Refusal
from ..forms import CodeForm, EmptyForm, form_problem
from ..i18n import sentences
from ..login import current_actor
from ..services import audit, codes, kinds
from ..services.kinds import ACCESS_KEY, SIGNING_CERT, SSH_KEY, CredentialKind
from ..sessions import portal
from . import bp, lost
from .forms import StatusForm


@dataclass(frozen=True)
class Pages:
    """Where a kind lives in the portal: URLs and endpoint names stay as people bookmarked them."""

    path: str  # the list page's URL
    var: str  # the ID's name in the URLs (and in url_for)
    list_endpoint: str
    status_endpoint: str
    delete_endpoint: str
    after_delete: Callable[[], None] = lambda: None
    # The most destructive deletes (the key the person signed in with) take a code typed on their page.
    code_here: Callable[[str], bool] = lambda item_id: False

    def url(self, endpoint: str, item_id: str | None = None) -> str:
        """The URL of one of this kind's endpoints, for one item if it takes one."""
        return url_for(f"long_term_credentials.{endpoint}", **({self.var: item_id} if item_id else {}))


PAGES: dict[str, Pages] = {
    # A rotation waiting to be finished ends with the old key's deletion.
    ACCESS_KEY.name: Pages("/keys", "key_id", "keys", "key_status", "delete_key",
                           after_delete=lambda: portal().end_rotation(),
                           code_here=lambda key_id: key_id == portal().signed_in_with),
    SSH_KEY.name: Pages("/ssh", "key_id", "ssh", "ssh_status", "delete_ssh"),
    SIGNING_CERT.name: Pages("/certificates", "cert_id", "certificates", "cert_status", "delete_cert"),
}


def listed(kind: CredentialKind) -> list[Any]:
    """The person's credentials of this kind, oldest first, with the client the list call needs."""
    iam = portal().mfa_client("iam") if kind.list_needs_mfa else portal().client("iam")
    return kind.lister(iam, current_user.user_name, portal().keys().access_key_id)


def _find(kind: CredentialKind, item_id: str) -> Any | None:
    """Return one of the person's credentials, None if it is not there; 404 for an impossible ID or a protected one."""
    if not kind.valid_id(item_id):
        abort(404)
    found = next((item for item in listed(kind) if kind.item_id(item) == item_id), None)
    if found is not None and kind.protected(found):
        # The key in use goes only through rotation: deleting it would end this very session.
        abort(404)
    return found


def say_lost_delete(kind: CredentialKind, now: list[str]) -> None:
    """On the list page: say once what a delete whose answer was lost turned out to do."""
    found = lost.settle(f"{kind.name}_deleted", now)
    if found is not None:
        target = found[1]
        lost.say(target not in now and _(kind.words.lost_delete_done, id=target),
                 _(kind.words.lost_delete_not_done, id=target))


def say_lost(kind: CredentialKind, now: list[str]) -> None:
    """On an uploading kind's list page: say once what an upload or a delete whose answer was lost turned out to do."""
    found = lost.settle(f"{kind.name}_upload", now)
    if found is not None:
        lost.say(found[0] and _(kind.words.lost_upload_done, id=found[0][0]), _(kind.words.lost_upload_not_done))
    say_lost_delete(kind, now)


def upload(kind: CredentialKind, body: str) -> Any:
    """Upload one credential of this kind with the MFA session, audited (what was listed kept for a lost answer)."""
    before = [kind.item_id(item) for item in listed(kind)]
    with lost.watch(f"{kind.name}_upload", before), audit.attempt(kind.uploaded_action, current_actor()) as pending:
        item = kind.uploader(portal().mfa_client("iam"), current_user.user_name, body)
        pending.add(**{kind.detail_key: kind.item_id(item)})
    return item


def change_status(kind: CredentialKind, item_id: str, active: bool, announce: bool = True) -> bool:
    """Change a credential's status with the MFA session, audited; refusals become a message on the next page.

    Return whether it worked; `announce=False` leaves the success message to a caller that says more.
    """
    status = "Active" if active else "Inactive"
    try:
        with lost.watch(), audit.attempt(kind.status_action, current_actor(), **{kind.detail_key: item_id},
                                         status=status):
            kinds.set_status(kind, portal().mfa_client("iam"), current_user.user_name, item_id, active)
    except Refusal as err:  # an outage reaches the 503 page, which says whether AWS may have acted
        flash(sentences(err.message, err.next_step), "error")
        return False
    if announce:
        flash(_(kind.words.now_active if active else kind.words.now_inactive, id=item_id), "success")
    return True


def status(kind: CredentialKind, item_id: str):
    """Set the status the button names on a credential; asking twice is a no-op that says so."""
    pages = PAGES[kind.name]
    if not kind.valid_id(item_id):
        abort(404)
    item = _find(kind, item_id)
    if item is None:
        abort(404)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)  # no status named: guessing it from AWS's state would undo a double click
    if item.status == form.status.data:
        flash(_(kind.words.already_active if form.active else kind.words.already_inactive, id=item_id), "info")
    else:
        change_status(kind, item_id, form.active)
    return redirect(pages.url(pages.list_endpoint))


def _confirmation(kind: CredentialKind, item: Any, form: EmptyForm | CodeForm, error: PortalError | None = None,
                  code: int = 200):
    """The one confirmation page: what stops working, the code field where one is asked for, and the buttons."""
    pages = PAGES[kind.name]
    return render_template("long_term_credentials/delete.html", kind=kind, item_id=kind.item_id(item),
                           active=item.status == "Active", form=form, error=error or form_problem(form),
                           signed_in_with=pages.code_here(kind.item_id(item)), next_code_in=codes.seconds_until_next(),
                           cancel=pages.url(pages.list_endpoint)), code


def delete(kind: CredentialKind, item_id: str):
    """Delete a credential after a confirmation page that says what stops working; a second press says it is done."""
    pages = PAGES[kind.name]
    item = _find(kind, item_id)
    if item is None and audit.attempted(kind.deleted_action, current_user.user_name, item_id) \
            and EmptyForm().validate_on_submit():
        # Pressed twice, or again after a lost answer: the wish is already fulfilled.
        flash(_(kind.words.already_deleted, id=item_id), "info")
        return redirect(pages.url(pages.list_endpoint))
    if item is None:
        abort(404)
    code_here = pages.code_here(item_id)
    form = stepup.code_here(CodeForm) if code_here else EmptyForm()
    if not form.validate_on_submit():
        return _confirmation(kind, item, form, code=400 if form.errors else 200)
    if code_here:
        try:
            stepup.prove_here(form)
        except (CodeAlreadyUsed, CodeRejected) as err:
            return _confirmation(kind, item, form, err, 400)
    try:
        # Should the answer be lost, the list page finds out what AWS did.
        with lost.watch(f"{kind.name}_deleted", target=item_id), \
                audit.attempt(kind.deleted_action, current_actor(), **{kind.detail_key: item_id}):
            kinds.delete(kind, portal().mfa_client("iam"), current_user.user_name, item_id)
    except Refusal as err:
        return _confirmation(kind, item, form, err, err.status)
    pages.after_delete()
    flash(_(kind.words.deleted, id=item_id), "success")
    return redirect(pages.url(pages.list_endpoint))


def _register(kind: CredentialKind) -> None:
    """Add the kind's status and delete routes under their existing URLs and endpoint names, behind step-up."""
    pages = PAGES[kind.name]

    def delete_needs_session(**ids: str) -> bool:
        """A list only the MFA session can read needs it first; a delete needs it unless a code is typed here."""
        return kind.list_needs_mfa or (stepup.on_post() and not pages.code_here(ids[pages.var]))

    def set_status(**ids: str):
        """Set the status the button names on one of the person's credentials of this kind."""
        return status(kind, ids[pages.var])

    def remove(**ids: str):
        """Delete one of the person's credentials of this kind, after its confirmation page."""
        return delete(kind, ids[pages.var])
    # A status change is POST-only: the code page comes back to the list, not to a path a GET answers with 405.
    in_session = stepup.mfa_session(back=f"long_term_credentials.{pages.list_endpoint}")
    bp.add_url_rule(f"{pages.path}/<{pages.var}>/status", pages.status_endpoint, login_required(in_session(set_status)),
                    methods=["POST"])
    bp.add_url_rule(f"{pages.path}/<{pages.var}>/delete", pages.delete_endpoint,
                    login_required(stepup.mfa_session(when=delete_needs_session)(remove)), methods=["GET", "POST"])


for _kind in (ACCESS_KEY, SSH_KEY, SIGNING_CERT):
    _register(_kind)
