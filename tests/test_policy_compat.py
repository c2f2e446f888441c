"""Principle 2, proven: every call the self-service flows make is allowed by the force-MFA policy as shipped."""

import dataclasses
import re

from pages import assert_page

from app.policy import Call, Principal, check_calls, load_policy
from conftest import Person, code, operations

WHO = Principal(partition="aws", account="123456789012", user_name="new.hire", mfa_present=False)


def violations(recorded, who=WHO):
    """Judge each recorded call with the MFA state it was really made in."""
    problems = []
    for service, operation, params, with_mfa in recorded:
        call = Call(service, operation, params)
        problems += check_calls(load_policy("force-mfa"), [call], dataclasses.replace(who, mfa_present=with_mfa))
    return problems


def test_every_flow_stays_inside_the_force_mfa_policy(iam, make_user, client, clock, aws_calls):
    walker = Person(client, make_user("new.hire"))
    iam.create_virtual_mfa_device(VirtualMFADeviceName="new.hire")  # an abandoned attempt to recover from
    walker.sign_in()
    walker.start_enrollment()
    client.post("/enroll/start")  # start over: deletes and recreates its own unassigned device
    walker.seed = None
    walker.start_enrollment()
    walker.verify()
    walker.get_credentials()
    clock.advance(2)
    serial = "arn:aws:iam::123456789012:mfa/new.hire"
    client.post("/enroll/resync", data={"device": serial, "code1": code(walker.seed, 0), "code2": code(walker.seed, 1)})
    clock.advance(3)
    client.post("/device/replace", data={"device": serial, "code": code(walker.seed)})
    client.get("/")
    client.post("/logout")

    made = set(operations(aws_calls))
    # The test means something only if it saw the whole flow, stale-device recovery included.
    assert {"GetCallerIdentity", "ListAccountAliases", "ListMFADevices", "CreateVirtualMFADevice",
            "ListVirtualMFADevices", "DeleteVirtualMFADevice", "EnableMFADevice", "GetSessionToken",
            "ResyncMFADevice", "DeactivateMFADevice"} <= made
    assert "GetUser" not in made and not any(op.startswith("Tag") for op in made)
    assert all("Tags" not in params for _s, _o, params, _m in aws_calls)
    pre_mfa = [c for c in aws_calls if not c[3]]
    assert {"DeactivateMFADevice"}.isdisjoint(operations(pre_mfa))
    assert violations(aws_calls) == []


def test_the_check_would_catch_a_forbidden_call(aws_calls, person):
    person.sign_in()
    aws_calls.append(("iam", "GetUser", {"UserName": "new.hire"}, False))
    aws_calls.append(("iam", "DeactivateMFADevice", {"UserName": "new.hire", "SerialNumber": "x"}, False))
    problems = violations(aws_calls)
    assert len(problems) == 2
    assert "iam:GetUser" in problems[0] and "iam:DeactivateMFADevice" in problems[1]


def test_every_call_names_the_signed_in_user_only(iam, make_user, client, clock, aws_calls):
    """One user can never act on another: the user name always comes from GetCallerIdentity."""
    victim = make_user("victim")
    walker = Person(client, make_user("new.hire"))
    walker.sign_in()
    client.post("/enroll/start", data={"UserName": victim.name, "user": victim.name,
                                       "VirtualMFADeviceName": victim.name})
    walker.start_enrollment()
    client.post("/enroll/verify", data={"code1": code(walker.seed, -1), "code2": code(walker.seed, 0),
                                        "UserName": victim.name})
    stolen = "arn:aws:iam::123456789012:mfa/victim"
    refused = client.post("/credentials", data={"device": stolen, "code": code(walker.seed, 1), "duration": "3600",
                                                "profile": "default"})
    assert_page(refused, 400, "Your MFA devices changed since this page was loaded.")
    own = client.get(f"/credentials?user={victim.name}")
    assert_page(own, 200, "Prove it works")
    assert victim.name not in own.get_data(as_text=True)
    for _service, _operation, params, _mfa in aws_calls:
        assert params.get("UserName", "new.hire") == "new.hire"
        assert params.get("VirtualMFADeviceName", "new.hire") == "new.hire"
        assert params.get("SerialNumber", "arn:aws:iam::123456789012:mfa/new.hire").endswith("/new.hire")
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"][0]["SerialNumber"].endswith("/new.hire")


