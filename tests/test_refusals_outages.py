"""Refusals are said on the page the person is on; outages reach the 503 page: the error hierarchy and its views."""

from __future__ import annotations

import pytest
from own_helpers import audit_rows, fail_call, rsa_public, upload, uploaded
from sqlalchemy.exc import OperationalError

from app import aws, errors
from app.services import audit_spool


def every_error(base: type) -> set[type]:
    """Every subclass of `base` the portal defines, loaded with the app."""
    found = set()
    for sub in base.__subclasses__():
        found |= {sub} | every_error(sub)
    return found


def test_every_error_is_a_refusal_or_an_outage_and_every_outage_is_a_503(app):
    portal_errors = every_error(errors.PortalError) - {errors.Refusal, errors.Outage}
    assert portal_errors and all(issubclass(e, errors.Refusal) != issubclass(e, errors.Outage) for e in portal_errors)
    outages = every_error(errors.Outage)
    assert {errors.AwsUnavailable, errors.StoreUnavailable, errors.AuditUnavailable,
            errors.LimitsUnavailable} <= outages
    assert all(e.status == 503 for e in outages)


@pytest.fixture
def enrolled(person):
    """A new hire who just enrolled: MFA session in hand, a code accepted seconds ago."""
    person.enroll_fully()
    return person


def test_an_aws_refusal_is_said_on_the_page_and_audited_with_aws_s_error_code(app, client, enrolled, iam, monkeypatch):
    fail_call(monkeypatch, "UploadSSHPublicKey", aws.AwsError("ServiceFailure", "", "UploadSSHPublicKey"))
    refused = upload(client, rsa_public())
    text = refused.get_data(as_text=True)
    assert refused.status_code == 502 and "AWS answered ServiceFailure to UploadSSHPublicKey" in text
    assert 'name="body"' in text  # the upload form, to try again: not the error page
    assert [(o, d) for o, d in audit_rows(app, "ssh_key_uploaded")] == [
        ("attempt", None), ("failure", '{"error": "ServiceFailure"}')]


def test_an_outage_during_a_change_is_the_503_page_and_aws_is_untouched(app, client, enrolled, iam, monkeypatch):
    def database_gone(rows, spooled=False):
        raise OperationalError("INSERT", {}, Exception("gone"))

    monkeypatch.setattr(audit_spool, "insert", database_gone)
    page = upload(client, rsa_public())
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "60"
    assert "The portal cannot record this action" in text and 'name="body"' not in text  # the error page
    assert uploaded(iam) == {}
