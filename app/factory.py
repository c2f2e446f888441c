"""Application factory: create_app reads as the list of steps that build the portal."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask, g, request
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from . import logs, tasks
from .account import bp as account_bp
from .admin import bp as admin_bp
from .auth import bp as auth_bp
from .auth.routes import ask_to_sign_in
from .backends import durable_sqlite
from .cli import COMMANDS
from .config import ROOT, from_environment
from .devices import bp as devices_bp
from .error_pages import init_error_pages
from .extensions import csrf, db, limiter, login_manager
from .health import bp as health_bp
from .i18n import init_i18n
from .login import load_user
from .long_term_credentials import bp as long_term_credentials_bp
from .metrics import init_metrics
from .policy_cli import policy_cli
from .reminders_cli import reminders_cli
from .security import init_security
from .services import queueing
from .session_credentials import bp as session_credentials_bp
from .session_interface import PortalSessionInterface
from .setup import configure
from .static_files import init_static_files


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the portal; `config` overrides the environment (tests, demo)."""
    settings = {**from_environment(), **(config or {})}
    # Named after the package, as when the factory lived in app/__init__.py: the same logger and root path.
    app = Flask("app", template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=settings["INSTANCE_PATH"])
    register_config(app, settings)
    register_logging(app)
    register_extensions(app)
    register_languages(app)
    register_security(app)
    register_static_files(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_metrics(app)
    register_commands(app)
    register_queue(app)
    register_database(app)
    return app


def register_config(app: Flask, settings: dict[str, Any]) -> None:
    """Take the settings (environment plus overrides), derive the rest, refuse to start without a secret."""
    app.config.update(settings)
    configure(app)


def register_logging(app: Flask) -> None:
    """Log to stderr at the configured level, as text or JSON, with a request id; secrets are never logged."""
    level = app.config["LOG_LEVEL"]
    logging.getLogger("app").setLevel(level)
    logs.install_record_factory()
    logs.configure(app.config["LOG_FORMAT"], level)
    # Installed before ProxyFix wraps the app (register_security), so it sees the client PROXY_HOPS resolves.
    app.wsgi_app = logs.RequestIds(app.wsgi_app, trust_incoming=app.config["PROXY_HOPS"] > 0,
                                   access_records=app.config["LOG_FORMAT"] == "json")
    app.teardown_request(_note_request)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _note_request(_error: BaseException | None) -> None:
    """Give the access record the endpoint and, when the request loaded one, the signed-in person's ARN."""
    # Only what the request already loaded: the typed session or Flask-Login's user, never an extra read.
    state, user = g.get("_portal_session"), g.get("_login_user")
    caller = state.caller if state is not None else None
    logs.note_request(request.environ, request.endpoint, caller.arn if caller else getattr(user, "arn", None))


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", durable_sqlite)
    csrf.init_app(app)
    app.session_interface = PortalSessionInterface(app.config["SESSION_STORE"])
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Lazy, and made a plain string when flashed: the flash is kept in the session, in the visitor's language.
    login_manager.login_message = lazy_gettext("Please sign in with your access key pair first.")
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(ask_to_sign_in)


def register_languages(app: Flask) -> None:
    """English and Japanese: the catalogs, the language of each request and the switcher."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    init_i18n(app)


def register_security(app: Flask) -> None:
    """Security headers, proxy trust, HTTPS rule and session timeouts."""
    init_security(app)


def register_static_files(app: Flask) -> None:
    """Versioned static URLs that browsers may cache for a year."""
    init_static_files(app)


def register_blueprints(app: Flask) -> None:
    """Attach one blueprint per area."""
    for blueprint in (auth_bp, account_bp, devices_bp, session_credentials_bp, admin_bp, health_bp,
                      long_term_credentials_bp):
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    """Friendly pages for domain errors and HTTP errors, never a traceback."""
    init_error_pages(app)


def register_metrics(app: Flask) -> None:
    """Prometheus metrics at /metrics, when METRICS is on."""
    init_metrics(app)


def register_commands(app: Flask) -> None:
    """Add the portal's `flask` subcommands."""
    app.cli.add_command(policy_cli)
    for group in COMMANDS:
        app.cli.add_command(group)
    app.cli.add_command(reminders_cli)


def register_queue(_app: Flask) -> None:
    """Let services announce events and hand work to the queue's tasks by name (Huey is built on first use)."""
    queueing.install(tasks.announce, tasks.hand_over)


def register_database(app: Flask) -> None:
    """Create or upgrade the schema at start-up unless told not to (several instances)."""
    # Flask-Migrate imports Alembic (about 11 MB a process): serving workers that never migrate skip it;
    # `flask db ...` runs inside a click context and gets it.
    if app.config["AUTO_MIGRATE"] or click.get_current_context(silent=True) is not None:
        attach_migrations(app)
    if not app.config["AUTO_MIGRATE"]:
        return
    from flask_migrate import upgrade  # Alembic, only in a process that upgrades (see above)

    with app.app_context():
        try:
            upgrade(directory=str(ROOT / "migrations"))
        except OperationalError:
            if click.get_current_context(silent=True) is None:
                raise
            # A `flask` command: let it meet the unreachable database itself and say so in a sentence
            # (exit 1), instead of a traceback from loading the app.
            logging.getLogger(__name__).warning("database unreachable: the schema was not upgraded")


def attach_migrations(app: Flask) -> None:
    """Give the app Flask-Migrate, for `flask db` and for upgrades."""
    from flask_migrate import Migrate  # Alembic, ~11 MB: only for `flask db` and upgrades (see register_database)

    Migrate(app, db, directory=str(ROOT / "migrations"))
