"""Forms of the security-credentials pages; value checks live here so each view has one error path."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length, Regexp, ValidationError

from ..credentials.forms import CodeForm
from ..devices.forms import VerifyForm, code_field
from ..errors import InvalidInput
from ..i18n import sentences
from ..services import signing_certs, ssh_keys
from ..services.devices import more_devices
from ..services.formats import PROFILE_NAME


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


def _serial(form: FlaskForm, field: StringField) -> None:
    """Check and normalise a hardware token's serial number."""
    try:
        field.data = more_devices.check_serial(field.data)
    except InvalidInput as err:
        raise ValidationError(err.message) from None


class BackupDeviceForm(FlaskForm):
    """The short name of a backup virtual device, which the configured pattern turns into its AWS name."""

    label = StringField(_l("Name of the backup device"), filters=[lambda v: (v or "").strip()],
                        validators=[InputRequired(_l("Name the backup device, for example tablet.")),
                                    Regexp(more_devices.LABEL_PATTERN,
                                           message=_l("Use 1 to 20 letters, digits or hyphens, for example tablet."))],
                        render_kw={"spellcheck": "false", "autocapitalize": "none", "placeholder": "tablet"})


class HardwareTokenForm(FlaskForm):
    """A hardware token's serial and two consecutive codes from it."""

    # Named "device" so the per-device code budget counts this token's serial.
    device = StringField(_l("Serial number"),
                         validators=[InputRequired(_l("Type the serial number on the token's back.")),
                                     Length(max=64), _serial],
                         render_kw={"spellcheck": "false", "autocapitalize": "characters",
                                    "placeholder": "GAHT12345678"})
    code1 = StringField(_l("First code"), **code_field(_l("Press the button and type the code.")))
    code2 = StringField(_l("Next code"), **code_field(_l("Press the button again and type the new code.")))

    validate_code2 = VerifyForm.validate_code2  # two codes in a row are never the same


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
