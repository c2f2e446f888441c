"""Forms shared by several areas."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from .errors import InvalidInput
from .i18n import device_kind


class EmptyForm(FlaskForm):
    """A POST-only button: just the CSRF token."""


def device_choices(devices: Iterable) -> list[SelectChoice]:
    """Offer the person's own devices, as AWS listed them, in a picker."""
    return [SelectChoice(d.serial, f"{d.name} ({device_kind(d.kind)})") for d in devices]


def form_problem(form: FlaskForm):
    """Summarise a failed submit for the page's error box; each field still shows its own error."""
    for field in form:
        if field.errors:
            return InvalidInput(str(field.errors[0]))
    return None
