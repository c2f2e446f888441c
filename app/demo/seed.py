"""Fill the emulator with a realistic account by writing moto's IAM objects directly."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict
from moto.core.utils import utcnow
from moto.iam.models import AccessKeyLastUsed, IAMBackend, User, iam_backends

ACCOUNT_ALIAS = "demo-corp"
FORCE_MFA_POLICY_NAME = "ForceMFA"
ADMIN_POLICY_NAME = "MFAPortalAdmin"
MFA_GROUP = "mfa-required"
ADMIN_GROUP = "portal-admins"

ADMIN_POLICY_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PortalAdminOnlyWithMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:List*",
                    "iam:Get*",
                    "iam:GenerateCredentialReport",
                    "iam:DeactivateMFADevice",
                    "iam:DeleteVirtualMFADevice",
                    "iam:UpdateAccessKey",
                ],
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }
)

# IAM is global: moto keys its backends by partition, and signs IAM requests in us-east-1.
_PARTITION = "aws"
_REGION = "us-east-1"

# fmt: off
_FIRST = (
    "aaliyah", "adam", "aisha", "alejandro", "amara", "ana", "andrei", "anna", "arjun",
    "ben", "carlos", "chen", "chloe", "david", "diego", "elena", "emeka", "emma",
    "farah", "fatima", "felix", "grace", "hana", "hiroshi", "ibrahim", "ines", "isabel",
    "ivan", "jack", "james", "jin", "julia", "kai", "karin", "kofi", "lars", "layla",
    "leo", "lucas", "maria", "mateo", "maya", "mei", "mohammed", "nadia", "nikhil",
    "noah", "olga", "omar", "oscar", "priya", "rafael", "rania", "rosa", "sam", "sara",
    "sofia", "tariq", "tom", "valentina", "wei", "yara", "yusuf", "zoe",
)
_LAST = (
    "abbott", "adeyemi", "alvarez", "andersen", "bauer", "becker", "chen", "costa",
    "dubois", "eriksson", "fernandez", "fischer", "garcia", "gupta", "haddad", "hansen",
    "hoffmann", "ito", "jansen", "kaur", "khan", "kim", "kowalski", "larsen", "lee",
    "lopez", "martin", "meyer", "morales", "murphy", "nakamura", "nguyen", "novak",
    "obrien", "okafor", "olsen", "park", "patel", "perez", "petrov", "rossi", "santos",
    "schmidt", "silva", "singh", "smith", "tanaka", "taylor", "thompson", "walker",
    "wang", "weber", "williams", "wong", "yilmaz", "zhang",
)
# fmt: on


@dataclass
class DemoUser:
    """A seeded IAM user with what a demo visitor needs to sign in as them."""

    name: str
    role: str
    access_key_id: str
    secret_access_key: str
    mfa_seed: str | None
    groups: list[str] = field(default_factory=list)


def backend() -> IAMBackend:
    """Return moto's IAM backend for the default account (looked up anew: reset replaces it)."""
    return iam_backends[DEFAULT_ACCOUNT_ID][_PARTITION]


def reset() -> None:
    """Wipe every moto backend, as mock_aws() does on start, so a test can seed again."""
    BackendDict.reset()


def _unique_names(rng: random.Random, taken: set[str]) -> Iterator[str]:
    """Yield first.last names not in taken, adding a number when a name repeats."""
    while True:
        base = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}{n}"
        taken.add(name)
        yield name


def _add_user(iam: IAMBackend, name: str, groups: list[str], created: datetime) -> User:
    """Create a user dated `created` and put them in groups."""
    user = iam.create_user(_REGION, name)
    user.create_date = created
    for group in groups:
        # The user is brand new, so skip add_user_to_group's linear membership scan.
        iam.groups[group].users.append(user)
    return user


def _add_key(iam: IAMBackend, user: User, last_used: datetime | None = None) -> tuple[str, str]:
    """Give a user an active access key and return its id and secret."""
    key = iam.create_access_key(user.name)
    key.create_date = user.create_date
    if last_used is not None:
        key.last_used = AccessKeyLastUsed(timestamp=last_used, service="iam", region=_REGION)
    return key.access_key_id, key.secret_access_key


def _add_device(iam: IAMBackend, user: User, enabled: datetime | None) -> str:
    """Create the user's device (named after them, as ForceMFA requires), enabled or unassigned."""
    device = iam.create_virtual_mfa_device(user.name, "/")
    if enabled is not None:
        # moto only stores the codes; the emulator's checks live in the API handlers.
        iam.enable_mfa_device(user.name, device.serial_number, "", "")
        device.enable_date = enabled
        user.mfa_devices[device.serial_number].enable_date = enabled
    return device.base32_string_seed


