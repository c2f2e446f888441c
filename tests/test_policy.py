"""The IAM policy evaluator, proved against the shipped force-MFA and admin policies."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.policy import (
    Call,
    Principal,
    UnmappedCall,
    authorizations_of,
    check_calls,
    evaluate,
    load_policy,
    policy_text,
    pre_mfa_calls,
)

ACCOUNT = "123456789012"
ALICE = Principal("aws", ACCOUNT, "alice", mfa_present=False)
ALICE_MFA = replace(ALICE, mfa_present=True)
OWN_MFA = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
BOB_MFA = f"arn:aws:iam::{ACCOUNT}:mfa/bob"
CODES = {"AuthenticationCode1": "123456", "AuthenticationCode2": "654321"}
BLOCK = "explicit deny by statement BlockMostAccessUnlessSignedInWithMFA"


@pytest.fixture(scope="module")
def force_mfa() -> dict:
    """Return the shipped force-MFA policy."""
    return load_policy("force-mfa")


@pytest.fixture(scope="module")
def admin() -> dict:
    """Return the shipped admin policy."""
    return load_policy("admin")


def reasons(policy: dict, call: Call, who: Principal) -> list[str]:
    """Return the reason of every denied requirement of a call (empty: allowed)."""
    decisions = [evaluate(policy, action, res, who) for action, res in authorizations_of(call, who)]
    return [d.reason for d in decisions if not d.allowed]


def allow_all(*extra: dict) -> dict:
    """Build a policy that allows everything, plus the given statements."""
    everything = {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": [everything, *extra]}


def test_shipped_force_mfa_policy_is_the_seed_document(force_mfa: dict) -> None:
    """The shipped document keeps the seed's statements and its pre-MFA exemption list."""
    sids = [s["Sid"] for s in force_mfa["Statement"]]
    assert sids[-1] == "BlockMostAccessUnlessSignedInWithMFA" and len(sids) == 5
    assert len(force_mfa["Statement"][-1]["NotAction"]) == 13
    assert policy_text("force-mfa").startswith('{\n    "Version": "2012-10-17",')


@pytest.mark.parametrize(
    "call",
    [
        Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice"}),
        Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice", "Path": "/"}),
        Call("iam", "DeleteVirtualMFADevice", {"SerialNumber": OWN_MFA}),
        Call("iam", "EnableMFADevice", {"UserName": "alice", "SerialNumber": OWN_MFA, **CODES}),
        Call("iam", "ResyncMFADevice", {"UserName": "alice", "SerialNumber": OWN_MFA, **CODES}),
        Call("iam", "ListMFADevices", {"UserName": "alice"}),
        Call("iam", "ListMFADevices", {}),
        Call("iam", "ListVirtualMFADevices", {"AssignmentStatus": "Unassigned"}),
        Call("iam", "ListAccountAliases", {}),
        Call("sts", "GetSessionToken", {"SerialNumber": OWN_MFA, "TokenCode": "123456"}),
        Call("sts", "GetCallerIdentity", {}),
    ],
    ids=lambda call: f"{call.operation}{sorted(call.params)}",
)
def test_force_mfa_allows_before_mfa(force_mfa: dict, call: Call) -> None:
    """Long-term keys without MFA (the MFA key absent) may enroll their own device."""
    assert reasons(force_mfa, call, ALICE) == []


def test_policy_free_calls_need_no_authorization() -> None:
    """AWS checks no policy for GetCallerIdentity or GetSessionToken, so neither needs an Allow."""
    assert authorizations_of(Call("sts", "GetCallerIdentity", {}), ALICE) == []
    assert authorizations_of(Call("sts", "GetSessionToken", {}), ALICE) == []


def test_whole_pre_mfa_flow_fits_force_mfa(force_mfa: dict) -> None:
    """Every call of the enrollment flow is allowed before MFA."""
    assert check_calls(force_mfa, pre_mfa_calls(ALICE), ALICE) == []


def refused(where: str) -> str:
    """Return the default-deny reason for one resource of the test account."""
    return f"no statement allows it on arn:aws:iam::{ACCOUNT}:{where}"


