"""Step-up guards every change to the person's own credentials: read off the URL map, then tried without a code."""

from __future__ import annotations

import pytest
from own_helpers import TOKEN, add_token, pem, rsa_public
from pages import assert_redirect

# The two areas whose views change the person's own credentials at AWS.
PREFIXES = ("long_term_credentials.", "devices.")

# The changes whose proof is not step-up but codes typed on their own page, and why that is enough.
NO_STEP_UP = {
    "long_term_credentials.rotate": "a code typed on the rotation page, checked by AWS before the key is made",
    "devices.index": "two consecutive codes from the new hardware token, checked by AWS as it enables it",
    "devices.add_backup": ("creates a device to enroll, as first enrollment does before MFA; "
                           "enabling it takes its codes"),
    # Enrollment runs before the person has MFA at all: the force-MFA policy allows exactly these calls then.
    "devices.start": "creates the virtual device to enroll, allowed without MFA by the force-MFA policy",
    "devices.verify": "two consecutive codes from the new device, checked by AWS as it enables it",
    "devices.resync": "two consecutive codes from the device, checked by AWS as it resynchronises it",
    "devices.replace": "the person's code from the device being replaced, or the admin's reset, checked first",
}

# What each guarded view asks for, innermost check first: "recent" (a code within 5 minutes), "session" (MFA).
GUARDS = {
    "long_term_credentials.password": ("recent",),
    "long_term_credentials.remove_password": ("session",),
    "long_term_credentials.ssh": ("recent",),
    "long_term_credentials.certificates": ("recent", "session"),
    "devices.remove": ("recent",),
    "long_term_credentials.finish_rotation": ("session",),
    **{"long_term_credentials." + name: ("session",)
       for name in ("key_status", "delete_key", "ssh_status", "delete_ssh", "cert_status", "delete_cert")},
}


def changing_endpoints(app) -> set[str]:
    """The areas' endpoints that take a POST: the ones that can change something at AWS."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(PREFIXES) and "POST" in (rule.methods or ())}


def test_every_change_is_guarded_by_step_up_or_a_code_on_its_page(app):
    changing = changing_endpoints(app)
    assert set(NO_STEP_UP) <= changing, "an exemption names a view that no longer changes anything"
    guarded = {name: getattr(app.view_functions[name], "step_up", ()) for name in changing - set(NO_STEP_UP)}
    assert guarded == GUARDS  # a view that loses its guard, or gets a weaker one, shows up here


@pytest.fixture
def held(person, iam, clock):
    """An enrolled person with one of every credential, signed in again: no MFA session, no recent code."""
    person.enroll_fully()
    # A second device: removing the first needs no code here.
    assert_redirect(add_token(person.client), "/security/devices")
    name = person.user.name
    iam.create_login_profile(UserName=name, Password="An-initial-Passw0rd!")  # noqa: S106 - the emulator's
    items = {
        "key": iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"],
        "ssh": iam.upload_ssh_public_key(UserName=name,
                                         SSHPublicKeyBody=rsa_public())["SSHPublicKey"]["SSHPublicKeyId"],
        "cert": iam.upload_signing_certificate(UserName=name, CertificateBody=pem())["Certificate"]["CertificateId"],
    }
    person.client.post("/logout")
    person.sign_in()
    clock.advance(11)
    return person, items


def state(iam, name: str) -> tuple:
    """Everything a guarded view could change at AWS."""
    return (sorted((k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]),
            sorted((k["SSHPublicKeyId"], k["Status"])
                   for k in iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]),
            sorted((c["CertificateId"], c["Status"])
                   for c in iam.list_signing_certificates(UserName=name)["Certificates"]),
            sorted(d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]),
            iam.get_login_profile(UserName=name)["LoginProfile"]["UserName"])


def test_without_an_mfa_session_every_guarded_change_goes_to_the_code_page_and_aws_is_untouched(app, held, iam):
    person, items = held
    virtual = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    posts = {  # each guarded endpoint, the form it takes, and where the code page sends the person back
        "password": ("/security/password", {"new": "A-new-Passw0rd!", "confirm": "A-new-Passw0rd!"},
                     "/security/password", "recent"),
        "remove_password": ("/security/password/remove", {}, "/security/password/remove", "session"),
        "ssh": ("/security/ssh", {"body": rsa_public(2048, 1)}, "/security/ssh", "recent"),
        "certificates": ("/security/certificates", {"body": pem(1)}, "/security/certificates", "session"),
        "remove": (f"/security/devices/remove/{virtual}", {}, f"/security/devices/remove/{virtual}", "recent"),
        "finish_rotation": ("/security/keys/rotate/finish", {}, "/security/keys/rotate/finish", "session"),
        "key_status": (f"/security/keys/{items['key']}/status", {"status": "Inactive"}, "/security/keys", "session"),
        "delete_key": (f"/security/keys/{items['key']}/delete", {}, f"/security/keys/{items['key']}/delete",
                       "session"),
        "ssh_status": (f"/security/ssh/{items['ssh']}/status", {"status": "Inactive"}, "/security/ssh", "session"),
        "delete_ssh": (f"/security/ssh/{items['ssh']}/delete", {}, f"/security/ssh/{items['ssh']}/delete", "session"),
        "cert_status": (f"/security/certificates/{items['cert']}/status", {"status": "Inactive"},
                        "/security/certificates", "session"),
        "delete_cert": (f"/security/certificates/{items['cert']}/delete", {},
                        f"/security/certificates/{items['cert']}/delete", "session"),
    }
    assert {name if name == "remove" else "long_term_credentials." + name for name in posts} == {
        name.removeprefix("devices.") for name in GUARDS}
    before = state(iam, person.user.name)
    for name, (path, form, back, why) in posts.items():
        asked = person.client.post(path, data=form)
        assert (name, asked.status_code) == (name, 302), asked.get_data(as_text=True)[:500]
        assert (name, asked.location) == (name, f"/credentials/code?next={back}&why={why}")
    assert state(iam, person.user.name) == before
    assert TOKEN in state(iam, person.user.name)[3]


def test_the_confirmation_pages_still_open_without_an_mfa_session_where_the_list_does(held):
    """Step-up guards the change, not the page that explains it: a GET of a delete page asks for nothing."""
    person, items = held
    for path in (f"/security/keys/{items['key']}/delete", f"/security/ssh/{items['ssh']}/delete"):
        page = person.client.get(path)
        assert page.status_code == 200 and "Delete" in page.get_data(as_text=True)
    asked = person.client.get(f"/security/certificates/{items['cert']}/delete")  # only the MFA session lists these
    assert asked.location == f"/credentials/code?next=/security/certificates/{items['cert']}/delete&why=session"
