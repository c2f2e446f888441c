"""Code-entry forms; the shape of codes is checked by the codes service."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length


def code_field(required: str = "Enter the 6-digit code.") -> dict[str, Any]:
    """Keyword arguments for a one-time-code input that phones and password managers understand."""
    return {
        "validators": [InputRequired(required), Length(max=32)],
        "render_kw": {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"[0-9 ]{6,7}",
                      "maxlength": "7", "spellcheck": "false"},
    }


class VerifyForm(FlaskForm):
    """Two consecutive codes to enable the new device."""

    code1 = StringField("First code", **code_field("Enter the code your app shows now."))
    code2 = StringField("Next code", **code_field("Wait for the code to change, then enter the new one."))


class ResyncForm(VerifyForm):
    """Two consecutive codes to bring a drifted device back in step."""

    device = SelectField("Device", choices=[], validate_choice=True)
