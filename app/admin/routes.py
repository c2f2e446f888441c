"""Admin views: the enrollment dashboard, its refresh and export, one user's devices and reset."""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_number
from flask_babel import gettext as _

from .. import i18n
from ..forms import EmptyForm, device_choices
from ..limits import limit_admin_actions
from ..login import current_actor
from ..services import (
    access_keys,
    admin_keys,
    admin_reset,
    audit,
    devices,
    findings,
    listings,
    refreshing,
    reminders,
    reporting,
    snapshots,
)
from ..services.audit import Action
from ..services.exports import EXPORT_HEADER, export_values
from ..services.listings import PER_PAGE, SHOWS, SORTS, UserQuery
from ..sessions import portal
from . import bp, charts
from .access import admin_required
from .exports import as_utc, csv_response, stamp
from .forms import USER_NAME, DeactivateKeyForm, ResetForm, UserExportForm, UserFilterForm


@bp.app_template_filter("admin_time")
def admin_time(value) -> str:
    """Show a stored time as UTC to the minute, in the page's language ("—" when unknown)."""
    return i18n.when_unbroken(as_utc(value) if value else None)


@bp.app_template_filter("admin_date")
def admin_date(value) -> str:
    """Show a stored time as a UTC date, in the page's language ("—" when unknown)."""
    return i18n.unbroken(i18n.day)(as_utc(value) if value else None)


@bp.app_template_filter("finding_cause")
def finding_cause(cause: findings.Cause) -> str:
    """Say one cause of a finding with its date, in the page's language."""
    return str(findings.CAUSES[cause.kind]) % {"slot": cause.slot,
                                               "date": admin_date(cause.date) if cause.date else _("an unknown date")}


def user_query(form: UserFilterForm | UserExportForm) -> UserQuery:
    """Turn a validated filter form into the query both the page and the CSV use."""
    return UserQuery(search=(form.q.data or "").strip(), show=form.show.data, sort=form.sort.data,
                     order=form.order.data, finding=form.finding.data or "")


def query_args(query: UserQuery) -> dict[str, str]:
    """Return the query as URL parameters, leaving out defaults so links stay short."""
    values = {"q": query.search, "show": query.show, "sort": query.sort, "order": query.order,
              "finding": query.finding}
    defaults = {"q": "", "show": "all", "sort": "name", "order": "asc", "finding": ""}
    return {key: value for key, value in values.items() if value != defaults[key]}


def sort_urls(query: UserQuery) -> dict[str, str]:
    """Link each sortable column: the current column flips its order, others start ascending."""
    args = query_args(query)
    return {key: url_for("admin.dashboard", **(args | {
        "sort": key, "order": "desc" if query.sort == key and query.order == "asc" else "asc"})) for key in SORTS}


@bp.route("/")
@admin_required
def dashboard():
    """Show the latest snapshot: totals, enrollments over time, and the filtered user list."""
    form = UserFilterForm(formdata=request.args)
    valid = form.validate()
    query = user_query(form) if valid else UserQuery()
    number = (form.page.data or 1) if valid else 1
    snapshot = snapshots.latest()
    rows, total, activity, counts, limits = [], 0, {}, {}, None
    if snapshot is not None:
        counts, limits = snapshots.finding_counts(snapshot), snapshots.thresholds(snapshot)
        rows, total = listings.page(snapshot.id, query, number)
        if not rows and total:  # a page past the end (the list shrank): show the last one
            number = math.ceil(total / PER_PAGE)
            rows, total = listings.page(snapshot.id, query, number)
        activity = listings.last_activity(rows)
    return render_template(
        "admin/dashboard.html", form=form, query=query, snapshot=snapshot, rows=rows, total=total,
        activity=activity, number=number, pages=max(1, math.ceil(total / PER_PAGE)), shows=SHOWS,
        bars=charts.bars(snapshots.chart(snapshot)) if snapshot else [], chart_size=(charts.WIDTH, charts.HEIGHT),
        args=query_args(query), sort_urls=sort_urls(query), refresh_form=EmptyForm(),
        export_form=UserExportForm(formdata=None), counts=counts, limits=limits, controls=findings.CONTROLS,
        describe=findings.describe, reminder_findings=reminders.remindable(),
        finding_urls={control: url_for("admin.dashboard", **(query_args(query) | {"finding": control}))
                      for control in findings.CONTROLS},
    ), 200 if valid else 400


