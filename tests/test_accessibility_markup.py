"""The markup assistive technology relies on, page by page (the browser tests check it live with axe-core)."""

from __future__ import annotations

import re
import time


def nav(html: str) -> str:
    """The main navigation's markup."""
    return re.search(r'<nav class="topnav".*?</nav>', html, re.S).group(0)


def test_the_skip_link_comes_before_anything_else_focusable_and_targets_main(client):
    html = client.get("/login").get_data(as_text=True)
    body = html[html.index("<body"):]
    first = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body).group(0)
    assert 'class="skip-link" href="#main"' in first
    assert re.search(r'<main [^>]*id="main" tabindex="-1"', html)


def test_nav_marks_the_current_area_and_offers_credentials_only_once_a_device_exists(person, client):
    home = person.sign_in().get_data(as_text=True)
    assert 'aria-current="page">My MFA' in nav(home)
    assert "/credentials" not in nav(home)  # a new hire has nothing to get yet
    assert 'aria-current="step"' in home  # the step bar from the first screen on
    assert "/credentials" not in nav(person.start_enrollment().get_data(as_text=True))
    person.verify()
    proving = client.get("/credentials").get_data(as_text=True)
    assert re.search(r'href="/credentials" aria-current="page"', nav(proving))


def test_field_errors_are_named_by_the_field_and_the_summary_describes_code_fields(person, client):
    person.sign_in()
    person.start_enrollment()
    empty = person.verify(first=" ", second=" ").get_data(as_text=True)
    for name in ("code1", "code2"):
        field = re.search(rf'<input[^>]*id="{name}"[^>]*>', empty).group(0)
        assert 'aria-invalid="true"' in field and f'{name}-error' in re.search(
            r'aria-describedby="([^"]+)"', field).group(1)
        assert re.search(rf'<p class="field-error" id="{name}-error">[^<]+</p>', empty)
    refused = person.verify(first="123456", second="654321").get_data(as_text=True)
    assert 'id="problem" tabindex="-1" data-focus-after-submit' in refused
    field = re.search(r'<input[^>]*id="code1"[^>]*>', refused).group(0)
    assert 'aria-invalid="true"' in field and "problem" in re.search(r'aria-describedby="([^"]+)"', field).group(1)


def test_code_pages_carry_the_server_clock_and_the_code_window(person, client):
    person.sign_in()
    html = person.start_enrollment().get_data(as_text=True)
    server = int(re.search(r'data-server-time="(\d+)"', html).group(1))
    assert abs(server - time.time()) < 5
    assert re.search(r'<progress class="code-window" max="30" value="\d+"', html)
    assert re.search(r'<p class="clock-warning" role="alert" hidden>', html)
