"""Browser tests: headless Chromium against the real portal (gunicorn) and the AWS emulator.

Both servers run in their own processes on free ports, once per pytest(-xdist) worker. The
emulator's clock cannot be frozen from here, so codes come from pyotp and the real time:
enabling with the codes of steps now-1 and now lets the proving code of step now+1 pass at
once (AWS's window for GetSessionToken is [now-1, now+1]), so no test has to wait for a
new code. Each test signs in as a different seeded user, so tests do not depend on order.

The portal keeps its rate limits on. Only failed sign-ins count (a few a minute per access key
ID, dozens per address, app/config.py), and the tests' few deliberate failures stay well below.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest

from tools.live_portal import StartError, live_portal

ROOT_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
STEP = 30

# Turns every Content-Security-Policy violation into a console error the watcher sees.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline code") +
                " in " + e.sourceFile + ":" + e.lineNumber);
});
"""
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d{3})")


def _missing(reason: str):
    """Skip locally; in CI the browser tests must run, so fail loudly instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}. CI=true: the e2e browser tests must run, not skip "
                    "(.ci/run installs Debian's chromium with apt).", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show what the browser showed and the end of both servers' logs."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    page, portal = item.funcargs.get("page"), item.funcargs.get("portal")
    if page is not None and not page.is_closed():
        try:
            report.sections.append(("page", f"{page.url}\n{page.locator('body').inner_text(timeout=2000)[:3000]}"))
        except Exception as err:  # noqa: BLE001 - the report must not hide the test's own failure
            report.sections.append(("page", f"{page.url} (text unavailable: {err})"))
    if portal is not None:
        report.sections.append(("servers", portal.logs()))


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium for this worker (Debian's, as Playwright cannot download one here)."""
    if not CHROMIUM.exists():
        _missing(f"no Chromium at {CHROMIUM} (install it with: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Python Playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def portal(chromium):
    """The real portal and the emulator, seeded with the demo users, stopped at the end of the session."""
    try:
        with live_portal(seed_users=60) as running:
            yield running
    except StartError as err:
        pytest.fail(str(err), pytrace=False)


@dataclass
class ConsoleWatch:
    """Collects what a person would see in the developer tools: console errors, CSP violations, JS errors."""

    problems: list[str] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)

    def on_response(self, response) -> None:
        """Remember each page's own status: forms re-rendered with 400 are by design, not a broken resource."""
        if response.request.resource_type == "document":
            self.documents[response.url] = response.status

    def on_console(self, message) -> None:
        """Keep console errors, except the one Chromium logs for a page that came with an error status."""
        if message.type != "error":
            return
        failed = _FAILED_LOAD.match(message.text)
        url = message.location.get("url", "")
        if failed and self.documents.get(url) == int(failed.group(1)):
            return
        self.problems.append(f"console error on {url or message.page.url}: {message.text}")

    def on_page_error(self, error) -> None:
        """Keep uncaught JavaScript exceptions."""
        self.problems.append(f"JavaScript error: {error}")


@pytest.fixture
def watch():
    """The console watcher of the current test's page."""
    return ConsoleWatch()


@contextlib.contextmanager
def browser_tab(chromium, portal, watch: ConsoleWatch, **options):
    """A fresh browser profile and tab; fails the test if any page logged an error."""
    options = {"viewport": VIEWPORT, "locale": "en-US", **options}
    context = chromium.new_context(base_url=portal.url, accept_downloads=True,
                                   permissions=["clipboard-read", "clipboard-write"], **options)
    context.set_default_timeout(15_000)
    context.add_init_script(_CSP_REPORTER)
    tab = context.new_page()
    tab.on("response", watch.on_response)
    tab.on("console", watch.on_console)
    tab.on("pageerror", watch.on_page_error)
    yield tab
    context.close()
    if watch.problems:
        pytest.fail("the browser reported errors (a CSP violation means inline script or style in a template):\n"
                    + "\n".join(watch.problems), pytrace=False)


@pytest.fixture
def page(chromium, portal, watch):
    """A fresh browser profile and tab at 1280x900 in English."""
    with browser_tab(chromium, portal, watch) as tab:
        yield tab


class Visitor:
    """A person in the browser: signs in, scans, types codes, as the pages ask."""

    def __init__(self, page, portal):
        self.page = page
        self.portal = portal

    @staticmethod
    def step_now() -> int:
        """The TOTP time step of now, as the emulator computes it (same machine, same clock)."""
        return int(time.time()) // STEP

    @staticmethod
    def code(seed: str, step: int) -> str:
        """The code an authenticator app shows during a given step."""
        return pyotp.TOTP(seed).generate_otp(step)

    def sign_in(self, user: dict | None = None, *, key_id: str | None = None, secret: str | None = None) -> None:
        """Open the portal and submit the sign-in form."""
        page = self.page
        page.goto("/")
        page.get_by_label("Access key ID").fill(key_id or user["access_key_id"])
        page.get_by_label("Secret access key").fill(secret or user["secret_access_key"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    def start_enrollment(self) -> str:
        """Click the set-up button and read the setup key off the scan page."""
        self.page.get_by_role("button", name="Set up my MFA device").click()
        key = self.page.locator("#manual-key")
        return re.sub(r"\s+", "", key.inner_text())

    def type_two_codes(self, first: str, second: str) -> None:
        """Fill both code fields of the scan page and submit them."""
        self.page.get_by_label("First code").fill(first)
        self.page.get_by_label("Next code").fill(second)
        self.page.get_by_role("button", name="Enable my device").click()
        self.page.wait_for_load_state()

    def enable(self, seed: str) -> int:
        """Type the codes of the previous and the current step; return the current step."""
        step = self.step_now()
        self.type_two_codes(self.code(seed, step - 1), self.code(seed, step))
        return step

    def type_one_code(self, code: str, *, duration: str | None = None, profile: str | None = None) -> None:
        """Fill the session-credentials form and submit it."""
        page = self.page
        page.get_by_label("Code from your authenticator app").fill(code)
        if duration:
            page.get_by_label("Valid for").select_option(label=duration)
        if profile:
            page.get_by_label("Profile name").fill(profile)
        page.get_by_role("button", name="Get credentials").click()
        page.wait_for_load_state()


@pytest.fixture
def visitor(page, portal):
    """A person with a fresh browser profile."""
    return Visitor(page, portal)


@pytest.fixture(autouse=True)
def clock():
    """Leave the real clock running here: the portal and the emulator run in processes of their own."""
    return None