@bp.route("/refresh", methods=["POST"])
@admin_required
@limit_admin_actions
def refresh():
    """Read every user's enrollment from AWS with the admin's MFA session and store a snapshot."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    config = current_app.config
    snapshot = refreshing.refresh(portal().mfa_client("iam"), current_actor(), portal().caller,
                                 config["FORCE_MFA_POLICY_ARN"], config["FORCE_MFA_POLICY_NAME"],
                                 config["MFA_DEVICE_NAME_PATTERN"], config["SNAPSHOT_RETENTION_DAYS"],
                                 findings.Thresholds.from_config(config), reminders.email_tag(config))
    flash(_("Refreshed: %(users)s users read with %(calls)s AWS calls in %(seconds)s s.",
            users=format_number(snapshot.users), calls=format_number(snapshot.calls),
            seconds=format_decimal(snapshot.seconds, "0.0")), "success")
    return redirect(url_for("admin.dashboard"))


@bp.route("/export", methods=["POST"])
@admin_required
@limit_admin_actions
def export():
    """Download the filtered user list as CSV: the same rows the dashboard shows for this filter."""
    form = UserExportForm()
    snapshot = snapshots.latest()
    if not form.validate_on_submit() or snapshot is None:
        flash(_("Nothing to export yet, or the filter was not valid.") if snapshot else _("Refresh the data first."),
              "error")
        return redirect(url_for("admin.dashboard"))
    query = user_query(form)
    rows = listings.all_rows(snapshot.id, query)
    activity = listings.last_activity(rows)
    audit.record(Action.ADMIN_EXPORT, current_actor(), rows=len(rows), filter=asdict(query))
    # Every row names the filter it was exported with, so a sorted or pasted sheet still says what it holds.
    taken_with = urlencode(query_args(query)) or "all"
    name = f"mfa-enrollment-{query.finding}-{stamp()}.csv" if query.finding else f"mfa-enrollment-{stamp()}.csv"
    return csv_response(name, EXPORT_HEADER, (export_values(r, activity, taken_with) for r in rows))


def _check_name(user_name: str) -> None:
    """Refuse anything that cannot be an IAM user name before asking AWS."""
    if not re.match(USER_NAME, user_name):
        abort(404)


def _render_user(user_name: str, owned: list[devices.Device], form: ResetForm, status: int = 200):
    """Render one user's page: snapshot row and findings, live keys and devices, reset form, audit events."""
    snapshot = snapshots.latest()
    row = snapshots.user_row(snapshot.id, user_name) if snapshot else None
    own = access_keys.of_user(portal().mfa_client("iam"), user_name)
    slots = findings.read_slots(row.key_facts) if row else []
    return render_template("admin/user.html", user_name=user_name, devices=owned, form=form, row=row,
                           snapshot=snapshot, events=listings.user_events(user_name), own=own,
                           stale_days=current_app.config["FINDINGS_KEY_AGE_DAYS"],
                           found=snapshots.user_findings(snapshot.id, user_name) if row else {},
                           controls=findings.CONTROLS,
                           slots={k.key_id: findings.slot_of(slots, k.created) for k in own.keys},
                           signing_key=portal().keys().access_key_id), status


def _reset_form(owned: list[devices.Device]) -> ResetForm:
    """Build the reset form offering exactly the devices AWS lists now."""
    form = ResetForm()
    form.serial.choices = device_choices(owned)
    return form


