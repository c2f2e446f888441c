"""Forms shared by several areas."""

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp

from .errors import InvalidInput
from .i18n import device_kind
from .services.codes import SIX_DIGITS


class EmptyForm(FlaskForm):
    """A POST-only button: just the CSRF token."""


def device_choices(devices: Iterable) -> list[SelectChoice]:
    """Offer the person's own devices, as AWS listed them, in a picker."""
    return [SelectChoice(d.serial, f"{d.name} ({device_kind(d.kind)})") for d in devices]


def form_problem(form: FlaskForm):
    """Summarise a failed submit for the page's error box; each field still shows its own error."""
    for field in form:
        if field.errors:
            return InvalidInput(str(field.errors[0]))
    return None


def strip_separators(value: str | None) -> str | None:
    """Tolerate the spaces and dashes apps show in the middle of a code."""
    return re.sub(r"[\s-]", "", value) if isinstance(value, str) else value


def code_field(required: str = _l("Enter the 6-digit code."), label: str = _l("The code")) -> dict[str, Any]:
    """Keyword arguments for a one-time-code input that phones and password managers understand."""
    return {
        "filters": [strip_separators],
        "validators": [InputRequired(required), Length(max=32),
                       Regexp(SIX_DIGITS, message=_l("%(label)s must be the 6 digits your authenticator app shows. "
                                                      "Type only the digits, without spaces.", label=label))],
        "render_kw": {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"[0-9 ]{6,7}",
                      "maxlength": "7", "spellcheck": "false"},
    }


class CodeForm(FlaskForm):
    """One code from one of the person's devices: the step-up page, and the most destructive changes' own pages."""

    device = SelectField(_l("MFA device"), choices=[], validate_choice=True)
    code = StringField(_l("Code from your authenticator app"), **code_field())
