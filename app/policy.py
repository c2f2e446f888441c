"""Judge AWS calls against IAM identity policies, so tests prove the flow fits the force-MFA policy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .policy_match import conditions_hold, targets

POLICY_NAMES = ("force-mfa", "force-mfa-with-key-last-used", "admin")
_POLICY_DIR = Path(__file__).with_name("policies")

# AWS consults no policy for these: GetCallerIdentity works even under an explicit
# Deny, and "you cannot use policies to control" GetSessionToken (IAM User Guide,
# "Permissions for GetSessionToken"), so the seed needs no Allow for it.
_NEVER_AUTHORIZED = {("sts", "GetCallerIdentity"), ("sts", "GetSessionToken")}

# The resource type each IAM operation is authorized against (Service Authorization
# Reference). An operation missing here raises, so a new call can't skip the test.
_IAM_RESOURCE = {
    "CreateVirtualMFADevice": "new-mfa",
    "DeleteVirtualMFADevice": "serial",
    "TagMFADevice": "serial",
    "EnableMFADevice": "user",
    "ResyncMFADevice": "user",
    "DeactivateMFADevice": "user",
    "ListMFADevices": "user",
    "GetUser": "user",
    # Own credentials (the seed's second statement); UserName defaults to the caller.
    "ListAccessKeys": "user",
    "CreateAccessKey": "user",
    "UpdateAccessKey": "user",
    "DeleteAccessKey": "user",
    "GetAccessKeyLastUsed": "user",
    "GetLoginProfile": "user",
    "CreateLoginProfile": "user",
    "UpdateLoginProfile": "user",
    "DeleteLoginProfile": "user",
    "ChangePassword": "user",
    "ListSSHPublicKeys": "user",
    "GetSSHPublicKey": "user",
    "UploadSSHPublicKey": "user",
    "UpdateSSHPublicKey": "user",
    "DeleteSSHPublicKey": "user",
    "ListSigningCertificates": "user",
    "UploadSigningCertificate": "user",
    "UpdateSigningCertificate": "user",
    "DeleteSigningCertificate": "user",
    "ListGroupsForUser": "user",
    "GetGroup": "group",
    "ListEntitiesForPolicy": "policy",
    "GetPolicy": "policy",
    "ListVirtualMFADevices": "*",
    "ListAccountAliases": "*",
    "ListUsers": "*",
    "ListPolicies": "*",
    "GetAccountAuthorizationDetails": "*",
    "GetAccountSummary": "*",
    "GetAccountPasswordPolicy": "*",
    "GenerateCredentialReport": "*",
    "GetCredentialReport": "*",
}


class UnmappedCall(LookupError):
    """An AWS call this module cannot yet say how IAM authorizes."""


@dataclass(frozen=True)
class Call:
    """One recorded boto3 call: botocore service name, API operation name, parameters."""

    service: str
    operation: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """The IAM user making a request, and whether their credentials carry MFA."""

    partition: str
    account: str
    user_name: str
    mfa_present: bool
    path: str = "/"

    def iam_arn(self, resource: str) -> str:
        """Return the ARN of an IAM resource ("user/bob", "mfa/bob") in this account."""
        return f"arn:{self.partition}:iam::{self.account}:{resource}"

    def user_arn(self, user_name: str) -> str:
        """Return a user's ARN; only the caller's own path is known, others are assumed at /."""
        path = self.path if user_name == self.user_name else "/"
        return self.iam_arn(f"user{path}{user_name}")


@dataclass(frozen=True)
class Decision:
    """Whether IAM would allow a request, and which statement decided it."""

    allowed: bool
    reason: str


def policy_text(name: str) -> str:
    """Return a shipped policy document exactly as stored."""
    if name not in POLICY_NAMES:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")
    return (_POLICY_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_policy(name: str) -> dict:
    """Parse a shipped policy document ("force-mfa" or "admin")."""
    return json.loads(policy_text(name))


def authorizations_of(call: Call, who: Principal) -> list[tuple[str, list[str]]]:
    """List the (IAM action, resource ARNs) pairs AWS authorizes the call against."""
    if (call.service, call.operation) in _NEVER_AUTHORIZED:
        return []
    kind = _IAM_RESOURCE.get(call.operation) if call.service == "iam" else None
    if kind is None:
        raise UnmappedCall(
            f"{call.service}:{call.operation} has no authorization mapping; add it to "
            "app/policy.py so the force-MFA test can judge it"
        )
    params = call.params
    if kind == "new-mfa":
        resource = who.iam_arn(f"mfa{params.get('Path', '/')}{params['VirtualMFADeviceName']}")
    elif kind == "serial":
        resource = params["SerialNumber"]
    elif kind == "user":
        # UserName is optional for some calls; AWS then acts on the caller.
        resource = who.user_arn(params.get("UserName", who.user_name))
    elif kind == "group":
        # The request doesn't carry the group's path; groups are assumed at /.
        resource = who.iam_arn(f"group/{params['GroupName']}")
    elif kind == "policy":
        resource = params["PolicyArn"]
    else:
        resource = "*"
    needs = [(f"iam:{call.operation}", [resource])]
    # Tagging at creation is authorized separately, as if TagMFADevice were called.
    if kind == "new-mfa" and params.get("Tags"):
        needs.append(("iam:TagMFADevice", [resource]))
    return needs


def evaluate(
    policy: dict, action: str, resources: list[str], who: Principal, context: Mapping[str, str] | None = None
) -> Decision:
    """Decide a request as IAM does for one identity policy: explicit deny, then allow, else deny."""
    if not resources:
        raise ValueError(f"{action}: a request is authorized against at least one resource")
    ctx = _context(who, context)
    # Policy variables exist only in version 2012-10-17; older documents match "${...}" literally.
    expand = policy.get("Version") == "2012-10-17"
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    missing: list[str] = []
    allowed_by: list[str] = []
    notes: list[str] = []
    for resource in resources:
        granted = None
        for index, statement in enumerate(statements):
            sid = statement.get("Sid") or f"#{index + 1}"
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise ValueError(f"statement {sid}: Effect must be Allow or Deny, not {effect!r}")
            if not targets(statement, action, resource, ctx, expand):
                continue
            holds, unsupported = conditions_hold(statement.get("Condition", {}), ctx, expand)
            if not holds:
                continue
            # Fail closed on operators we can't judge: such a Deny applies, such an Allow doesn't.
            if effect == "Deny":
                assumed = f" (unsupported condition operator {', '.join(unsupported)} assumed to match)"
                return Decision(False, f"explicit deny by statement {sid}{assumed if unsupported else ''}")
            if unsupported:
                notes.append(f"statement {sid} ignored: unsupported condition operator {', '.join(unsupported)}")
            elif granted is None:
                granted = sid
        if granted is None:
            missing.append(resource)
        elif granted not in allowed_by:
            allowed_by.append(granted)
    if missing:
        where = "" if missing == ["*"] else f" on {', '.join(missing)}"
        return Decision(False, "; ".join([f"no statement allows it{where}", *dict.fromkeys(notes)]))
    return Decision(True, f"allowed by {', '.join(allowed_by)}")


def check_calls(policy: dict, calls: Iterable[Call], who: Principal) -> list[str]:
    """Describe every call the policy would refuse; an empty list means all are allowed."""
    problems = []
    for call in calls:
        for action, resources in authorizations_of(call, who):
            decision = evaluate(policy, action, resources, who)
            if not decision.allowed:
                problems.append(
                    f"{call.service}:{call.operation} needs {action} on {', '.join(resources)}: {decision.reason}"
                )
    return problems


def pre_mfa_calls(who: Principal, device_name: str | None = None) -> list[Call]:
    """Return the calls the enrollment flow makes before the person has MFA, in order."""
    serial = who.iam_arn(f"mfa/{device_name or who.user_name}")
    codes = {"AuthenticationCode1": "123456", "AuthenticationCode2": "654321"}
    return [
        Call("sts", "GetCallerIdentity", {}),
        Call("iam", "ListAccountAliases", {}),
        Call("iam", "ListMFADevices", {"UserName": who.user_name}),
        Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": device_name or who.user_name}),
        Call("iam", "ListVirtualMFADevices", {"AssignmentStatus": "Unassigned"}),
        Call("iam", "DeleteVirtualMFADevice", {"SerialNumber": serial}),
        Call("iam", "EnableMFADevice", {"UserName": who.user_name, "SerialNumber": serial, **codes}),
        Call("iam", "ResyncMFADevice", {"UserName": who.user_name, "SerialNumber": serial, **codes}),
        Call("sts", "GetSessionToken", {"SerialNumber": serial, "TokenCode": "123456"}),
    ]


def _context(who: Principal, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Build the request context IAM would see, keyed by lower-cased condition key."""
    context = {
        "aws:username": who.user_name,
        "aws:principalaccount": who.account,
        "aws:principalarn": who.user_arn(who.user_name),
        "aws:principaltype": "User",
    }
    # Long-term access keys carry no MFA context at all: the key is absent, not "false".
    if who.mfa_present:
        context["aws:multifactorauthpresent"] = "true"
    context.update({key.lower(): value for key, value in (extra or {}).items()})
    return context
