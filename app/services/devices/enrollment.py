"""The enrollment flow: create a device, enable it with two codes, resync it, replace it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from ...errors import (
    AlreadyEnrolled,
    CodeAlreadyUsed,
    CodeRejected,
    CodeTooOld,
    InvalidInput,
    LimitReached,
    SetupExpired,
    SetupRestarted,
)
from .. import audit, codes, devices
from ..audit import Action
from ..session_credentials import MIN_DURATION, get_session_token

if TYPE_CHECKING:
    from ...sessions import PortalSession


def start(state: PortalSession, actor: audit.Actor, pattern: str) -> None:
    """Create the device (replacing an abandoned one), unless the person already has one."""
    iam = state.client("iam")
    # A setup whose enabling may have happened unseen needs AWS's own answer, not the remembered one.
    existing = devices.owned(state, fresh=state.pending_serial is not None)
    recover_lost_enable(state, actor, existing)
    if existing:
        raise AlreadyEnrolled(_("You already have an MFA device. To switch phones, use 'Replace device'."))
    begin(state, actor, iam, pattern)


def recover_lost_enable(state: PortalSession, actor: audit.Actor, existing: list[devices.Device]) -> bool:
    """Finish a setup whose EnableMFADevice answer was lost: AWS lists the pending device as the person's."""
    serial = state.pending_serial
    if not serial or serial not in {d.serial for d in existing}:
        return False
    # The audit log decides when enrollment is complete, so it must learn of this enabling too.
    state.drop_pending()
    backup = state.adding_backup
    state.set_adding_backup(False)
    if not backup:
        state.set_enrolling(serial)
    audit.record(Action.DEVICE_ENABLED, actor, device=serial, reason="found enabled on retry",
                 first_enrollment=not (state.take_replacing() or backup))
    return True


def begin(state: PortalSession, actor: audit.Actor, iam: Any, pattern: str) -> None:
    """Create the device (recovering an abandoned one) and keep its seed sealed in the session only."""
    name = devices.device_name(state.caller, pattern)
    with audit.attempt(Action.DEVICE_CREATED, actor) as attempt:
        new = devices.create_device(iam, state.caller, name)
        attempt.add(device=new.serial)
    if new.replaced_stale:
        audit.record(Action.STALE_DEVICE_REPLACED, actor, device=new.serial)
    state.hold_pending(new.serial, new.seed)
    state.set_adding_backup(False)


def begin_backup(state: PortalSession, actor: audit.Actor, name: str) -> None:
    """Create a named backup virtual device next to the person's devices; enabling it is the usual scan step."""
    iam = state.client("iam")
    owned = devices.owned(state, fresh=True)
    if len(owned) >= devices.MAX_DEVICES:
        raise LimitReached(_("AWS allows %(n)d MFA devices per user and you have %(n)d.", n=devices.MAX_DEVICES),
                           _("Remove one you no longer use first."))
    if any(d.name == name for d in owned):
        raise InvalidInput(_("You already have a device named %(name)s.", name=name), _("Choose another name."))
    with audit.attempt(Action.BACKUP_DEVICE_CREATED, actor) as attempt:
        new = devices.create_device(iam, state.caller, name)
        attempt.add(device=new.serial)
    state.hold_pending(new.serial, new.seed)
    state.set_adding_backup(True)


def verify(state: PortalSession, actor: audit.Actor, code1: str, code2: str, shown: str | None = None) -> str:
    """Enable the pending device with two consecutive codes; the seed is dropped the moment AWS holds it.

    `shown` names the setup whose QR code the page showed: another tab may have started a new one since.
    """
    pending = state.pending
    if pending is None:
        raise SetupExpired()
    if shown and shown != pending.tag:
        raise SetupRestarted(
            _("The setup was started again in another tab or window, so the QR code you scanned from this page no "
              "longer belongs to a device. This page now shows the new QR code."),
            _("In your authenticator app, delete the entry you scanned from the old page, scan the new QR code below, "
              "then type two codes from the new entry."))
    serial = pending.serial
    state.forget_devices()
    try:
        codes.submit(state, actor, Action.DEVICE_ENABLED, serial, (code1, code2),
                     lambda: devices.enable_device(state.client("iam"), state.caller, serial, code1, code2),
                     first_enrollment=not (state.replacing or state.adding_backup))
    except CodeRejected:
        if codes.were_too_old(pending.seed, code1, code2):
            raise CodeTooOld(
                _("Those were the right codes from your app, but AWS accepts a code only for about a minute after the "
                  "app shows it, and these were older."),
                _("Type the code your app shows now, wait for it to change, and type the next one straight away.")
            ) from None
        raise
    except CodeAlreadyUsed:
        # The same codes again after AWS's answer was lost: if AWS did enable the device, the setup is done.
        if recover_lost_enable(state, actor, devices.owned(state, fresh=True)):
            return serial
        raise
    state.drop_pending()
    replaced = state.take_replacing()
    if state.adding_backup:
        # A backup is proven by the next code typed from it; the person's enrollment is done already.
        state.set_adding_backup(False)
        return serial
    if not replaced:
        # A first enrollment began (start) only when AWS listed no device: the list is now this one
        # device, which AWS just accepted, so the next pages need not ask again (a replacement may leave
        # other devices, so it asks). The key this session signs with predates the device: the home
        # page offers to rotate it without listing the keys.
        devices.keep_enabled_alone(state, serial)
        state.set_enrolled_first_with(state.keys().access_key_id)
    state.set_enrolling(serial)
    return serial


def resync(state: PortalSession, actor: audit.Actor, serial: str, code1: str, code2: str) -> None:
    """Bring a drifted device back in step with two consecutive codes."""
    codes.submit(state, actor, Action.DEVICE_RESYNCED, serial, (code1, code2),
                 lambda: devices.resync_device(state.client("iam"), state.caller, serial, code1, code2))


def replace(state: PortalSession, actor: audit.Actor, serial: str, code: str, pattern: str) -> None:
    """Prove possession with a current code, remove the device with that MFA session, enroll anew."""
    # AWS itself checks the code; the short MFA session it yields is what may deactivate the device.
    proof = codes.submit(state, actor, Action.DEVICE_REPLACED, serial, (code,),
                         lambda: get_session_token(state.client("sts"), serial, code, MIN_DURATION))
    state.keep_credentials(proof)
    state.forget_devices()
    with audit.attempt(Action.DEVICE_REMOVED, actor, device=serial, via="replace"):
        devices.remove_device(state.mfa_client("iam"), state.caller.user_name, serial)
    state.set_replacing()
    begin(state, actor, state.client("iam"), pattern)