TAGS = [{"Key": "team", "Value": "data"}]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        pytest.param(Call("iam", "GetUser", {}), BLOCK, id="GetUser"),
        pytest.param(Call("iam", "TagMFADevice", {"SerialNumber": OWN_MFA, "Tags": TAGS}), BLOCK, id="TagMFADevice"),
        pytest.param(Call("iam", "DeactivateMFADevice", {"SerialNumber": OWN_MFA}), BLOCK, id="Deactivate-own"),
        pytest.param(Call("iam", "GenerateCredentialReport", {}), BLOCK, id="GenerateCredentialReport"),
        pytest.param(Call("iam", "GetCredentialReport", {}), BLOCK, id="GetCredentialReport"),
        pytest.param(Call("iam", "ListGroupsForUser", {"UserName": "alice"}), BLOCK, id="ListGroupsForUser"),
        pytest.param(
            Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice-phone"}),
            refused("mfa/alice-phone"),
            id="Create-other-name",
        ),
        pytest.param(
            Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice", "Path": "/portal/"}),
            refused("mfa/portal/alice"),
            id="Create-other-path",
        ),
        pytest.param(
            Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "bob"}),
            refused("mfa/bob"),
            id="Create-for-bob",
        ),
        pytest.param(
            Call("iam", "DeleteVirtualMFADevice", {"SerialNumber": BOB_MFA}), refused("mfa/bob"), id="Delete-bobs"
        ),
        pytest.param(
            Call("iam", "EnableMFADevice", {"UserName": "bob", "SerialNumber": BOB_MFA, **CODES}),
            refused("user/bob"),
            id="Enable-for-bob",
        ),
        pytest.param(Call("iam", "ListMFADevices", {"UserName": "bob"}), refused("user/bob"), id="ListMFADevices-bob"),
    ],
)
def test_force_mfa_denies_before_mfa(force_mfa: dict, call: Call, reason: str) -> None:
    """Without MFA everything else is refused, by the explicit deny or for lack of an Allow."""
    assert reasons(force_mfa, call, ALICE) == [reason]


def test_tags_on_create_need_tag_permission(force_mfa: dict) -> None:
    """Tags on CreateVirtualMFADevice add an iam:TagMFADevice check, which the seed denies before MFA."""
    call = Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice", "Tags": TAGS})
    assert authorizations_of(call, ALICE) == [
        ("iam:CreateVirtualMFADevice", [OWN_MFA]),
        ("iam:TagMFADevice", [OWN_MFA]),
    ]
    assert reasons(force_mfa, call, ALICE) == [BLOCK]
    assert check_calls(force_mfa, [call], ALICE) == [
        f"iam:CreateVirtualMFADevice needs iam:TagMFADevice on {OWN_MFA}: {BLOCK}"
    ]


def test_nothing_outside_iam_before_mfa(force_mfa: dict) -> None:
    """s3:ListBuckets is explicitly denied without MFA."""
    assert evaluate(force_mfa, "s3:ListBuckets", ["*"], ALICE).reason == BLOCK


def test_force_mfa_with_mfa(force_mfa: dict) -> None:
    """With MFA the deny lifts: own deactivation is allowed, the rest falls to default deny."""
    deactivate = Call("iam", "DeactivateMFADevice", {"SerialNumber": OWN_MFA})
    assert evaluate(force_mfa, "iam:DeactivateMFADevice", [f"arn:aws:iam::{ACCOUNT}:user/alice"], ALICE_MFA).reason == (
        "allowed by AllowIndividualUserToDeactivateOnlyTheirOwnMFAOnlyWhenUsingMFA"
    )
    assert reasons(force_mfa, deactivate, ALICE_MFA) == []
    bob = Call("iam", "DeactivateMFADevice", {"UserName": "bob", "SerialNumber": BOB_MFA})
    assert reasons(force_mfa, bob, ALICE_MFA) == [refused("user/bob")]
    # The seed grants GetUser nowhere: even with MFA it is an implicit (default) deny.
    assert reasons(force_mfa, Call("iam", "GetUser", {}), ALICE_MFA) == [refused("user/alice")]
    assert evaluate(force_mfa, "s3:ListBuckets", ["*"], ALICE_MFA).reason == "no statement allows it"


