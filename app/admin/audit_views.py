"""Admin views of the audit log: filter, page, export; first enrollments stand out."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from ..limits import limit_admin_actions
from ..login import current_actor
from ..services import audit, listings
from ..services.listings import AuditQuery
from . import bp
from .access import admin_required
from .exports import csv_response, stamp
from .forms import AuditExportForm, AuditFilterForm
from .labels import action_label, outcome_label

PER_PAGE = 100
AUDIT_CSV_HEADER = ["at", "action", "outcome", "subject", "actor_arn", "source_ip", "user_agent", "first_enrollment",
                    "detail"]


def _with_choices(form: AuditFilterForm | AuditExportForm) -> AuditFilterForm | AuditExportForm:
    """Offer the actions and outcomes that occur in the log."""
    actions, outcomes = listings.event_choices()
    form.action.choices = [SelectChoice("", _("Any action")), *(SelectChoice(a, action_label(a)) for a in actions)]
    form.outcome.choices = [SelectChoice("", _("Any outcome")), *(SelectChoice(o, outcome_label(o)) for o in outcomes)]
    return form


def audit_query(form: AuditFilterForm | AuditExportForm) -> AuditQuery:
    """Turn a validated filter form into the query both the page and the CSV use."""
    return AuditQuery(user=(form.user.data or "").strip(), action=form.action.data or "",
                      outcome=form.outcome.data or "", since=form.since.data, until=form.until.data)


def query_args(query: AuditQuery) -> dict[str, str]:
    """Return the filter as URL parameters (and export form fields), without empty ones."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in asdict(query).items() if value}


def details(event) -> dict:
    """Return an event's detail mapping for display."""
    try:
        return json.loads(event.detail) if event.detail else {}
    except ValueError:
        return {}


@bp.route("/audit")
@admin_required
def audit_log():
    """List audit events with filters; first enrollments are highlighted for review."""
    form = AuditFilterForm(formdata=request.args)
    _with_choices(form)
    valid = form.validate()
    query = audit_query(form) if valid else AuditQuery()
    number = (form.page.data or 1) if valid else 1
    events, total = listings.event_page(query, number, PER_PAGE)
    if not events and total:  # a page past the end: show the last one
        number = math.ceil(total / PER_PAGE)
        events, total = listings.event_page(query, number, PER_PAGE)
    return render_template(
        "admin/audit.html", form=form, query=query, events=events, total=total, number=number,
        pages=max(1, math.ceil(total / PER_PAGE)), details=details, args=query_args(query),
        export_form=AuditExportForm(formdata=None), recent_first=listings.recent_first_enrollments(),
    ), 200 if valid else 400


@bp.route("/audit/export", methods=["POST"])
@admin_required
@limit_admin_actions
def audit_export():
    """Download the filtered audit log as CSV."""
    form = _with_choices(AuditExportForm())
    if not form.validate_on_submit():
        flash(_("The audit filter was not valid; nothing was exported."), "error")
        return redirect(url_for("admin.audit_log"))
    query = audit_query(form)
    events = listings.all_events(query)
    audit.record(audit.Action.ADMIN_AUDIT_EXPORT, current_actor(), rows=len(events), filter=query_args(query))
    return csv_response(f"mfa-portal-audit-{stamp()}.csv", AUDIT_CSV_HEADER, (
        [e.at, e.action, e.outcome, e.subject, e.actor_arn, e.source_ip, e.user_agent, e.first_enrollment, e.detail]
        for e in events))
