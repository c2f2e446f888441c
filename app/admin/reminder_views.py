"""Reminder e-mails from the dashboard: a confirmation page saying who gets what, then sending in the background."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext

from ..limits import limit_admin_actions
from ..login import current_actor
from ..services import reminders, snapshots
from . import bp
from .access import admin_required
from .forms import ReminderForm


@bp.route("/reminders")
@admin_required
def reminders_page():
    """Say how many people get the reminder about a finding and who is skipped; nothing is sent yet."""
    config = current_app.config
    finding = request.args.get("finding", "")
    form = ReminderForm(formdata=None, finding=finding)
    reminders.check_configured(config)
    found = reminders.plan(snapshots.latest(), finding, config)
    return render_template("admin/reminders.html", plan=found, form=form, findings=reminders.remindable(),
                           controls=reminders.CONTROLS, interval=config["REMINDER_INTERVAL_DAYS"])


@bp.route("/reminders", methods=["POST"])
@admin_required
@limit_admin_actions
def send_reminders():
    """Queue the reminders the confirmation page described (planned again: the snapshot may be newer)."""
    config = current_app.config
    form = ReminderForm()
    reminders.check_configured(config)
    if not form.validate_on_submit():
        return redirect(url_for("admin.reminders_page", finding=form.finding.data or ""))
    found = reminders.plan(snapshots.latest(), form.finding.data, config)
    deadline = reminders.parse_deadline(form.deadline.data)
    queued = reminders.queue(found, deadline, current_actor())
    flash(ngettext("%(num)s reminder is being sent.", "%(num)s reminders are being sent.", len(queued)), "success")
    return redirect(url_for("admin.dashboard"))