def test_block_uses_bool_if_exists_because_long_term_keys_carry_no_mfa_key(force_mfa: dict) -> None:
    """The key is absent for long-term keys and "false" for non-MFA sessions; the deny covers both."""
    s3 = {"Sid": "S3FromAnotherPolicy", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    combined = {**force_mfa, "Statement": [*force_mfa["Statement"], s3]}
    assert evaluate(combined, "s3:ListBuckets", ["*"], ALICE).reason == BLOCK
    no_mfa_session = {"aws:MultiFactorAuthPresent": "false"}
    assert evaluate(combined, "s3:ListBuckets", ["*"], ALICE, no_mfa_session).reason == BLOCK
    assert evaluate(combined, "s3:ListBuckets", ["*"], ALICE_MFA).allowed
    # With plain Bool the deny would skip long-term keys entirely.
    weakened = json.loads(json.dumps(combined).replace("BoolIfExists", "Bool"))
    assert evaluate(weakened, "s3:ListBuckets", ["*"], ALICE).allowed


def test_seed_policy_only_works_in_the_aws_partition(force_mfa: dict) -> None:
    """Finding: the seed's arn:aws:iam::*: resources never match aws-cn (or aws-us-gov) ARNs."""
    china = Principal("aws-cn", ACCOUNT, "alice", mfa_present=False)
    create = Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice"})
    assert authorizations_of(create, china) == [
        ("iam:CreateVirtualMFADevice", [f"arn:aws-cn:iam::{ACCOUNT}:mfa/alice"])
    ]
    assert reasons(force_mfa, create, china) == [f"no statement allows it on arn:aws-cn:iam::{ACCOUNT}:mfa/alice"]
    refused = [problem.split(" ")[0] for problem in check_calls(force_mfa, pre_mfa_calls(china), china)]
    assert refused == [
        "iam:ListMFADevices",
        "iam:CreateVirtualMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ResyncMFADevice",
    ]


def test_seed_policy_denies_enabling_for_users_with_a_path(force_mfa: dict) -> None:
    """Finding: user/${aws:username} misses users at a path, who can create but not enable a device."""
    engineer = replace(ALICE, path="/engineering/")
    create = Call("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "alice"})
    enable = Call("iam", "EnableMFADevice", {"UserName": "alice", "SerialNumber": OWN_MFA, **CODES})
    assert reasons(force_mfa, create, engineer) == []
    assert reasons(force_mfa, enable, engineer) == [refused("user/engineering/alice")]


ADMIN_CALLS = [
    Call("iam", "GenerateCredentialReport", {}),
    Call("iam", "GetCredentialReport", {}),
    Call("iam", "ListUsers", {"MaxItems": 1000}),
    Call("iam", "ListVirtualMFADevices", {"AssignmentStatus": "Any"}),
    Call("iam", "ListMFADevices", {"UserName": "bob"}),
    Call("iam", "ListAccessKeys", {"UserName": "bob"}),
    Call("iam", "GetLoginProfile", {"UserName": "bob"}),
    Call("iam", "ListEntitiesForPolicy", {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/force-mfa"}),
    Call("iam", "GetGroup", {"GroupName": "developers"}),
    Call("iam", "ListGroupsForUser", {"UserName": "bob"}),
    Call("iam", "ListAccountAliases", {}),
    Call("iam", "ListPolicies", {"Scope": "Local"}),
    Call("iam", "GetPolicy", {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/force-mfa"}),
    Call("iam", "GetAccountAuthorizationDetails", {"Filter": ["User"], "MaxItems": 1000}),  # REMINDER_EMAIL=tag:
    Call("iam", "DeactivateMFADevice", {"UserName": "bob", "SerialNumber": BOB_MFA}),
    Call("iam", "DeleteVirtualMFADevice", {"SerialNumber": BOB_MFA}),
    Call("iam", "UpdateAccessKey", {"UserName": "bob", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive"}),
]


def _in_partition(value: object, partition: str) -> object:
    """Move an ARN parameter into another partition; leave other values alone."""
    return value.replace("arn:aws:", f"arn:{partition}:") if isinstance(value, str) else value


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_admin_policy_needs_mfa(admin: dict, partition: str) -> None:
    """Admins may report and reset devices in any partition, only with MFA."""
    root = replace(ALICE_MFA, user_name="root-admin", partition=partition)
    calls = [
        replace(call, params={key: _in_partition(value, partition) for key, value in call.params.items()})
        for call in ADMIN_CALLS
    ]
    assert check_calls(admin, calls, root) == []
    problems = check_calls(admin, calls, replace(root, mfa_present=False))
    assert len(problems) == len(calls) and all("no statement allows it" in p for p in problems)


def test_admin_policy_is_least_privilege(admin: dict) -> None:
    """Admins can't create users or devices, or change anything outside MFA resets and key deactivation."""
    for action in ["iam:CreateUser", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:AttachUserPolicy",
                   "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed"]:
        assert not evaluate(admin, action, ["*"], ALICE_MFA).allowed


def test_admin_policy_changes_exactly_mfa_resets_and_key_status(admin: dict) -> None:
    """The only writes are DeactivateMFADevice, DeleteVirtualMFADevice and UpdateAccessKey (issue 19)."""
    writes = {action for statement in admin["Statement"] for action in
              ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
              if not action.split(":")[1].startswith(("List", "Get", "GenerateCredentialReport"))}
    assert writes == {"iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice", "iam:UpdateAccessKey"}
    user_key = evaluate(admin, "iam:UpdateAccessKey", [f"arn:aws:iam::{ACCOUNT}:user/bob"], ALICE_MFA)
    assert user_key.allowed
    assert not evaluate(admin, "iam:UpdateAccessKey", [f"arn:aws:iam::{ACCOUNT}:user/bob"],
                        replace(ALICE_MFA, mfa_present=False)).allowed


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("iam:List*", "iam:ListUsers", True),
        ("iam:List*", "iam:GetUser", False),
        ("IAM:listusers", "iam:ListUsers", True),
        ("iam:Get?ser", "iam:GetUser", True),
        ("iam:Get?ser", "iam:GetUsers", False),
        ("*", "s3:ListBuckets", True),
    ],
)
def test_action_wildcards_ignore_case(pattern: str, action: str, matches: bool) -> None:
    """Action names match case-insensitively with * and ?."""
    policy = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": pattern, "Resource": "*"}}
    assert evaluate(policy, action, ["*"], ALICE).allowed is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:iam::*:user/*", f"arn:aws:iam::{ACCOUNT}:user/team/bob", True),
        ("arn:aws:iam::*:user/?ob", f"arn:aws:iam::{ACCOUNT}:user/bob", True),
        ("arn:aws:iam::*:user/?ob", f"arn:aws:iam::{ACCOUNT}:user/bobby", False),
        ("arn:aws:iam::*:user/Bob", f"arn:aws:iam::{ACCOUNT}:user/bob", False),
        ("arn:aws:iam::1*2:user/bob", "arn:aws:iam::1:x:2:user/bob", False),
        ("arn:aws:iam::1*2:user/bob", "arn:aws:iam::1002:user/bob", True),
        ("arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}", f"arn:aws:iam::{ACCOUNT}:user/alice", True),
        ("arn:aws:iam::*:user/${aws:nosuchkey}", f"arn:aws:iam::{ACCOUNT}:user/alice", False),
        ("arn:aws:iam::*:user/${aws:nosuchkey, 'alice'}", f"arn:aws:iam::{ACCOUNT}:user/alice", True),
        ("arn:aws:iam::*:user/${*}", f"arn:aws:iam::{ACCOUNT}:user/*", True),
        ("arn:aws:iam::*:user/${*}", f"arn:aws:iam::{ACCOUNT}:user/alice", False),
    ],
)
def test_resource_wildcards_and_variables(pattern: str, resource: str, matches: bool) -> None:
    """Resources match case-sensitively, * stays in its ARN segment, variables expand."""
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": pattern}]}
    assert evaluate(policy, "iam:GetUser", [resource], ALICE).allowed is matches


def test_variables_are_literal_in_old_policy_versions() -> None:
    """Version 2008-10-17 (or none) has no policy variables."""
    statement = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}
    literal = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
    old = {"Version": "2008-10-17", "Statement": [statement]}
    assert not evaluate(old, "iam:GetUser", [f"arn:aws:iam::{ACCOUNT}:user/alice"], ALICE).allowed
    assert evaluate(old, "iam:GetUser", [literal], ALICE).allowed


def test_not_action_and_not_resource() -> None:
    """NotAction and NotResource apply to everything they don't list."""
    only_outside_iam = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    }
    assert evaluate(only_outside_iam, "s3:GetObject", ["*"], ALICE).allowed
    assert not evaluate(only_outside_iam, "iam:GetUser", ["*"], ALICE).allowed
    guard = {
        "Sid": "OnlyOwnDevice",
        "Effect": "Deny",
        "Action": "iam:DeleteVirtualMFADevice",
        "NotResource": "arn:aws:iam::*:mfa/${aws:username}",
    }
    policy = allow_all(guard)
    assert evaluate(policy, "iam:DeleteVirtualMFADevice", [OWN_MFA], ALICE).reason == "allowed by All"
    assert (
        evaluate(policy, "iam:DeleteVirtualMFADevice", [BOB_MFA], ALICE).reason
        == "explicit deny by statement OnlyOwnDevice"
    )


def test_every_resource_must_be_allowed() -> None:
    """A request on several resources needs an Allow for each, and a Deny on any refuses it."""
    statement = {"Sid": "Own", "Effect": "Allow", "Action": "iam:*", "Resource": OWN_MFA}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert evaluate(policy, "iam:TagMFADevice", [OWN_MFA], ALICE).reason == "allowed by Own"
    assert (
        evaluate(policy, "iam:TagMFADevice", [OWN_MFA, BOB_MFA], ALICE).reason == f"no statement allows it on {BOB_MFA}"
    )
    deny_bob = {"Sid": "NoBob", "Effect": "Deny", "Action": "*", "Resource": BOB_MFA}
    assert evaluate(allow_all(deny_bob), "iam:TagMFADevice", [OWN_MFA, BOB_MFA], ALICE).reason == (
        "explicit deny by statement NoBob"
    )


@pytest.mark.parametrize(
    ("condition", "context", "applies"),
    [
        ({"StringEquals": {"aws:username": "alice"}}, {}, True),
        ({"StringEquals": {"aws:username": ["bob", "alice"]}}, {}, True),
        ({"StringEquals": {"aws:username": "Alice"}}, {}, False),
        ({"StringEqualsIgnoreCase": {"aws:username": "Alice"}}, {}, True),
        ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}}, {}, True),
        ({"StringLike": {"aws:SourceIp": "10.*"}}, {}, False),
        ({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}, {}, True),
        ({"StringNotLike": {"aws:username": "a*"}}, {}, False),
        ({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}, {"aws:SourceVpc": "vpc-2"}, False),
        ({"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}, {"aws:PrincipalTag/team": "alice"}, True),
        ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, {}, False),
        ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}, True),
        ({"Null": {"aws:MultiFactorAuthPresent": "true"}}, {}, True),
        ({"Null": {"aws:username": "true"}}, {}, False),
        (
            {"StringEquals": {"aws:username": "alice"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}},
            {},
            False,
        ),
    ],
)
def test_conditions(condition: dict, context: dict, applies: bool) -> None:
    """Operators AND together, values OR, a missing key fails unless negated or ...IfExists."""
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert evaluate(policy, "iam:GetUser", ["*"], ALICE, context).allowed is applies


@pytest.mark.parametrize("operator", ["DateGreaterThan", "ForAnyValue:StringEquals", "NullIfExists", "Stringequals"])
def test_unknown_condition_operator_never_allows(operator: str) -> None:
    """An operator the evaluator can't judge voids an Allow and upholds a Deny, and says so."""
    condition = {operator: {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Odd", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}],
    }
    decision = evaluate(allow, "iam:GetUser", ["*"], ALICE)
    assert not decision.allowed
    assert (
        decision.reason == f"no statement allows it; statement Odd ignored: unsupported condition operator {operator}"
    )
    deny = allow_all({"Sid": "OddDeny", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition})
    assert evaluate(deny, "iam:GetUser", ["*"], ALICE).reason == (
        f"explicit deny by statement OddDeny (unsupported condition operator {operator} assumed to match)"
    )


@pytest.mark.parametrize(
    "call",
    [Call("iam", "CreateUser", {"UserName": "x"}), Call("sts", "AssumeRole", {}), Call("s3", "ListBuckets", {})],
)
def test_unmapped_operation_raises(call: Call) -> None:
    """A call with no mapping fails loudly instead of slipping past the policy test."""
    with pytest.raises(UnmappedCall, match=f"{call.service}:{call.operation}"):
        authorizations_of(call, ALICE)
    with pytest.raises(UnmappedCall):
        check_calls(load_policy("force-mfa"), [call], ALICE)


def test_malformed_input_is_refused() -> None:
    """Unknown policy names, statements with Action and NotAction, and no resources are errors."""
    with pytest.raises(ValueError, match="unknown policy"):
        load_policy("../secrets")
    both = {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}]}
    with pytest.raises(ValueError, match="exactly one of Action and NotAction"):
        evaluate(both, "iam:GetUser", ["*"], ALICE)
    with pytest.raises(ValueError, match="at least one resource"):
        evaluate(allow_all(), "iam:GetUser", [], ALICE)
