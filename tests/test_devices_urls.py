"""The devices area is one blueprint, yet every URL people bookmarked answers where it did, in the same nav area."""

from __future__ import annotations

import re

# URL → endpoint. No URL moved when enroll.*, account.replace_device and long_term_credentials.{devices_page,
# add_backup, remove_device} became devices.*: each page stays where the navigation shows it (enrollment under
# /enroll, the list under /security next to the other credentials), so no redirect is needed.
URLS = {
    ("POST", "/enroll/start"): "devices.start",
    ("GET", "/enroll/scan"): "devices.scan",
    ("POST", "/enroll/verify"): "devices.verify",
    ("GET", "/enroll/resync"): "devices.resync",
    ("POST", "/enroll/resync"): "devices.resync",
    ("GET", "/device/replace"): "devices.replace",
    ("POST", "/device/replace"): "devices.replace",
    ("GET", "/security/devices"): "devices.index",
    ("POST", "/security/devices"): "devices.index",
    ("POST", "/security/devices/backup"): "devices.add_backup",
    ("GET", "/security/devices/remove/<path:serial>"): "devices.remove",
    ("POST", "/security/devices/remove/<path:serial>"): "devices.remove",
}


def test_every_devices_url_is_where_it_was(app):
    """A new devices route must be added to URLS, and none of the old ones may move without a redirect."""
    rules = {(method, rule.rule): rule.endpoint for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("devices.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == URLS
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not endpoints & {"enroll.scan", "account.replace_device", "long_term_credentials.devices_page",
                            "long_term_credentials.remove_device"}


def current(html: str) -> str:
    """The main navigation's current area, as the link text says it."""
    topnav = re.search(r'<nav class="topnav".*?</nav>', html, re.S).group(0)
    return re.search(r'aria-current="page">([^<]+)<', topnav).group(1)


def test_device_pages_keep_their_nav_area(person, client):
    person.sign_in()
    assert current(person.start_enrollment().get_data(as_text=True)) == "My MFA"
    person.verify()
    person.get_credentials()
    serial = f"arn:aws:iam::123456789012:mfa/{person.user.name}"
    for url, area, words in [("/enroll/resync", "My MFA", "Resync my MFA device"),
                             ("/device/replace", "My MFA", "Replace my MFA device"),
                             ("/security/devices", "Security credentials", "My MFA devices"),
                             (f"/security/devices/remove/{serial}", "Security credentials", "Remove new.hire?")]:
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and words in html, url
        assert current(html) == area, url
