"""Forms for the account area."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from ..devices.forms import code_field


class ReplaceDeviceForm(FlaskForm):
    """Prove possession of the current device before it is removed."""

    device = SelectField(_l("Current device"), choices=[], validate_choice=True)
    code = StringField(_l("Code from your current device"), **code_field())
