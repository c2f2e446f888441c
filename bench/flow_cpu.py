"""CPU and memory of whole enrollments: the portal's one gunicorn worker against botocore's own floor.

    .venv/bin/python bench/flow_cpu.py [--enrollments 10] [--chromium /usr/bin/chromium]

Runs the emulator and the portal (tools/live_portal.py, one worker), then walks new hires through
the whole flow in headless Chromium, each in a fresh browser profile: sign-in page, sign in, set up
the device, scan page, two codes, one more code, credentials, download, home. The worker's CPU time
per enrollment comes from its CPU-time clock (clock_getcpuclockid, to the nanosecond) around each walk.
The floor is the CPU this process spends on the flow's six essential AWS calls (GetCallerIdentity,
ListAccountAliases, ListMFADevices, CreateVirtualMFADevice, EnableMFADevice, GetSessionToken) with
ready botocore clients, against the same emulator: what any portal must pay. It is measured right after
each enrollment, so each pair sees the same machine; the ratio is given per pair and of the medians.
The **framework floor** is a bare Flask page (bench/bare_app.py) under the same gunicorn.conf.py and one
worker, loaded in a fresh browser profile as many times as an enrollment makes requests: what gunicorn and
Flask cost for the flow's requests before any page does anything. Floor plus framework floor is the least a
portal of this shape could score. The worker's RSS is read after the last enrollment. Figures only;
nothing here fails.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import botocore.session
import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import gunicorn, is_queue_consumer, process_cpu_seconds, rss_mb  # noqa: E402
from tools.live_portal import live_portal  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
STEP = 30


def codes(seed: str) -> tuple[str, str, str]:
    """The codes of the previous, current and next step: enable with two, prove with the third."""
    step = int(time.time()) // STEP
    totp = pyotp.TOTP(seed)
    return totp.generate_otp(step - 1), totp.generate_otp(step), totp.generate_otp(step + 1)


def served(log: Path) -> int:
    """Count the requests a gunicorn has answered so far, from its access log (the shipped format)."""
    # Only what reached the server: the browser's cache answers its own repeats of the stylesheet and script.
    return sum(1 for line in log.read_text(errors="replace").splitlines() if " pid=<" in line)


def enroll(browser, url: str, user: dict) -> None:
    """Walk one new hire through the whole flow in a fresh browser profile."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Access key ID").fill(user["access_key_id"])
    page.get_by_label("Secret access key").fill(user["secret_access_key"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Set up my MFA device").click()
    seed = re.sub(r"\s+", "", page.locator("#manual-key").inner_text())
    first, second, third = codes(seed)
    page.get_by_label("First code").fill(first)
    page.get_by_label("Next code").fill(second)
    page.get_by_role("button", name="Enable my device").click()
    page.get_by_label("Code from your authenticator app").fill(third)
    page.get_by_role("button", name="Get credentials").click()
    page.get_by_role("heading", name="Your session credentials").wait_for()
    with page.expect_download():
        page.locator("#panel-ini").get_by_role("link", name="Download as a file").click()
    page.get_by_role("link", name="My MFA").click()
    page.get_by_role("heading", name="MFA is set up").wait_for()
    context.close()


def bare_walk(browser, url: str, requests: int) -> None:
    """Load the bare Flask page `requests` times in a fresh browser profile, as an enrollment's requests."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for number in range(requests):
        page.goto(f"/?n={number}")
    context.close()


def floor_ms(endpoint_url: str, user: dict) -> float:
    """CPU milliseconds of the six essential calls for one user, with clients made and used before the clock."""
    session = botocore.session.get_session()
    made = {service: session.create_client(service, region_name="us-east-1", endpoint_url=endpoint_url,
                                           aws_access_key_id=user["access_key_id"],
                                           aws_secret_access_key=user["secret_access_key"])
            for service in ("sts", "iam")}
    sts, iam = made["sts"], made["iam"]
    # Ready clients have been used: their first call also opens the connection and resolves the endpoint
    # rules (~10 % of the six calls' CPU), which the portal's long-lived clients paid once, long ago.
    sts.get_caller_identity()
    iam.list_account_aliases()
    spent = 0.0

    def timed(call, **params):
        """Run one call, adding its CPU time (not pyotp's, not the clients') to the total."""
        nonlocal spent
        started = time.process_time()
        answer = call(**params)
        spent += time.process_time() - started
        return answer

    name = timed(sts.get_caller_identity)["Arn"].rsplit("/", 1)[1]
    timed(iam.list_account_aliases)
    timed(iam.list_mfa_devices, UserName=name)
    device = timed(iam.create_virtual_mfa_device, VirtualMFADeviceName=f"{name}-floor")["VirtualMFADevice"]
    first, second, third = codes(device["Base32StringSeed"].decode())
    timed(iam.enable_mfa_device, UserName=name, SerialNumber=device["SerialNumber"],
          AuthenticationCode1=first, AuthenticationCode2=second)
    timed(sts.get_session_token, SerialNumber=device["SerialNumber"], TokenCode=third, DurationSeconds=3600)
    return spent * 1000


def main() -> None:
    """Run the enrollments, each followed by one floor measurement, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=10)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    # +1: the first enrollment is a warm-up (Jinja compiles templates, botocore loads its models).
    needed = 2 * args.enrollments + 1
    bench_dir = str(Path(__file__).resolve().parent)
    with live_portal(seed_users=needed * 8, workers=1) as portal, sync_playwright() as playwright, \
            gunicorn("bare_app:app", {"WEB_CONCURRENCY": "1"}, log=portal.folder / "bare.log",
                     args=["--chdir", bench_dir]) as bare:
        hires = [u for u in portal.users.values() if u["role"] == "new hire" and u["name"] != "new.hire"]
        if len(hires) < needed:
            raise SystemExit(f"only {len(hires)} new hires seeded, {needed} needed: raise seed_users")
        master = portal.processes[-1].pid
        # The master's children are its worker and the queue consumer's supervisor (gunicorn.conf.py).
        worker = next(pid for pid in map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split())
                      if not is_queue_consumer(pid))
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        portal_log, bare_log = portal.folder / "portal.log", portal.folder / "bare.log"
        before = served(portal_log)
        enroll(browser, portal.url, hires[0])
        requests = served(portal_log) - before
        bare_worker = bare.worker_pids()[0]
        bare_walk(browser, bare.url, requests)
        bare_before = served(bare_log)
        portal_ms, floor, framework = [], [], []
        # Each enrollment is followed at once by one floor measurement: the two see the same machine, so
        # their ratio holds even while a shared VM speeds up and slows down during the run.
        for user, floor_user in zip(hires[1:args.enrollments + 1], hires[args.enrollments + 1:needed], strict=True):
            before = process_cpu_seconds(worker)
            enroll(browser, portal.url, user)
            portal_ms.append((process_cpu_seconds(worker) - before) * 1000)
            floor.append(floor_ms(portal.endpoint_url, floor_user))
            before = process_cpu_seconds(bare_worker)
            bare_walk(browser, bare.url, requests)
            framework.append((process_cpu_seconds(bare_worker) - before) * 1000)
        rss = rss_mb(worker)
        bare_per_walk = (served(bare_log) - bare_before) / args.enrollments
        browser.close()
    ratios = [p / f for p, f in zip(portal_ms, floor, strict=True)]
    median = statistics.median
    print(f"enrollments measured:        {len(portal_ms)} (after one warm-up), one gunicorn worker")
    print(f"worker CPU per enrollment:   median {median(portal_ms):.1f} ms  (min {min(portal_ms):.1f}, "
          f"max {max(portal_ms):.1f})")
    print(f"floor, six botocore calls:   median {median(floor):.1f} ms  (min {min(floor):.1f}, max {max(floor):.1f})")
    print(f"ratio portal / floor:        median {median(ratios):.1f} of the pairs, "
          f"{median(portal_ms) / median(floor):.1f} of the medians  (goal <= 4)")
    least = [(b + f) / f for b, f in zip(framework, floor, strict=True)]
    print(f"framework floor:             median {median(framework):.1f} ms  (a bare Flask page: {bare_per_walk:.0f} "
          f"requests a walk, as the portal served per enrollment ({requests}); same gunicorn settings)")
    print(f"least ratio of this shape:   median {median(least):.1f} of the pairs  ((framework floor + floor) / floor)")
    above = [(p - b - f) / f for p, b, f in zip(portal_ms, framework, floor, strict=True)]
    print(f"the portal's own work:       median {median(above):.1f} floors  ((portal - both floors) / floor)")
    print(f"worker RSS after {len(portal_ms) + 1} enrollments: {rss:.1f} MB  (goal <= 80)")


if __name__ == "__main__":
    main()
