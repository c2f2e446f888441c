"""Forms for the account area."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ..enroll.forms import code_field


class ReplaceDeviceForm(FlaskForm):
    """Prove possession of the current device before it is removed."""

    device = SelectField("Current device", choices=[], validate_choice=True)
    code = StringField("Code from your current device", **code_field())
