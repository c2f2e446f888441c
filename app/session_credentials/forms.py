"""The session-credentials form."""

from datetime import timedelta

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..errors import InvalidInput
from ..forms import code_field
from ..i18n import duration, sentences
from ..services.formats import check_profile
from ..services.session_credentials import DEFAULT_DURATION, DURATION_CHOICES


class CredentialsForm(FlaskForm):
    """Device, code, duration and the profile name for the snippet."""

    device = SelectField(_l("MFA device"), choices=[], validate_choice=True)
    code = StringField(_l("Code from your authenticator app"), **code_field())
    # Each length in words in the page's language ("12 hours", "12 時間"), worked out when the page renders.
    duration = SelectField(_l("Valid for"), choices=[SelectChoice(str(s), LazyString(duration, timedelta(seconds=s)))
                                                     for s, _label in DURATION_CHOICES],
                           default=str(DEFAULT_DURATION))
    profile = StringField(_l("Profile name"), default="default", filters=[lambda v: v.strip() if v else v],
                          validators=[InputRequired(_l("Name the profile, for example default.")), Length(max=64)],
                          render_kw={"spellcheck": "false", "autocapitalize": "none"})

    def validate_profile(self, field: StringField) -> None:
        """A profile name must not break or inject into the INI file."""
        try:
            check_profile(field.data)
        except InvalidInput as err:
            raise ValidationError(sentences(err.message, err.next_step)) from None
