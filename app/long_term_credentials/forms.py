"""Forms of the security-credentials pages; value checks live here so each view has one error path."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length, Regexp, ValidationError

from ..errors import InvalidInput
from ..forms import CodeForm
from ..i18n import sentences
from ..profiles import PROFILE_NAME
from ..services import signing_certs, ssh_keys


class StatusForm(FlaskForm):
    """An Activate or Deactivate button: it names the status wanted, so sending it twice changes nothing more."""

    status = HiddenField(validators=[InputRequired(), AnyOf(["Active", "Inactive"])])

    @property
    def active(self) -> bool:
        """Tell whether the button asks for Active."""
        return self.status.data == "Active"


class RotateForm(CodeForm):
    """Start a rotation with a code typed right there; the profile name only shapes the downloadable file."""

    profile = StringField(_l("Profile name for the new key"), default="long-term",
                          filters=[lambda v: (v or "").strip()],
                          validators=[InputRequired(_l("Name the profile, for example long-term.")),
                                      Regexp(PROFILE_NAME,
                                             message=_l("Use 1 to 64 letters, digits, '.', '_' or '-'."))],
                          render_kw={"spellcheck": "false", "autocapitalize": "none"})


def _follows_rules(form: FlaskForm, field: PasswordField) -> None:
    """Check the new password against the account's rules the view attached to the form."""
    problems = form.rules.broken(field.data or "", form.user_name)
    if problems:
        raise ValidationError(sentences(*problems))


def _password(label: str, missing: str, autocomplete: str, *checks) -> PasswordField:
    """A password input password managers understand; its value is never rendered back."""
    return PasswordField(label, validators=[InputRequired(missing), Length(max=128), *checks],
                         render_kw={"autocomplete": autocomplete, "spellcheck": "false", "autocapitalize": "none"})


class SetPasswordForm(FlaskForm):
    """A first console password, typed twice."""

    new = _password(_l("New password"), _l("Type the new password."), "new-password", _follows_rules)
    confirm = _password(_l("New password again"), _l("Type the new password again."), "new-password",
                        EqualTo("new", _l("The two passwords differ.")))

    def __init__(self, rules, user_name: str, *args, **kwargs):
        """Attach the account's rules and the user name the password must not equal."""
        super().__init__(*args, **kwargs)
        self.rules, self.user_name = rules, user_name


class ChangePasswordForm(SetPasswordForm):
    """The current password, then the new one twice."""

    current = _password(_l("Current password"), _l("Type the current password."), "current-password")


def _ssh_key(form: FlaskForm, field: TextAreaField) -> None:
    """Check the pasted key as IAM will, keeping the normalised text for the upload."""
    try:
        field.data = ssh_keys.check_body(field.data)
    except InvalidInput as err:
        raise ValidationError(sentences(err.message, err.next_step)) from None


class SshKeyForm(FlaskForm):
    """One SSH public key, pasted from its .pub file."""

    body = TextAreaField(_l("SSH public key"), validators=[InputRequired(_l("Paste the contents of your .pub file.")),
                                                           _ssh_key],
                         render_kw={"rows": "4", "spellcheck": "false", "autocapitalize": "none",
                                    "placeholder": "ssh-rsa AAAAB3Nza… you@laptop"})


def _pem(form: FlaskForm, field: TextAreaField) -> None:
    """Check the pasted certificate, keeping the normalised text for the upload."""
    try:
        field.data = signing_certs.check_pem(field.data)
    except InvalidInput as err:
        raise ValidationError(sentences(err.message, err.next_step)) from None


class CertificateForm(FlaskForm):
    """One X.509 certificate in PEM."""

    body = TextAreaField(_l("Certificate (PEM)"), validators=[InputRequired(_l("Paste the certificate.")), _pem],
                         render_kw={"rows": "8", "spellcheck": "false", "autocapitalize": "none",
                                    "placeholder": "-----BEGIN CERTIFICATE-----"})
