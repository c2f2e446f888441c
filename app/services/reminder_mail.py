"""A reminder e-mail: its words per finding, the message in the configured languages, and handing it to SMTP."""

from __future__ import annotations

import functools
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models import Reminder

SMTP_TIMEOUT = 10
LANGUAGES = {"both": ("en", "ja"), "en": ("en",), "ja": ("ja",)}

# Per finding the person can fix themselves: what is wrong, why it matters, what to do (all on the portal).
MESSAGES: dict[str, tuple[Any, Any, Any]] = {
    "IAM.19": (_l("Your AWS user %(user)s has no MFA device yet."),
               _l("Without MFA, anyone who learns your password or access key can act in AWS as you."),
               _l("Open the portal, sign in with your access key and set up an authenticator app on your phone. "
                  "It takes about five minutes.")),
    "IAM.5": (_l("Your AWS user %(user)s can sign in to the AWS console with a password but has no MFA device."),
              _l("Without MFA, anyone who learns your password or access key can act in AWS as you."),
              _l("Open the portal, sign in with your access key and set up an authenticator app on your phone. "
                 "It takes about five minutes.")),
    "IAM.3": (_l("An access key of your AWS user %(user)s is more than 90 days old."),
              _l("The longer a key lives, the more places it may have been copied to."),
              _l("Open the portal and rotate the key: it makes the new one and switches you over step by step.")),
    "IAM.8": (_l("Your AWS user %(user)s has a password or access key that has not been used for 90 days or more."),
              _l("Credentials nobody uses are credentials nobody would notice being misused."),
              _l("Open the portal and remove the password or key you no longer need.")),
    "IAM.22": (_l("Your AWS user %(user)s has a password or access key that has not been used for 45 days or more."),
               _l("Credentials nobody uses are credentials nobody would notice being misused."),
               _l("Open the portal and remove the password or key you no longer need.")),
    "CIS.two-active-keys": (_l("Your AWS user %(user)s has two active access keys."),
                            _l("Each active key is one more secret that can leak, and most people need only one."),
                            _l("Open the portal and deactivate or delete the key you no longer use.")),
    "CIS.key-at-setup": (_l("Your AWS user %(user)s has an access key that was created with the user and never "
                            "used."),
                         _l("A key nobody uses only adds risk."),
                         _l("Open the portal and delete the key you do not use.")),
}


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the system's CA certificates takes about 0.1 s."""
    return ssl.create_default_context()


def deliver(url: str, message: EmailMessage) -> str | None:
    """Hand one message to the SMTP server; None when it took it, else a short reason (an SMTP code first)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=SMTP_TIMEOUT, context=_tls())
        else:
            server = smtplib.SMTP(host, port or (587 if parts.scheme == "smtp+starttls" else 25), timeout=SMTP_TIMEOUT)
        with server:
            if parts.scheme == "smtp+starttls":
                server.starttls(context=_tls())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except smtplib.SMTPResponseException as err:
        return f"{err.smtp_code} {type(err).__name__}"[:64]
    except smtplib.SMTPRecipientsRefused:
        return "550 recipient refused"
    except (smtplib.SMTPException, OSError) as err:
        return type(err).__name__[:64]
    return None


def compose(row: Reminder, config: Mapping[str, Any]) -> EmailMessage:
    """The reminder as text and simple HTML, in the configured languages; its one link is PORTAL_URL."""
    # The template alone, without the page context processors: no request exists in the queue's worker.
    def render(name: str, **values: Any) -> str:
        return current_app.jinja_env.get_template(name).render(**values)

    portal = config["PORTAL_URL"]
    sections = []
    for language in LANGUAGES[config.get("REMINDER_LANGUAGE", "both")]:
        with force_locale(language):
            what, why, todo = (str(text) % {"user": row.user_name} for text in MESSAGES[row.finding])
            sections.append({
                "language": language, "greeting": _("Hello %(user)s,", user=row.user_name),
                "what": what, "why": why, "todo": todo, "gap": "" if language == "ja" else " ",
                "deadline": _("Please do this by %(deadline)s.", deadline=row.deadline) if row.deadline else None,
                "link": _("The portal:"),
                "trust": _("This message never asks for access keys, passwords or MFA codes, and its only link is "
                           "the portal's address above. Do not trust a message that does otherwise."),
                "footer": _("Sent by the AWS MFA self-service portal because your administrators asked it to."),
                "subject": _("Action needed on your AWS user %(user)s", user=row.user_name),
            })
    message = EmailMessage()
    message["Subject"] = " / ".join(section["subject"] for section in sections)
    message["From"] = config["MAIL_FROM"]
    message["To"] = row.address
    message["Date"] = formatdate(localtime=False)
    # Stable per reminder: a copy sent again after a crash is the same message to mail clients.
    message["Message-ID"] = f"<reminder.{row.id}.{row.batch}@{urlsplit(portal).hostname or 'mfa-portal'}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render("mail/reminder.txt", sections=sections, portal=portal))
    message.add_alternative(render("mail/reminder.html", sections=sections, portal=portal), subtype="html")
    return message
