"""AWS CLI profile view: ~/.aws/config blocks for the long-term key and the configured roles."""

from __future__ import annotations

from flask import current_app, flash, render_template, request
from flask_login import login_required

from ..errors import InvalidInput
from ..services import cli_profiles, devices
from ..sessions import portal
from . import bp


@bp.route("/profiles")
@login_required
def profiles():
    """Show where each block goes, with role profiles that make the CLI ask for the code itself."""
    source = request.args.get("source", cli_profiles.LONG_TERM_PROFILE)
    try:
        source = cli_profiles.check_profile(source)
    except InvalidInput as err:
        flash(err.message, "error")
        source = cli_profiles.LONG_TERM_PROFILE
    owned = devices.code_givers(portal())
    serial = owned[0].serial if owned else None
    roles = current_app.config["CLI_ROLES"]
    # Not "config": that name would hide Flask's own in the templates (the demo badge reads config.DEMO_MODE).
    blocks = cli_profiles.config_blocks(source, current_app.config["AWS_REGION"], serial, roles)
    return render_template("long_term_credentials/profiles.html", source=source, serial=serial, roles=roles,
                           config_blocks=blocks,
                           links={r.profile: cli_profiles.switch_role_url(r) for r in roles})
