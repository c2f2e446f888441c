"""Prometheus metrics: off by default, then requests, AWS calls and audit events counted, for local scrapers."""

from __future__ import annotations

import time

import requests
from pages import FORBIDDEN, NOT_FOUND, assert_page
from prometheus_client.parser import text_string_to_metric_families
from worker_helpers import only_worker

from bench._util import free_port, gunicorn
from conftest import Person, code, make_test_app

# What a scraper reads: the portal's own request counter, in the text exposition format.
SCRAPE = "# TYPE mfa_portal_http_requests_total counter"


def samples(client, **request) -> dict[tuple, float]:
    """Scrape /metrics and return every sample as {(name, sorted labels): value}."""
    page = client.get("/metrics", **request)
    assert page.status_code == 200, page.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(page.get_data(as_text=True)) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    """One sample's value, 0 when it has not appeared yet."""
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_unless_asked_for(client, app):
    assert_page(client.get("/metrics"), 404, NOT_FOUND)
    assert "mfa_portal_metrics" not in app.extensions


def test_an_enrollment_is_counted_by_route_aws_operation_and_audit_action(moto, tmp_path, make_user):
    app = make_test_app(tmp_path, METRICS=True)
    client = app.test_client()
    user = make_user("new.hire")
    before = samples(client)
    person = Person(client, user)
    person.enroll_fully()
    refused = client.post("/credentials", data={"device": "arn:aws:iam::123456789012:mfa/new.hire",
                                                "code": code(person.seed, 1), "duration": "3600",
                                                "profile": "default"})  # the same code again: refused
    after = samples(client)
    grew = {key: after[key] - before.get(key, 0.0) for key in after}

    assert value(grew, "mfa_portal_http_requests_total", endpoint="auth.login", method="POST", status="302") == 1
    assert value(grew, "mfa_portal_aws_calls_total", service="sts", operation="GetSessionToken", outcome="ok") == 1
    assert value(grew, "mfa_portal_aws_calls_total", service="iam", operation="EnableMFADevice", outcome="ok") == 1
    assert value(grew, "mfa_portal_aws_call_duration_seconds_count", service="sts",
                 operation="GetCallerIdentity") >= 1
    assert value(grew, "mfa_portal_audit_events_total", action="enrollment_completed", outcome="success") == 1
    assert value(grew, "mfa_portal_audit_events_total", action="credentials_issued", outcome="attempt") == 1
    # The portal knew the code was spent: no AWS call, no second attempt.
    assert_page(refused, 400, "That code was already used")
    assert value(grew, "mfa_portal_aws_calls_total", service="sts", operation="GetSessionToken", outcome="ok") == 1
    # Routes, operations and actions only: never the person, the key or a path with an ID in it.
    text = client.get("/metrics").get_data(as_text=True)
    assert "new.hire" not in text and user.access_key_id not in text and user.secret_access_key not in text


def test_a_failing_aws_call_is_counted_under_its_error_code(moto, tmp_path):
    app = make_test_app(tmp_path, METRICS=True)
    client = app.test_client()
    before = samples(client)
    client.post("/login", data={"access_key_id": "AKIA" + "Z" * 16, "secret_access_key": "s" * 40})
    grew = samples(client)
    key = ("mfa_portal_aws_calls_total", (("operation", "GetCallerIdentity"), ("outcome", "InvalidClientTokenId"),
                                         ("service", "sts")))
    assert grew.get(key, 0) - before.get(key, 0) == 1


def test_only_local_scrapers_or_bearers_of_the_token_may_read_them(moto, tmp_path):
    local = make_test_app(tmp_path / "local", METRICS=True).test_client()
    assert_page(local.get("/metrics"), 200, SCRAPE)
    # From elsewhere (documentation addresses, never contacted), or through a proxy on this machine.
    assert_page(local.get("/metrics", environ_overrides={"REMOTE_ADDR": "203.0.113.9"}), 404, NOT_FOUND)
    assert_page(local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}), 404, NOT_FOUND)

    guarded = make_test_app(tmp_path / "guarded", METRICS=True, METRICS_TOKEN="t" * 32).test_client()
    assert_page(guarded.get("/metrics"), 403, FORBIDDEN)  # a token is set: loopback alone is not enough
    assert_page(guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}), 403, FORBIDDEN)
    assert_page(guarded.get("/metrics", headers={"Authorization": "Bearer " + "t" * 32},
                            environ_overrides={"REMOTE_ADDR": "203.0.113.9"}), 200, SCRAPE)


def test_under_gunicorn_one_scrape_counts_every_workers_requests(tmp_path):
    env = {"SECRET_KEY": "w" * 64, "INSTANCE_PATH": str(tmp_path / "instance"), "ALLOW_INSECURE_HTTP": "1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1",
           "METRICS": "1"}
    with gunicorn(env=env, log=tmp_path / "gunicorn.log") as server:
        deadline = time.monotonic() + 30
        while len(workers := server.worker_pids()) < 2:
            assert time.monotonic() < deadline, "gunicorn did not start two workers"
            time.sleep(0.1)
        for pid in workers:  # three probes answered by each worker alone, each on a new connection
            with only_worker(server, pid):
                for _ in range(3):
                    assert requests.get(server.url + "/healthz", headers={"Connection": "close"}, timeout=10).ok
        scraped = requests.get(server.url + "/metrics", timeout=10).text
        files = sorted(p.name for p in (tmp_path / "instance" / "metrics").glob("*.db"))
    counted = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped) for s in family.samples}
    healthz = ("mfa_portal_http_requests_total", (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")))
    assert counted[healthz] >= 6  # one worker alone knows of three (more: gunicorn's own readiness probes)
    assert all(any(str(pid) in name for name in files) for pid in workers)


def test_with_portal_hosts_a_scrape_names_one_of_them(moto, tmp_path):
    client = make_test_app(tmp_path, METRICS=True, PORTAL_HOSTS=["portal.test"]).test_client()
    # "localhost" is not one of the portal's names.
    assert_page(client.get("/metrics"), 400, "This portal does not answer to that address")
    assert_page(client.get("/metrics", headers={"Host": "portal.test"}), 200, SCRAPE)
