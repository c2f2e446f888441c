"""The typed session keeps each flow's state as a type, round-trips it through the store, and seals secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.domain import Device, KeyToShow, LostAnswer, NewKey, Rotation
from app.sessions import PortalSession
from app.vault import Sealer

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def reloaded(raw: dict, sealer: Sealer) -> PortalSession:
    """The session as the next request finds it: what the store kept, read back from JSON."""
    kept = json.loads(json.dumps(raw))
    raw.clear()
    raw.update(kept)
    return PortalSession(raw, sealer, settings=None)


def test_a_new_keys_secret_lies_only_sealed_and_is_shown_once():
    sealer, raw = Sealer("k" * 64), {}
    new = NewKey("AKIAIOSFODNN7EXAMPLE", SECRET, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    PortalSession(raw, sealer, settings=None).hold_new_key(new, "long-term")
    assert SECRET not in json.dumps(raw) and SECRET[:10] not in json.dumps(raw)
    state = reloaded(raw, sealer)
    assert state.holds_new_key
    assert state.take_new_key() == KeyToShow(new, "long-term")
    assert state.take_new_key() is None and not state.holds_new_key
    state.hold_new_key(new, "long-term")
    other = reloaded(raw, Sealer("another key " * 6))  # a rotated SECRET_KEY forgets, never fails
    assert other.holds_new_key and other.take_new_key() is None


def test_rotation_and_lost_answers_come_back_as_they_were_kept():
    sealer, raw = Sealer("k" * 64), {}
    state = PortalSession(raw, sealer, settings=None)
    assert state.rotation() is None and state.lost_answer("ssh_upload") is None
    state.keep_rotation(Rotation(lost_before=("AKIAOLD",)))
    state.keep_lost_answer("ssh_upload", LostAnswer(("APKAONE", "APKATWO")))
    state.keep_lost_answer("password", LostAnswer((), target="change"))
    state = reloaded(raw, sealer)
    assert state.rotation() == Rotation(lost_before=("AKIAOLD",))
    assert state.lost_answer("ssh_upload") == LostAnswer(("APKAONE", "APKATWO"))
    assert state.lost_answer("password") == LostAnswer((), "change")
    state.keep_rotation(Rotation(new="AKIANEW", old="AKIAOLD", switched=True))
    state.drop_lost_answer("ssh_upload")
    state = reloaded(raw, sealer)
    assert state.rotation() == Rotation(None, "AKIANEW", "AKIAOLD", True)
    assert state.lost_answer("ssh_upload") is None and state.lost_answer("password") is not None
    state.end_rotation()
    assert state.rotation() is None


def test_the_remembered_device_list_comes_back_typed():
    sealer, raw = Sealer("k" * 64), {}
    found = [Device("arn:aws:iam::123456789012:mfa/phone", datetime(2026, 1, 2, tzinfo=UTC)),
             Device("GAHT12345678", None)]
    PortalSession(raw, sealer, settings=None).keep_devices(found)
    assert reloaded(raw, sealer).cached_devices(60) == found
