"""Forms of the devices area: values are checked here, so each view has one error path."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, ValidationError
from wtforms.validators import InputRequired, Length, Regexp

from ..errors import InvalidInput
from ..forms import code_field
from ..services import devices


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


class ReplaceDeviceForm(FlaskForm):
    """Prove possession of the current device before it is removed."""

    device = SelectField(_l("Current device"), choices=[], validate_choice=True)
    code = StringField(_l("Code from your current device"), **code_field())


def _serial(form: FlaskForm, field: StringField) -> None:
    """Check and normalise a hardware token's serial number."""
    try:
        field.data = devices.check_serial(field.data)
    except InvalidInput as err:
        raise ValidationError(err.message) from None


class BackupDeviceForm(FlaskForm):
    """The short name of a backup virtual device, which the configured pattern turns into its AWS name."""

    label = StringField(_l("Name of the backup device"), filters=[lambda v: (v or "").strip()],
                        validators=[InputRequired(_l("Name the backup device, for example tablet.")),
                                    Regexp(devices.LABEL_PATTERN,
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
