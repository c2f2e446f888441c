"""Helpers shared by the admin tests: the admin's name, people with MFA sessions, the arranged account."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conftest import AwsUser, Person, code

ADMIN = "admin"


def enrolled(app, user: AwsUser) -> Person:
    """Return a person who enrolled through the portal and holds an MFA session, in their own browser."""
    person = Person(app.test_client(), user)
    page = person.enroll_fully()
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    return person


@dataclass
class Account:
    """The small arranged account: who is in which state."""

    admin: Person
    policy_arn: str


def arrange(app, iam, make_user) -> Account:
    """Create direct/group/no coverage, an abandoned device and an enrolled user; an admin with MFA."""
    policy_arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == "ForceMFA")
    iam.create_user(UserName="direct.user")
    iam.attach_user_policy(UserName="direct.user", PolicyArn=policy_arn)
    iam.create_user(UserName="loose.user")  # in no group, no policy: not covered
    make_user("group.user")  # in mfa-required: covered through the group, not enrolled
    make_user("stale.device")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="stale.device")  # created, never enabled: abandoned
    enrolled(app, make_user("enrolled.user"))  # through the portal: its audit trail is part of the arrangement
    return Account(with_mfa(app, iam, make_user(ADMIN)), policy_arn)


def give_device(iam, user_name: str) -> str:
    """Enable a virtual device for a user directly in the emulator (no portal involved); return its seed."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user_name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName=user_name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=code(seed, -1), AuthenticationCode2=code(seed, 0))
    return seed


def with_mfa(app, iam, user: AwsUser) -> Person:
    """Return a person with a device (enabled outside the portal) who typed a code for session credentials."""
    person = Person(app.test_client(), user)
    person.seed = give_device(iam, user.name)
    person.sign_in()
    page = person.get_credentials()
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    return person


def refresh(person: Person, follow: bool = True):
    """Press the dashboard's refresh button."""
    return person.client.post("/admin/refresh", follow_redirects=follow)


def table_users(html: str) -> list[str]:
    """Return the user names listed in the dashboard table, in order."""
    return re.findall(r'<td><a href="/admin/users/[^"]+">([^<]+)</a></td>', html)
