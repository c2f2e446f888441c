"""The session-credentials form."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..enroll.forms import code_field
from ..errors import InvalidInput
from ..services.credentials import DEFAULT_DURATION, DURATION_CHOICES
from ..services.formats import check_profile


class CredentialsForm(FlaskForm):
    """Device, code, duration and the profile name for the snippet."""

    device = SelectField("MFA device", choices=[], validate_choice=True)
    code = StringField("Code from your authenticator app", **code_field())
    duration = SelectField("Valid for", choices=[SelectChoice(str(s), label) for s, label in DURATION_CHOICES],
                           default=str(DEFAULT_DURATION))
    profile = StringField("Profile name", default="default", filters=[lambda v: v.strip() if v else v],
                          validators=[InputRequired("Name the profile, for example default."), Length(max=64)],
                          render_kw={"spellcheck": "false", "autocapitalize": "none"})

    def validate_profile(self, field: StringField) -> None:
        """A profile name must not break or inject into the INI file."""
        try:
            check_profile(field.data)
        except InvalidInput as err:
            raise ValidationError(f"{err.message} {err.next_step}") from None
