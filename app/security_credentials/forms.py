"""Forms of the security-credentials pages; value checks live here so each view has one error path."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Regexp

PROFILE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class RotateForm(FlaskForm):
    """Start a rotation; the profile name only shapes the downloadable file."""

    profile = StringField("Profile name for the new key", default="long-term",
                          filters=[lambda v: (v or "").strip()],
                          validators=[InputRequired("Name the profile, for example long-term."),
                                      Regexp(PROFILE_PATTERN, message="Use 1 to 64 letters, digits, '.', '_' or '-'.")],
                          render_kw={"spellcheck": "false", "autocapitalize": "none"})
