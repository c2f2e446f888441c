"""The person's console password: the account's rules, set, change, remove; the password is never kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from .. import aws
from ..errors import AwsAccessDenied, AwsError, InvalidInput
from ..i18n import sentences
from .refusals import plain

SYMBOLS = "!@#$%^&*()_+-=[]{}|'"  # the non-alphanumeric characters IAM's policy counts as symbols
MAX_LENGTH = 128


@dataclass(frozen=True)
class PasswordRules:
    """The account's password policy, or AWS's default when the account sets none."""

    min_length: int = 8
    upper: bool = False
    lower: bool = False
    digit: bool = False
    symbol: bool = False
    reuse_prevention: int = 0
    is_default: bool = True  # AWS's default: 8 characters and three of the four kinds

    def describe(self) -> list[str]:
        """Say each rule in words, for display next to the field."""
        said = [_("At least %(min)d characters (at most %(max)d).", min=self.min_length, max=MAX_LENGTH)]
        if self.is_default:
            said.append(_("At least three of: capital letters, small letters, digits, symbols (%(symbols)s).",
                          symbols=SYMBOLS))
        kinds = [(_("At least one capital letter."), self.upper), (_("At least one small letter."), self.lower),
                 (_("At least one digit."), self.digit),
                 (_("At least one symbol (%(symbols)s).", symbols=SYMBOLS), self.symbol)]
        said += [rule for rule, wanted in kinds if wanted]
        if self.reuse_prevention:
            said.append(_("Not one of your last %(n)d passwords.", n=self.reuse_prevention))
        return said

    def broken(self, password: str, user_name: str) -> list[str]:
        """Return the rules a password breaks that can be checked without AWS (reuse cannot)."""
        found = [any(c.isupper() for c in password), any(c.islower() for c in password),
                 any(c.isdigit() for c in password), any(c in SYMBOLS for c in password)]
        said = self.describe()
        problems = [said[0]] if not self.min_length <= len(password) <= MAX_LENGTH else []
        if self.is_default and sum(found) < 3:
            problems.append(said[1])
        rules = [_("At least one capital letter."), _("At least one small letter."), _("At least one digit."),
                 _("At least one symbol.")]
        wanted = [self.upper, self.lower, self.digit, self.symbol]
        problems += [rule for rule, w, f in zip(rules, wanted, found, strict=True) if w and not f]
        if password.lower() == user_name.lower():
            problems.append(_("Not your user name."))
        return problems


@dataclass(frozen=True)
class LoginProfile:
    """That the person has a console password, since when, and whether AWS wants it changed."""

    created: datetime
    reset_required: bool


def rules(iam_with_mfa: Any) -> PasswordRules:
    """Read the account's password policy (NoSuchEntity: none is set, AWS's defaults apply)."""
    try:
        policy = aws.call(iam_with_mfa, "GetAccountPasswordPolicy")["PasswordPolicy"]
    except (AwsError, AwsAccessDenied):
        # No policy (NoSuchEntity), or not readable: AWS still checks; its refusal is explained afterwards.
        return PasswordRules()
    return PasswordRules(min_length=policy.get("MinimumPasswordLength", 6),
                         upper=policy.get("RequireUppercaseCharacters", False),
                         lower=policy.get("RequireLowercaseCharacters", False),
                         digit=policy.get("RequireNumbers", False), symbol=policy.get("RequireSymbols", False),
                         reuse_prevention=policy.get("PasswordReusePrevention", 0), is_default=False)


def profile(iam_with_mfa: Any, user_name: str) -> LoginProfile | None:
    """Return the person's console password state, or None when they have none (NoSuchEntity)."""
    try:
        found = aws.call(iam_with_mfa, "GetLoginProfile", UserName=user_name)["LoginProfile"]
    except AwsError as err:
        if err.code == "NoSuchEntity":
            return None
        raise
    return LoginProfile(found["CreateDate"], bool(found.get("PasswordResetRequired")))


def _explained(err: AwsError, found: PasswordRules) -> Exception:
    """Turn a refused password into the rule that was broken."""
    if err.code == "PasswordPolicyViolation":
        refusal = _("AWS refused the new password under the account's password policy.")
        if found.reuse_prevention:
            refusal = sentences(refusal, _("Most likely it is one of your last %(n)d passwords, which the "
                                           "account's policy forbids.", n=found.reuse_prevention))
        return InvalidInput(refusal, _("Choose a different password that follows every rule listed."))
    return plain(err, _("console password"),
                 limit=_("AWS has refused several password attempts in a row and is pausing them."))


def create(iam_with_mfa: Any, user_name: str, password: str, found: PasswordRules) -> None:
    """Give the person a console password (CreateLoginProfile on oneself)."""
    try:
        aws.call(iam_with_mfa, "CreateLoginProfile", UserName=user_name, Password=password,
                 PasswordResetRequired=False)
    except AwsError as err:
        raise _explained(err, found) from None


def change(iam_with_mfa: Any, old: str, new: str, found: PasswordRules) -> None:
    """Change the caller's own password; AWS checks the old one."""
    try:
        aws.call(iam_with_mfa, "ChangePassword", OldPassword=old, NewPassword=new)
    except AwsAccessDenied:
        refusal = InvalidInput(_("AWS did not accept the change: the current password is wrong, or your "
                                 "permissions do not allow iam:ChangePassword."),
                               _("Type your current console password again; if it is right, ask an administrator."))
        raise refusal from None
    except AwsError as err:
        raise _explained(err, found) from None


def remove(iam_with_mfa: Any, user_name: str) -> None:
    """Remove console access (DeleteLoginProfile); access keys keep working."""
    try:
        aws.call(iam_with_mfa, "DeleteLoginProfile", UserName=user_name)
    except AwsError as err:
        if err.code != "NoSuchEntity":  # already gone: the wish is fulfilled
            raise plain(err, _("console password")) from None


# The console's sign-in host in each partition: China and GovCloud have their own.
SIGN_IN_HOSTS = {"aws": "signin.aws.amazon.com", "aws-cn": "signin.amazonaws.cn",
                 "aws-us-gov": "signin.amazonaws-us-gov.com"}


def sign_in_url(alias: str | None, account: str, partition: str = "aws") -> str:
    """Return the account's console sign-in address in its partition."""
    return f"https://{alias or account}.{SIGN_IN_HOSTS.get(partition, SIGN_IN_HOSTS['aws'])}/console"