@bp.route("/users/<user_name>")
@admin_required
def user(user_name: str):
    """Show one user's devices as AWS lists them now (hardware and FIDO too) and their audit events."""
    _check_name(user_name)
    owned = reporting.user_devices(portal().mfa_client("iam"), user_name)
    return _render_user(user_name, owned, _reset_form(owned))


@bp.route("/users/<user_name>/reset", methods=["POST"])
@admin_required
@limit_admin_actions
def reset(user_name: str):
    """Deactivate and delete a lost device after a confirmed form with a reason."""
    _check_name(user_name)
    iam = portal().mfa_client("iam")
    owned = reporting.user_devices(iam, user_name)
    form = _reset_form(owned)
    if not form.validate_on_submit():
        return _render_user(user_name, owned, form, status=400)
    serial = form.serial.data
    portal().forget_devices()  # an admin may be resetting a device of their own
    admin_reset.reset_device(iam, current_actor(), user_name, serial, form.reason.data.strip())
    flash(_("Reset done: %(user)s can enroll a new MFA device now (the one removed was %(device)s). The dashboard "
            "shows this after the next refresh.", device=serial.rsplit("/", 1)[-1], user=user_name), "success")
    return redirect(url_for("admin.user", user_name=user_name))


def _check_key(key_id: str) -> None:
    """Refuse anything that cannot be an access key ID before asking AWS."""
    if not re.match(r"^[A-Z0-9]{16,128}$", key_id):
        abort(404)


def _render_deactivate(user_name: str, key: access_keys.AccessKey, form: DeactivateKeyForm, status: int = 200):
    """Render the confirmation page for deactivating one key, with its age and last use as of the snapshot."""
    snapshot = snapshots.latest()
    row = snapshots.user_row(snapshot.id, user_name) if snapshot else None
    slot = findings.slot_of(findings.read_slots(row.key_facts), key.created) if row else None
    return render_template("admin/deactivate_key.html", user_name=user_name, key=key, form=form, slot=slot,
                           snapshot=snapshot), status


@bp.route("/users/<user_name>/keys/<key_id>/deactivate", methods=["GET", "POST"])
@admin_required
@limit_admin_actions
def deactivate_key(user_name: str, key_id: str):
    """Confirm, then set one of a user's access keys Inactive with a reason; a repeat only says it is done."""
    _check_name(user_name)
    _check_key(key_id)
    iam = portal().mfa_client("iam")
    form = DeactivateKeyForm()
    try:
        if request.method == "GET" or not form.validate_on_submit():
            key = admin_keys.active_key(iam, user_name, key_id)
            return _render_deactivate(user_name, key, form, 200 if request.method == "GET" else 400)
        admin_keys.deactivate(iam, current_actor(), user_name, key_id, form.reason.data.strip(),
                              signing_key=portal().keys().access_key_id)
    except admin_keys.AlreadyInactive as done:
        flash(done.message, "info")
        return redirect(url_for("admin.user", user_name=user_name))
    flash(_("The access key %(key)s of %(user)s is now inactive: programs that use it stop working. The dashboard "
            "shows this after the next refresh.", key=key_id, user=user_name), "success")
    return redirect(url_for("admin.user", user_name=user_name))


@bp.route("/history")
@admin_required
def history():
    """Show the share enrolled and each finding's count per day, as small SVG charts and as a table."""
    days = current_app.config["SNAPSHOT_RETENTION_DAYS"]
    points = snapshots.history(datetime.now(UTC) - timedelta(days=days))
    series = [("enrolled", _("Users enrolled"), [100 * p.share if p.users else None for p in points], 100.0)]
    series += [(control, findings.CONTROLS[control], [p.counts[control] for p in points], None)
               for control in findings.CONTROLS]
    sparks = [(key, words, values, charts.spark(values, peak)) for key, words, values, peak in series]
    return render_template("admin/history.html", points=points, sparks=sparks, retention_days=days,
                           spark_size=(charts.SPARK_WIDTH, charts.SPARK_HEIGHT), controls=findings.CONTROLS)
