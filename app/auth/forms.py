"""The sign-in form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    """Access key pair; shapes are checked by the identity service, not here."""

    access_key_id = StringField(
        _l("Access key ID"), validators=[InputRequired(_l("Enter your access key ID.")), Length(max=128)],
        render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "characters",
                   "placeholder": "AKIA…"},
    )
    secret_access_key = PasswordField(
        _l("Secret access key"), validators=[InputRequired(_l("Enter your secret access key.")), Length(max=256)],
        render_kw={"autocomplete": "current-password", "spellcheck": "false"},
    )
