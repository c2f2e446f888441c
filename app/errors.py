"""Domain errors: what went wrong in plain words, and what to do next.

Two kinds: a `Refusal` (AWS or the portal said no, the input was wrong, it was done already) is shown on the page
the person is on, with its next step; an `Outage` (AWS, the session store, the audit log or the attempt counter did
not answer) reaches the error handler, which renders the 503 page. Views catch `Refusal` and let outages pass.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext

# Titles are class attributes, read when a page shows them: lazy, so they follow each request's language.
# Messages are built when the error is raised, inside the request, so they are translated right there.


class PortalError(Exception):
    """A failure the person can understand and act on."""

    status = 400
    title = lazy_gettext("That did not work")
    field: str | None = None  # the form field a shape error belongs to, marked like the form's own errors

    def __init__(self, message: str, next_step: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.next_step = next_step
        if field:
            self.field = field

    @property
    def audit_error(self) -> str:
        """What the audit log's `error` detail says about this failure: its type, unless a subclass knows better."""
        return type(self).__name__


class Refusal(PortalError):
    """Nothing happened, or it had happened already: the page the person is on says why and what to do next."""


class Outage(PortalError):
    """Something the portal depends on did not answer: the 503 page, whose words say whether anything changed."""

    status = 503


class InvalidInput(Refusal):
    """A form value is malformed; nothing was sent to AWS."""

    title = lazy_gettext("Please check what you typed")


class KeysRejected(Refusal):
    """AWS does not accept the access key pair."""

    status = 401
    title = lazy_gettext("AWS did not accept these keys")


class KeysRefused(Refusal):
    """The keys work, but the portal will not take keys of this kind."""

    status = 403
    title = lazy_gettext("These keys cannot be used here")


class CodeRejected(Refusal):
    """AWS refused an MFA code."""

    title = lazy_gettext("That code was not accepted")


class CodeTooOld(CodeRejected):
    """AWS refused codes the portal can tell were right but shown too long ago (it holds the setup's seed)."""

    title = lazy_gettext("Those codes were too old")


class SetupRestarted(Refusal):
    """The page's QR code was replaced by a setup started again in another tab or window."""

    status = 409
    title = lazy_gettext("The setup was restarted elsewhere")


class CodeAlreadyUsed(Refusal):
    """The code was already spent; AWS refuses a code twice."""

    title = lazy_gettext("That code was already used")

    def __init__(self, message: str, next_step: str | None = None, wait_seconds: int = 30):
        super().__init__(message, next_step)
        self.wait_seconds = wait_seconds


class DeviceProblem(Refusal):
    """The MFA device is not in a state that allows this step."""

    status = 409
    title = lazy_gettext("Your MFA device needs attention")


class AwsAccessDenied(Refusal):
    """IAM denied a call; the message names the missing action."""

    status = 403
    title = lazy_gettext("AWS denied this action")

    def __init__(self, action: str, message: str | None = None, next_step: str | None = None):
        super().__init__(
            message or _("Your IAM permissions do not allow %(action)s.", action=action),
            next_step or _("Ask an AWS administrator to allow %(action)s for your user.", action=action),
        )
        self.action = action


class AwsUnavailable(Outage):
    """AWS did not answer in time, throttled us or failed on its side."""

    status = 503
    title = lazy_gettext("AWS is not answering")

    def __init__(self, message: str | None = None, next_step: str | None = None, may_have_acted: bool = True):
        super().__init__(message or _("AWS did not answer in time."),
                         next_step or _("Wait a few seconds and try again; nothing was lost."))
        # False only when the request surely never reached AWS or AWS refused to start on it (throttling):
        # then an MFA code sent with it is still unspent.
        self.may_have_acted = may_have_acted

    @classmethod
    def answer_lost(cls) -> AwsUnavailable:
        """The words for a change to a credential whose answer was lost: its list page finds out what AWS did."""
        return cls(_("AWS's answer to this change was lost on the way, so the portal cannot tell yet whether AWS "
                     "made it."),
                   _("Open the list of these credentials: the portal checks there what AWS did and tells you."),
                   may_have_acted=True)


class AwsError(Refusal):
    """Any other AWS answer, kept with its error code for services to refine."""

    status = 502
    title = lazy_gettext("AWS answered with an error")

    def __init__(self, code: str, aws_message: str, operation: str):
        super().__init__(
            _("AWS answered %(code)s to %(operation)s.", code=code, operation=operation),
            _("Try again; if it keeps happening, show this message to an AWS administrator."),
        )
        self.code = code
        self.aws_message = aws_message
        self.operation = operation

    @property
    def audit_error(self) -> str:
        """AWS's error code: more use to an admin reading the audit log than the type's name."""
        return self.code


class SessionExpired(Refusal):
    """The server-side session lost what this step needs."""

    status = 401
    title = lazy_gettext("Your session has ended")

    def __init__(self, message: str | None = None, next_step: str | None = None):
        super().__init__(message or _("For your safety the portal forgot your keys."),
                         next_step or _("Sign in again with your access key pair."))


