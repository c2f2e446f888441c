"""The sign-in service from plain values: no request, no signed-in user, only what the view and limits.py pass."""

from __future__ import annotations

import json

import pytest
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app import aws
from app.errors import InvalidInput, KeysRejected, TooManyFailedSignIns
from app.models import AuditEvent
from app.services import signin
from app.services.audit import Actor

VISITOR = Actor(source_ip="192.0.2.7", user_agent="pytest")
CONFIG = {"RATELIMIT_KEY_PREFIX": "test", "SIGN_IN_LIMIT_PER_KEY": "2 per minute",
          "SIGN_IN_LIMIT_PER_ADDRESS": "50 per minute"}


def events(action: str) -> list[AuditEvent]:
    return AuditEvent.query.filter_by(action=action).order_by(AuditEvent.id).all()


def test_good_keys_come_back_with_their_owner_and_nothing_is_audited_yet(app, make_user):
    user = make_user("plain.values")
    with app.app_context():
        signed = signin.check_keys(f" {user.access_key_id} ", user.secret_access_key, aws.Settings(), VISITOR)
        assert signed.caller.user_name == "plain.values" and signed.keys.access_key_id == user.access_key_id
        assert events("sign_in") == []  # a success is recorded once the session has begun (signed_in)
        signin.signed_in(Actor(arn=signed.caller.arn, user_name="plain.values"))
        assert [(e.outcome, e.subject) for e in events("sign_in")] == [("success", "plain.values")]


@pytest.mark.parametrize("key_id, refusal", [("AKIA123", InvalidInput), ("AKIAABCDEFGHIJKLMNOP", KeysRejected)])
def test_a_refused_key_pair_is_audited_with_a_shortened_key_id_only(app, moto, key_id, refusal):
    with app.app_context():
        with pytest.raises(refusal):
            signin.check_keys(key_id, "a" * 40, aws.Settings(), VISITOR)
        (event,) = events("sign_in")
        detail = json.loads(event.detail)
        assert event.outcome == "failure" and detail["reason"] == refusal.__name__
        assert detail.get("key_id") == ("AKIA…MNOP" if refusal is KeysRejected else None)
        assert event.source_ip == "192.0.2.7"


def test_the_budgets_count_failures_then_refuse_and_report_the_burst_once(app):
    strategy = MovingWindowRateLimiter(MemoryStorage())

    def budgets() -> signin.FailedSignIns:
        return signin.FailedSignIns(strategy, CONFIG, "AKIAABCDEFGHIJKLMNOP", "2001:db8::1", "s3cret",
                                    who=lambda: VISITOR, reason="auth.login")

    with app.app_context():
        for _ in range(2):
            budgets().refuse_if_spent()
            budgets().count()
        with pytest.raises(TooManyFailedSignIns) as refused:
            budgets().refuse_if_spent()
        assert 0 < refused.value.wait_seconds <= 60
        (burst,) = events("sign_in_burst")
        assert json.loads(burst.detail) == {"budget": "sign-in-failures-per-key", "key_id": "AKIAABCDEFGHIJKLMNOP"}
        assert [json.loads(e.detail)["budget"] for e in events("rate_limited")] == ["sign-in-failures-per-key"]
    # Another key from the same /64 still has its own budget; the network's budget is far from spent.
    other = signin.FailedSignIns(strategy, CONFIG, "AKIAQQQQQQQQQQQQQQQQ", "2001:db8::2", "s3cret",
                                 who=lambda: VISITOR, reason="auth.login")
    other.refuse_if_spent()
