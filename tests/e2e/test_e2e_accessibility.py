"""Accessibility in a real browser: axe-core on every page state, phones, error wiring, keyboard only.

Every test runs in each language the portal offers (app.i18n.LANGUAGES: a new language is tested by
adding it there). axe-core comes from the npm registry (package.json, `npm ci` in the Makefile) and
is injected into a context that bypasses the CSP, since the portal's own CSP forbids inline script.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import expect

from app.i18n import LANGUAGES

from .conftest import ROOT_DIR, Visitor, browser_tab
from .steps import ADMIN_STEPS, fresh_step

pytestmark = pytest.mark.e2e

AXE = ROOT_DIR / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)  # axe runs at both
NARROW = (390, 320)  # no sideways scroll at either
BLOCKING = {"critical", "serious"}


@pytest.fixture(params=list(LANGUAGES))
def language(request) -> str:
    """Each language the portal offers."""
    return request.param


@pytest.fixture
def tab(chromium, portal, watch, language):
    """A tab that asks for the language and lets axe-core's script in past the CSP."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node_modules/.installed` (npm ci)", pytrace=False)
    with browser_tab(chromium, portal, watch, bypass_csp=True, locale=language) as opened:
        yield opened


@dataclass
class Audit:
    """Runs axe-core and the sideways-scroll check on each state the walk reaches, and keeps what failed."""

    page: object
    language: str
    failures: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)

    def check(self, state: str) -> None:
        """Check this page state at every width: axe at 1280 and 390 px, no sideways scroll at 390 and 320."""
        page = self.page
        self.states.append(state)
        expect(page.locator("html")).to_have_attribute("lang", self.language)
        for width in sorted(set(WIDTHS) | set(NARROW), reverse=True):
            page.set_viewport_size({"width": width, "height": 900})
            if width in NARROW:
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    wide = page.evaluate(_WIDEST)
                    self.failures.append(f"{state} @{width}px scrolls sideways by {overflow}px: {wide}")
                rows = page.evaluate(_HEADER_ROWS)
                if rows > 2:
                    self.failures.append(f"{state} @{width}px: the header takes {rows} rows")
            if width in WIDTHS:
                for violation in self.axe():
                    nodes = "; ".join(n["target"][0] if n["target"] else "?" for n in violation["nodes"][:4])
                    self.failures.append(f"{state} @{width}px {violation['impact']} {violation['id']}: "
                                         f"{violation['help']} ({nodes})")
        page.set_viewport_size({"width": 1280, "height": 900})

    def axe(self) -> list[dict]:
        """Return the critical and serious axe-core violations of the page as it is now."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate("axe.run(document).then(r => ({passes: r.passes.length, violations: r.violations}))")
        assert found["passes"] > 10, "axe-core checked almost nothing: is the page empty?"
        return [v for v in found["violations"] if v["impact"] in BLOCKING]

    def assert_clean(self) -> None:
        """Fail with every problem at once, so one run shows the whole list."""
        assert len(self.states) >= 10
        assert not self.failures, "\n".join(self.failures)


# How many rows the header's items sit in (items whose tops are within 12 px share a row).
_HEADER_ROWS = """(() => {
  const tops = [...document.querySelector('.topbar').children].filter(e => e.offsetParent)
    .map(e => e.getBoundingClientRect().top).sort((a, b) => a - b);
  return tops.reduce((rows, top, i) => rows + (i && top - tops[i - 1] > 12 ? 1 : 0), tops.length ? 1 : 0);
})()"""

# The elements wider than the viewport, to name in a failure.
_WIDEST = """(() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')).join(', '))()"""


class Walker(Visitor):
    """A visitor who works by element ids and roles, never by English words, so any language works."""

    def sign_in(self, user: dict | None = None, *, key_id: str | None = None, secret: str | None = None) -> None:
        """Open the portal and submit the sign-in form."""
        page = self.page
        page.goto("/")
        page.locator("#access_key_id").fill(key_id or user["access_key_id"])
        page.locator("#secret_access_key").fill(secret or user["secret_access_key"])
        page.locator("form.form-keys button[type=submit]").click()
        page.wait_for_load_state()

    def submit(self, form: str = "form.form") -> None:
        """Submit a form by its button and wait for the answer."""
        self.page.locator(f"{form} button[type=submit]").first.click()
        self.page.wait_for_load_state()

    def sign_out(self) -> None:
        """Sign out with the header's button."""
        self.page.locator("form[action$='/logout'] button").click()
        self.page.wait_for_load_state()


# New hires not used by the other browser tests (test_e2e_errors takes the first two); one each per test.
_NEW_HIRES = itertools.count(2)


def new_hire(portal) -> dict:
    """A seeded new hire no other test of this worker has signed in as."""
    return portal.first("new hire", skip=next(_NEW_HIRES))


def test_every_page_state_passes_axe_and_fits_a_phone(tab, portal, language):
    page, walker = tab, Walker(tab, portal)
    audit = Audit(page, language)

    page.goto("/")
    audit.check("sign-in")
    walker.sign_in(key_id="AKIAZZZZZZZZZZZZZZZZ", secret="a" * 40)
    audit.check("sign-in, keys refused")
    walker.sign_in(key_id="nonsense", secret="short")
    audit.check("sign-in, malformed keys")

    hire = new_hire(portal)
    walker.sign_in(hire)
    expect(page.locator(".topnav a[href$='/credentials']")).to_have_count(0)  # no device yet: nothing to get
    expect(page.locator(".steps [aria-current=step]")).to_have_count(1)  # the step bar from the first screen
    audit.check("home, no device")
    page.locator("form[action$='/enroll/start'] button").first.click()
    seed = re.sub(r"\s+", "", page.locator("#manual-key").inner_text())
    audit.check("scan")
    page.locator("#code1").fill("12")
    page.locator("#code2").fill("abc")
    walker.submit("form[action$='/enroll/verify']")
    audit.check("scan, malformed codes")
    step = walker.step_now()
    page.locator("#code1").fill(walker.code(seed, step))
    page.locator("#code2").fill(walker.code(seed, step))
    walker.submit("form[action$='/enroll/verify']")
    audit.check("scan, same code twice")
    step = _enable(walker, seed)
    audit.check("prove it works")
    page.locator("#code").fill("000000" if walker.code(seed, step + 1) != "000000" else "111111")
    walker.submit()
    audit.check("prove it works, code refused")
    page.locator("#code").fill(walker.code(seed, step + 1))
    walker.submit()
    expect(page.locator("#panel-ini")).to_be_visible()
    audit.check("credentials, INI tab")
    page.locator("#tab-credential_process").click()
    audit.check("credentials, credential_process tab")
    page.goto("/")
    expect(page.locator(".topnav a[href$='/credentials']")).to_have_count(1)
    audit.check("home, enrolled")  # one to-do item: the handed-over key
    # An administrator makes the second key: the emulator, like AWS, denies it to the hire's key without MFA.
    boto3.client("iam", region_name="us-east-1", endpoint_url=portal.endpoint_url,
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_access_key(UserName=hire["name"])
    page.goto("/")
    expect(page.locator("li.todo-item")).to_have_count(2)  # and a second active key
    audit.check("home, several to-do items")
    page.goto("/enroll/resync")
    audit.check("resync")
    walker.submit()
    audit.check("resync, empty codes")
    page.goto("/device/replace")
    audit.check("replace device")
    for path in ("/security/keys", "/security/ssh", "/security/password", "/security/profiles",
                 "/security/certificates", "/security/devices", "/security/keys/rotate",
                 f"/security/devices/remove/arn:aws:iam::123456789012:mfa/{hire['name']}",
                 "/credentials/code?next=/security/password&why=recent"):
        page.goto(path)
        audit.check(f"own credentials {path}")
    page.goto("/no-such-page")
    audit.check("not found")
    walker.sign_out()
    audit.check("signed out")

    admin = portal.user("admin")
    walker.sign_in(admin)
    page.goto("/credentials")
    page.locator("#code").fill(walker.code(admin["mfa_seed"], fresh_step(ADMIN_STEPS)))
    walker.submit()
    page.goto("/admin/")
    audit.check("admin dashboard")
    if page.locator(".chart").count() == 0:
        walker.submit("form.admin-refresh")
    audit.check("admin dashboard with data")
    page.goto("/admin/?sort=nonsense")
    audit.check("admin dashboard, bad filter")
    page.goto("/admin/users/enrolled.user")
    audit.check("admin user")
    page.locator(".confirm-step summary").click()
    expect(page.locator(".confirm-body button[type=submit]")).to_be_visible()
    audit.check("admin user, reset confirmation open")
    page.locator("#user-keys a.button.danger").first.click()
    expect(page.locator("#key-last-used")).to_be_visible()
    audit.check("admin deactivate key confirmation")
    page.goto("/admin/?finding=IAM.19")
    audit.check("admin dashboard, finding filter")
    page.goto("/admin/history")
    audit.check("admin history")
    page.goto("/admin/audit")
    audit.check("audit log")
    audit.assert_clean()


def _enable(walker: Walker, seed: str) -> int:
    """Type the codes of the previous and the current step into the scan page; return the current step."""
    step = walker.step_now()
    walker.page.locator("#code1").fill(walker.code(seed, step - 1))
    walker.page.locator("#code2").fill(walker.code(seed, step))
    walker.submit("form[action$='/enroll/verify']")
    return step


def test_errors_are_tied_to_their_fields_and_take_the_focus(tab, portal, language):
    page, walker = tab, Walker(tab, portal)
    walker.sign_in(new_hire(portal))
    page.locator("form[action$='/enroll/start'] button").first.click()
    walker.submit("form[action$='/enroll/verify']")  # both codes left empty
    invalid = page.locator("form [aria-invalid=true]")
    expect(invalid).to_have_count(2)
    for field_id in ("code1", "code2"):
        described = page.locator(f"#{field_id}").get_attribute("aria-describedby").split()
        assert f"{field_id}-error" in described
        expect(page.locator(f"#{field_id}-error")).not_to_be_empty()
    # The summary if the page has one, else the first invalid field; either way in view.
    focused = page.evaluate("document.activeElement.id")
    assert focused in {"problem", "code1"}, focused
    expect(page.locator(f"#{focused}")).to_be_in_viewport()

    # A problem AWS reported (codes it refused) is a summary, and the focus lands on it.
    page.locator("#code1").fill("123456")
    page.locator("#code2").fill("654321")
    walker.submit("form[action$='/enroll/verify']")
    expect(page.locator("#problem")).to_be_focused()
    expect(page.locator("#problem")).to_be_in_viewport()
    for field_id in ("code1", "code2"):  # and the summary describes the fields it is about
        expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
        assert "problem" in page.locator(f"#{field_id}").get_attribute("aria-describedby").split()


def test_skip_link_is_the_first_stop_and_jumps_to_the_content(tab, portal):
    page = tab
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the content, not the header
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_focus_ring_contrasts_with_its_background(tab, portal):
    """The ring's colour against the colour just outside it, for a header link, a plain link and <summary>."""
    page = tab
    page.goto("/")
    for selector in ("a.brand", "details.help summary", "main a, main summary"):
        target = page.locator(selector).first
        target.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # a keyboard focus, so :focus-visible applies
        expect(target).to_be_focused()
        ring, around = target.evaluate(_RING_AND_BACKGROUND)
        assert _contrast(ring, around) >= 3, (selector, ring, around)


# The outline colour, and the background colour of the nearest ancestor that paints one.
_RING_AND_BACKGROUND = """el => {
  const ring = getComputedStyle(el).outlineColor;
  let node = el.parentElement, bg = 'rgba(0, 0, 0, 0)';
  while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
    bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
  }
  return [ring, bg];
}"""


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_clock_skew_is_warned_about_and_the_code_window_follows_the_server(chromium, portal, watch, language):
    with browser_tab(chromium, portal, watch, locale=language) as page:
        walker = Walker(page, portal)
        walker.sign_in(new_hire(portal))
        page.locator("form[action$='/enroll/start'] button").first.click()
        expect(page.locator(".clock-warning")).to_be_hidden()  # same machine, same clock
        expect(page.locator(".code-window")).to_be_attached()

        page.clock.install(time=time.time() + 47)  # a phone or laptop clock 47 s fast
        page.reload()
        warning = page.locator(".clock-warning")
        expect(warning).to_be_visible()
        expect(warning.locator(".clock-ahead .clock-skew")).to_have_text(re.compile(r"^4[6-9]$"))
        expect(warning.locator(".clock-ahead")).to_be_visible()
        expect(warning.locator(".clock-behind")).to_be_hidden()
        # The countdown still counts the server's (AWS's) 30-second window, not the fast clock's.
        shown = int(page.locator(".code-clock .countdown").inner_text())
        expected = 30 - int(time.time()) % 30
        assert min(abs(shown - expected), 30 - abs(shown - expected)) <= 2, (shown, expected)


def test_one_full_enrollment_by_keyboard_only(tab, portal, language):
    """Sign in, set up, scan (read the key), two codes, one more, copy the credentials: never a mouse."""
    page, keys = tab, tab.keyboard
    user = new_hire(portal)
    page.goto("/")
    tab_to(page, "#access_key_id")
    keys.type(user["access_key_id"])
    tab_to(page, "#secret_access_key")
    keys.type(user["secret_access_key"])
    keys.press("Enter")
    page.wait_for_load_state()

    tab_to(page, "form[action$='/enroll/start'] button")
    keys.press("Enter")
    page.wait_for_load_state()
    seed = re.sub(r"\s+", "", page.locator("#manual-key").inner_text())  # what the person reads off the screen
    tab_to(page, "button[data-copy-target=manual-key]")
    keys.press("Enter")
    assert page.evaluate("navigator.clipboard.readText()") == seed

    step = Visitor.step_now()
    tab_to(page, "#code1")
    keys.type(Visitor.code(seed, step - 1))
    tab_to(page, "#code2")
    keys.type(Visitor.code(seed, step))
    keys.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("3")

    tab_to(page, "#code")
    keys.type(Visitor.code(seed, step + 1))
    keys.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#panel-ini")).to_be_visible()

    tab_to(page, "#tab-ini")
    keys.press("ArrowRight")
    expect(page.locator("#tab-bash")).to_be_focused()
    expect(page.locator("#panel-bash")).to_be_visible()
    tab_to(page, "#panel-bash button[data-copy-target]")
    keys.press("Enter")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#snippet-bash").inner_text()
    assert "export AWS_SESSION_TOKEN=" in page.locator("#snippet-bash").inner_text()


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element has the focus, as a keyboard user would; fail if it never gets it."""
    target = page.locator(selector).first
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus after {limit} presses of Tab")


def test_axe_is_the_pinned_npm_package():
    """The injected script is the package.json pin, so a run is reproducible."""
    pinned = json.loads((ROOT_DIR / "package.json").read_text())["devDependencies"]["axe-core"]
    installed = json.loads(Path(AXE.parent / "package.json").read_text())["version"]
    assert installed == pinned
