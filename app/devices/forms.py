"""Code-entry forms: the shape of every code is checked here, so views and services have one error path."""

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, Regexp

from ..services.codes import SIX_DIGITS


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


class VerifyForm(FlaskForm):
    """Two consecutive codes to enable the new device."""

    code1 = StringField(_l("First code"), **code_field(_l("Enter the code your app shows now."), _l("The first code")))
    code2 = StringField(_l("Next code"), **code_field(_l("Wait for the code to change, then enter the new one."),
                                                      _l("The second code")))
    setup = HiddenField()  # which setup's QR code the page showed (PendingDevice.tag)

    def validate_code2(self, field: StringField) -> None:
        """Identical codes cannot be consecutive."""
        if field.data and field.data == self.code1.data:
            raise ValidationError(_l("The two codes are the same. AWS needs two codes in a row: type the code your "
                                     "app shows, wait until it changes, then type the new one."))


class ResyncForm(VerifyForm):
    """Two consecutive codes to bring a drifted device back in step."""

    device = SelectField(_l("Device"), choices=[], validate_choice=True)