def test_own_access_key_flows_stay_inside_the_policy(iam, make_user, client, clock, aws_calls):
    """Keys page, rotation, deactivation and deletion: only GetAccessKeyLastUsed needs the shipped variant."""
    walker = Person(client, make_user("new.hire"))
    walker.sign_in()
    client.get("/security/keys")  # before MFA: ListAccessKeys only
    walker.start_enrollment()
    walker.verify()
    walker.get_credentials()
    old = walker.user.access_key_id
    client.get("/security/keys")
    client.post("/security/keys/rotate", data={"profile": "long-term", **walker.code_here()})
    client.get("/security/keys/new")
    client.post("/security/keys/rotate/finish")
    client.post(f"/security/keys/{old}/delete", data=walker.code_here())

    made = set(operations(aws_calls))
    assert {"ListAccessKeys", "GetAccessKeyLastUsed", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"} <= made
    assert {"GetAccessKeyLastUsed", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"}.isdisjoint(
        operations([c for c in aws_calls if not c[3]]))  # every change is made with the MFA session
    problems = violations(aws_calls)
    assert problems and all("iam:GetAccessKeyLastUsed" in p for p in problems)  # the seed lacks it, as README says
    variant = load_policy("force-mfa-with-key-last-used")
    assert [p for s, o, params, mfa in aws_calls
            for p in check_calls(variant, [Call(s, o, params)], dataclasses.replace(WHO, mfa_present=mfa))] == []


def test_console_password_flows_stay_inside_the_policy(iam, make_user, client, clock, aws_calls):
    """Set, change and remove a console password: every call allowed by the seed's policy, with MFA."""
    walker = Person(client, make_user("new.hire"))
    walker.enroll_fully()
    client.post("/security/password", data={"new": "Correct-Horse-42", "confirm": "Correct-Horse-42"})
    client.post("/security/password", data={"current": "Correct-Horse-42", "new": "Another-Pass-7",
                                            "confirm": "Another-Pass-7"})
    client.post("/security/password/remove")

    made = set(operations(aws_calls))
    assert {"GetLoginProfile", "GetAccountPasswordPolicy", "CreateLoginProfile", "ChangePassword",
            "DeleteLoginProfile"} <= made
    assert all(mfa for _s, op, _p, mfa in aws_calls if "Password" in op or "LoginProfile" in op)
    assert violations(aws_calls) == []


def test_ssh_key_flows_stay_inside_the_policy(iam, make_user, client, clock, aws_calls):
    """List before MFA, then upload, switch off and delete an SSH key with the MFA session."""
    from own_helpers import rsa_public

    walker = Person(client, make_user("new.hire"))
    walker.sign_in()
    client.get("/security/ssh")
    walker.start_enrollment()
    walker.verify()
    walker.get_credentials()
    client.post("/security/ssh", data={"body": rsa_public()})
    key_id = iam.list_ssh_public_keys(UserName="new.hire")["SSHPublicKeys"][0]["SSHPublicKeyId"]
    client.post(f"/security/ssh/{key_id}/status", data={"status": "Inactive"})
    client.post(f"/security/ssh/{key_id}/delete")

    assert {"ListSSHPublicKeys", "UploadSSHPublicKey", "UpdateSSHPublicKey", "DeleteSSHPublicKey"} <= set(
        operations(aws_calls))
    assert {"ListSSHPublicKeys"} == {op for _s, op, _p, mfa in aws_calls if "SSH" in op and not mfa}
    assert violations(aws_calls) == []


def test_more_device_flows_stay_inside_the_policy(iam, make_user, client, clock, aws_calls):
    """A hardware token, then removing the virtual device with the MFA session."""
    from app.demo.hardware import hardware_seed

    walker = Person(client, make_user("new.hire"))
    walker.enroll_fully()
    clock.advance(1)
    seed = hardware_seed("GAHT12345678")
    client.post("/security/devices", data={"device": "GAHT12345678", "code1": code(seed, -1), "code2": code(seed)})
    client.post("/security/devices/remove/arn:aws:iam::123456789012:mfa/new.hire")

    assert {"EnableMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice"} <= set(operations(aws_calls))
    assert all(mfa for _s, op, _p, mfa in aws_calls if op == "DeactivateMFADevice")
    assert iam.list_mfa_devices(UserName="new.hire")["MFADevices"][0]["SerialNumber"] == "GAHT12345678"
    assert violations(aws_calls) == []


def test_signing_certificate_flows_stay_inside_the_policy(iam, make_user, client, clock, aws_calls):
    """List, upload, switch off and delete a signing certificate, all with the MFA session."""
    from own_helpers import pem

    Person(client, make_user("new.hire")).enroll_fully()
    client.post("/security/certificates", data={"body": pem()})
    cert_id = iam.list_signing_certificates(UserName="new.hire")["Certificates"][0]["CertificateId"]
    client.post(f"/security/certificates/{cert_id}/status", data={"status": "Inactive"})
    client.post(f"/security/certificates/{cert_id}/delete")

    ops = {op for _s, op, _p, _m in aws_calls if "SigningCertificate" in op}
    assert ops == {"ListSigningCertificates", "UploadSigningCertificate", "UpdateSigningCertificate",
                   "DeleteSigningCertificate"}
    assert all(mfa for _s, op, _p, mfa in aws_calls if op in ops)
    assert violations(aws_calls) == []


def test_backup_device_flow_stays_inside_a_policy_scoped_to_mfa_star(tmp_path, moto, make_user, clock, aws_calls):
    """With the newer AWS example's mfa/* scope, a named backup device: created, enabled, used; the seed denies it."""
    import json
    import re

    from app.policy import policy_text
    from conftest import make_test_app

    app = make_test_app(tmp_path, MFA_BACKUP_NAME_PATTERN="{username}-{label}")
    client = app.test_client()
    walker = Person(client, make_user("new.hire"))
    walker.enroll_fully()
    client.post("/security/devices/backup", data={"label": "tablet"})
    seed = re.search(r'<code id="manual-key">([A-Z2-7 ]+)</code>',
                     client.get("/enroll/scan").get_data(as_text=True)).group(1).replace(" ", "")
    clock.advance(1)
    client.post("/enroll/verify", data={"code1": code(seed, -1), "code2": code(seed, 0)})
    clock.advance(1)
    client.post("/credentials", data={"device": "arn:aws:iam::123456789012:mfa/new.hire-tablet",
                                      "code": code(seed, 0), "duration": "3600", "profile": "default"})

    backup_calls = [c for c in aws_calls if "new.hire-tablet" in json.dumps(c[2])]
    assert {op for _s, op, _p, _m in backup_calls} == {"CreateVirtualMFADevice", "EnableMFADevice", "GetSessionToken"}
    scoped = json.loads(policy_text("force-mfa").replace("mfa/${aws:username}", "mfa/*"))
    assert [p for s, o, params, mfa in aws_calls
            for p in check_calls(scoped, [Call(s, o, params)], dataclasses.replace(WHO, mfa_present=mfa))] == []
    # Under the seed's own document the backup's creation is what would be denied: why it is off by default.
    denied = violations(aws_calls)
    assert denied and all("CreateVirtualMFADevice" in p or "EnableMFADevice" in p for p in denied)


def test_the_home_page_to_do_list_stays_inside_the_policy_in_every_state(tmp_path, moto, iam, make_user, clock,
                                                                         aws_calls):
    """Each to-do state, before and after MFA: the list is judged only from calls the person's state allows."""
    from datetime import timedelta

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    from conftest import make_test_app

    client = make_test_app(tmp_path, TODO_CONSOLE_PASSWORD=True).test_client()
    walker = Person(client, make_user("new.hire"))
    key = walker.user.access_key_id
    iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[key].create_date -= timedelta(days=120)
    states = []

    def home(state):
        before = len(aws_calls)
        page = client.get("/").get_data(as_text=True)
        states.append((state, set(operations(aws_calls[before:])), [c[3] for c in aws_calls[before:]]))
        return re.findall(r'<li class="todo-item" data-kind="([a-z-]+)"', page)

    walker.sign_in()
    assert home("no device, no MFA") == ["set-up-mfa"]
    walker.start_enrollment()
    home("setup under way")
    walker.verify()
    walker.get_credentials()
    assert home("enrolled: old handed-over key, no password") == ["rotate-key", "set-password"]
    iam.create_access_key(UserName="new.hire")
    assert home("two active keys, with MFA") == ["retire-key", "rotate-key", "set-password"]
    client.post("/logout")
    walker.sign_in()
    # Key items judged from ListAccessKeys alone; whether a password exists is not asked (GetLoginProfile needs MFA).
    assert home("two active keys, device, no MFA session") == ["retire-key", "rotate-key"]
    clock.advance(2)
    walker.get_credentials(token=code(walker.seed))
    client.post("/security/password", data={"new": "Correct-Horse-42", "confirm": "Correct-Horse-42"})
    client.post("/security/devices/remove/arn:aws:iam::123456789012:mfa/new.hire", data=walker.code_here())
    assert home("console password, no device, MFA session kept") == ["set-up-mfa"]  # IAM.5 and IAM.19

    seen = dict((name, ops) for name, ops, _m in states)
    assert seen["no device, no MFA"] <= {"ListMFADevices"}
    assert "ListAccessKeys" in seen["enrolled: old handed-over key, no password"]
    assert "GetLoginProfile" in seen["enrolled: old handed-over key, no password"]
    assert seen["two active keys, device, no MFA session"] <= {"ListMFADevices", "ListAccessKeys"}
    assert "ListAccessKeys" in seen["two active keys, device, no MFA session"]
    assert all(not mfa for _n, _o, flags in states[:2] + states[4:5] for mfa in flags)  # no MFA session there
    assert "GetLoginProfile" in seen["console password, no device, MFA session kept"]
    assert all(mfa for _s, op, _p, mfa in aws_calls if op == "GetLoginProfile")
    assert violations(aws_calls) == []