def _create_policies(iam: IAMBackend, policy_document: str, admin_policy_document: str) -> str:
    """Create the ForceMFA and admin policies and groups; return the ForceMFA policy ARN."""
    force = iam.create_policy(
        description="Deny everything except MFA self-service until signed in with MFA",
        path="/",
        policy_document=policy_document,
        policy_name=FORCE_MFA_POLICY_NAME,
        tags=[],
    )
    admin = iam.create_policy(
        description="Read MFA enrollment and reset lost devices, only with MFA",
        path="/",
        policy_document=admin_policy_document,
        policy_name=ADMIN_POLICY_NAME,
        tags=[],
    )
    iam.create_group(MFA_GROUP)
    iam.create_group(ADMIN_GROUP)
    iam.attach_group_policy(force.arn, MFA_GROUP)
    iam.attach_group_policy(admin.arn, ADMIN_GROUP)
    return force.arn


def _named_users(iam: IAMBackend, now: datetime) -> list[DemoUser]:
    """Create the four users the demo's tour is written around."""
    specs = [
        ("new.hire", "new hire", [MFA_GROUP], None, 1),
        ("stale.device", "abandoned device", [MFA_GROUP], None, 3),
        ("enrolled.user", "enrolled", [MFA_GROUP], now - timedelta(days=40), 60),
        ("admin", "admin", [MFA_GROUP, ADMIN_GROUP], now - timedelta(days=150), 400),
    ]
    users = []
    for name, role, groups, enabled, age_days in specs:
        user = _add_user(iam, name, groups, now - timedelta(days=age_days))
        key_id, secret = _add_key(iam, user)
        mfa_seed = _add_device(iam, user, enabled) if role != "new hire" else None
        users.append(DemoUser(name, role, key_id, secret, mfa_seed, list(groups)))
    return users


def _extra_user(iam: IAMBackend, rng: random.Random, name: str, now: datetime, force_arn: str) -> DemoUser:
    """Create one generated person with a realistic mix of coverage, MFA, console and key use."""
    groups = [MFA_GROUP] if rng.random() < 0.9 else []
    draw = rng.random()
    role = "enrolled" if draw < 0.70 else "abandoned device" if draw < 0.75 else "new hire"
    enabled = None
    if role == "enrolled":
        # Most enrolled soon after a rollout about four months ago, tailing off since.
        enabled = now - timedelta(days=rng.triangular(0, 180, 120), seconds=rng.randrange(86_400))
        created = enabled - timedelta(days=rng.uniform(0, 20))
    else:
        created = now - timedelta(days=rng.uniform(0, 365))
    user = _add_user(iam, name, groups, created)
    if not groups and rng.random() < 0.5:
        iam.attach_user_policy(force_arn, name)
    if rng.random() < 0.4:
        user.password = f"demo-{rng.getrandbits(64):x}"
        if rng.random() < 0.7:
            user.password_last_used = now - timedelta(days=rng.uniform(0, 60))
    usage = rng.random()
    last_used = None
    if usage < 0.55:
        last_used = now - timedelta(days=rng.uniform(0, 14))
    elif usage < 0.80:
        last_used = now - timedelta(days=rng.uniform(15, 120))
    key_id, secret = _add_key(iam, user, max(last_used, created) if last_used else None)
    mfa_seed = _add_device(iam, user, enabled) if role != "new hire" else None
    return DemoUser(name, role, key_id, secret, mfa_seed, groups)


def seed_demo(
    policy_document: str,
    extra_users: int = 300,
    rng_seed: int = 7,
    admin_policy_document: str = ADMIN_POLICY_DOCUMENT,
) -> list[DemoUser]:
    """Seed the demo account: policies, groups, the four named users first, then generated ones."""
    iam = backend()
    now = utcnow()
    iam.create_account_alias(ACCOUNT_ALIAS)
    force_arn = _create_policies(iam, policy_document, admin_policy_document)
    users = _named_users(iam, now)
    # Demo data must be reproducible, not secret.
    rng = random.Random(rng_seed)  # noqa: S311  # nosec B311
    names = _unique_names(rng, set(iam.users))
    users.extend(_extra_user(iam, rng, next(names), now, force_arn) for _ in range(extra_users))
    return users


def seed_population(n_users: int, n_enrolled: int, n_abandoned: int, rng_seed: int = 1) -> None:
    """Add many users fast for benchmarks; they join mfa-required when seed_demo has made it."""
    if n_enrolled + n_abandoned > n_users:
        raise ValueError("more enrolled and abandoned users than users")
    iam = backend()
    now = utcnow()
    # Demo data must be reproducible, not secret.
    rng = random.Random(rng_seed)  # noqa: S311  # nosec B311
    states = ["enrolled"] * n_enrolled + ["abandoned"] * n_abandoned
    states += ["none"] * (n_users - len(states))
    rng.shuffle(states)
    groups = [MFA_GROUP] if MFA_GROUP in iam.groups else []
    names = _unique_names(rng, set(iam.users))
    for state in states:
        created = now - timedelta(days=rng.uniform(0, 720))
        user = _add_user(iam, next(names), groups, created)
        _add_key(iam, user)
        if state == "enrolled":
            _add_device(iam, user, created + (now - created) * rng.random())
        elif state == "abandoned":
            _add_device(iam, user, None)
