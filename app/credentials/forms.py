"""The session-credentials form."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..enroll.forms import code_field
from ..services.credentials import DEFAULT_DURATION, DURATION_CHOICES


class CredentialsForm(FlaskForm):
    """Device, code, duration and the profile name for the snippet."""

    device = SelectField("MFA device", choices=[], validate_choice=True)
    code = StringField("Code from your authenticator app", **code_field())
    duration = SelectField("Valid for", choices=[SelectChoice(str(s), label) for s, label in DURATION_CHOICES],
                           default=str(DEFAULT_DURATION))
    profile = StringField("Profile name", default="default",
                          validators=[InputRequired("Name the profile, for example default."), Length(max=64)],
                          render_kw={"spellcheck": "false", "autocapitalize": "none"})