class Conflict(Refusal):
    """AWS refused a change because of the state the credential is in; subclasses name which."""

    status = 409


class LimitReached(Conflict):
    """AWS allows only so many of this kind of credential per user, and the person has them all."""

    title = lazy_gettext("You already have as many as AWS allows")


class NotThere(Conflict):
    """The credential was removed or changed meanwhile (NoSuchEntity)."""

    title = lazy_gettext("That is no longer there")


class TryShortly(Conflict):
    """AWS is still applying an earlier change to this user (EntityTemporarilyUnmodifiable)."""

    title = lazy_gettext("AWS is still busy with your user")


class StepUpNeeded(Refusal):
    """This change needs an MFA code accepted by AWS in the last few minutes."""

    status = 401
    title = lazy_gettext("Type a current code first")


class TooManyFailedSignIns(Refusal):
    """A failed sign-in budget is spent; nothing was sent to AWS."""

    status = 429
    title = lazy_gettext("Too many failed sign-ins")

    def __init__(self, where: list[str], wait_seconds: int):
        super().__init__(
            _("There have been too many failed sign-ins %(where)s, so the portal has paused those sign-ins for a "
              "while. Nothing was sent to AWS.", where=_(" and ").join(map(str, where))),
            _("Wait until the countdown below ends%(minutes)s, then try again with the access key pair exactly as "
              "you received it. Successful sign-ins never count against this limit.",
              minutes=_in_minutes(wait_seconds)),
        )
        self.wait_seconds = wait_seconds


class TooManyCodeChecks(Refusal):
    """A code budget (the person's or the device's) is spent; the code was not sent to AWS."""

    status = 429
    title = lazy_gettext("Too many attempts")

    def __init__(self, budgets: list[str], wait_seconds: int):
        super().__init__(_("You made too many attempts in a short time."),
                         _("Wait until the countdown below ends%(minutes)s, then try again with a fresh code.",
                           minutes=_in_minutes(wait_seconds)))
        self.budgets = budgets
        self.wait_seconds = wait_seconds


class LimitsUnavailable(Outage):
    """The store that counts attempts cannot be reached, so the portal will not send keys or codes to AWS."""

    status = 503
    title = lazy_gettext("Paused for a moment")
    wait_seconds = 60  # "wait a minute", as the page says; a Redis restart or fail-over takes about that

    @classmethod
    def for_sign_in(cls) -> LimitsUnavailable:
        """The words for a sign-in refused while attempts cannot be counted."""
        return cls(_("Sign-in is paused: the portal cannot count failed attempts right now, so it is not checking "
                     "keys with AWS."), _("Wait a minute and try again. If it lasts, tell your administrator."))

    @classmethod
    def for_actions(cls) -> LimitsUnavailable:
        """The words for a code check or admin action refused while attempts cannot be counted."""
        return cls(_("Code checks and admin actions are paused: the portal cannot count attempts right now, so it "
                     "sent nothing to AWS and nothing was changed."),
                   _("Wait a minute and try again (with a fresh code). If it lasts, tell your administrator."))


def _in_minutes(seconds: int) -> str:
    """Add the wait in minutes where a countdown in seconds alone would be hard to read."""
    minutes = -(-seconds // 60)
    return ngettext(" (about %(num)s minute)", " (about %(num)s minutes)", minutes) if seconds >= 120 else ""


class StoreUnavailable(Outage):
    """The session store (Redis, or the session file) cannot be reached."""

    status = 503
    title = lazy_gettext("The portal cannot reach its session store")
    wait_seconds = 60  # outages outlast AWS's few-second brown-outs

    def __init__(self, message: str | None = None, next_step: str | None = None):
        super().__init__(message or _("The portal cannot reach its session store right now. Nothing was changed."),
                         next_step or _("Try again in a minute."))


class AuditUnavailable(Outage):
    """The audit log cannot take the record an AWS action needs first, so the portal does not act."""

    status = 503
    wait_seconds = 60
    title = lazy_gettext("The portal cannot record this action")

    def __init__(self, message: str | None = None, next_step: str | None = None):
        super().__init__(message or _("The portal cannot reach its audit log, and it never acts at AWS without "
                                      "recording it first."),
                         next_step or _("Nothing was changed at AWS. Wait a minute and try again."))


class AlreadyEnrolled(Refusal):
    """The person already has an MFA device; enrolling another goes through replacement."""

    status = 409
    title = lazy_gettext("You already have an MFA device")


class SetupExpired(Refusal):
    """The device being enrolled is no longer in this session."""

    status = 409
    title = lazy_gettext("That setup has ended")

    def __init__(self, message: str | None = None, next_step: str | None = None):
        super().__init__(message or _("That setup had expired, so nothing was enabled."),
                         next_step or _("Start again to get a new QR code."))
