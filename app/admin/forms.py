"""Admin forms: GET filters (no CSRF, nothing changes) and POST actions (CSRF-protected)."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..services.findings import CONTROLS
from ..services.listings import SHOWS, SORTS

# IAM user names: letters, digits and + = , . @ _ - (up to 64).
USER_NAME = r"^[\w+=,.@-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ORDERS = [SelectChoice("asc", _l("Ascending")), SelectChoice("desc", _l("Descending"))]


class _UserQueryFields:
    """The dashboard filter, shared by the GET form and the CSV export's POST form."""

    q = StringField(_l("Search by name"), validators=[Optional(), Length(max=64)],
                    render_kw={"placeholder": _l("part of a user name"), "spellcheck": "false",
                               "autocapitalize": "none"})
    show = SelectField(_l("Show"), choices=[SelectChoice(key, label) for key, (label, _where) in SHOWS.items()],
                       default="all")
    sort = SelectField(_l("Sort by"), choices=[SelectChoice(key, label) for key, label in SORTS.items()],
                       default="name")
    order = SelectField(_l("Order"), choices=_ORDERS, default="asc")
    finding = SelectField(_l("Finding"), choices=[SelectChoice("", _l("Any or none"))] + [
        SelectChoice(control, control) for control in CONTROLS], default="")

    def validate_q(self, field: StringField) -> None:
        """Refuse control characters: no user name has one, and PostgreSQL refuses a NUL in a query outright."""
        if field.data and _CONTROL.search(field.data):
            field.data = _CONTROL.sub("", field.data)  # shown again without it: a NUL has no place in the page
            raise ValidationError(_("The search holds an invisible control character. Type part of a user name."))


class UserFilterForm(_UserQueryFields, FlaskForm):
    """Filter, search, sort and page the dashboard through query parameters."""

    class Meta:
        csrf = False  # a GET form that changes nothing; CSRF tokens in URLs would only leak

    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=100_000)], default=1)


class UserExportForm(_UserQueryFields, FlaskForm):
    """Export the filtered user list: a POST, because it is audited."""


class _AuditQueryFields:
    """The audit-log filter, shared by the GET form and the CSV export's POST form."""

    user = StringField(_l("User"), validators=[Optional(), Regexp(USER_NAME, message=_l("Not an IAM user name."))],
                       render_kw={"spellcheck": "false", "autocapitalize": "none"})
    # Choices come from the log itself (see routes), so an unknown value is refused.
    action = SelectField(_l("Action"), choices=[SelectChoice("", _l("Any action"))], default="")
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("", _l("Any outcome"))], default="")
    since = DateField(lazy_pgettext("start of a date range", "From"), validators=[Optional()])
    until = DateField(lazy_pgettext("end of a date range", "To"), validators=[Optional()])

    def validate_until(self, field: DateField) -> None:
        """A range must not end before it starts."""
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end date is before the start date."))


class AuditFilterForm(_AuditQueryFields, FlaskForm):
    """Filter and page the audit log through query parameters."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=100_000)], default=1)


class AuditExportForm(_AuditQueryFields, FlaskForm):
    """Export the filtered audit log: a POST, because it is audited."""


class ResetForm(FlaskForm):
    """Remove a user's lost device; the reason goes into the audit log."""

    # Choices are the devices AWS lists for the user right now, so a stale or forged serial is refused.
    serial = SelectField(_l("Device to reset"), choices=[], validate_choice=True)
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Say why the device is being reset; it is kept in the audit log.")),
        Length(min=3, max=500, message=_l("Write between 3 and 500 characters.")),
    ], render_kw={"rows": 2, "placeholder": _l("e.g. phone lost, ticket HR-1234")})


class DeactivateKeyForm(FlaskForm):
    """Deactivate a user's access key; the reason goes into the audit log."""

    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Say why the key is being deactivated; it is kept in the audit log.")),
        Length(min=3, max=500, message=_l("Write between 3 and 500 characters.")),
    ], render_kw={"rows": 2, "placeholder": _l("e.g. key unused for 120 days, ticket SEC-42")})


class ReminderForm(FlaskForm):
    """Confirm reminders about one finding, with an optional deadline the message mentions."""

    finding = HiddenField(validators=[DataRequired(), Length(max=64)])
    deadline = StringField(_l("Deadline (optional)"), validators=[Optional(), Length(max=10)],
                           render_kw={"type": "date"})
