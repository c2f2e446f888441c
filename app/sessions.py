"""The typed session: the only way views and services reach the signed-in person's state."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import current_app, g, session
from flask_babel import gettext as _

from . import aws, domain
from .errors import SessionExpired
from .vault import Sealer, sealed_name

SPENT_CODE_MEMORY = 150  # seconds a spent code is remembered: AWS's window plus the app's drift


class PortalSession:
    """Typed access to one request's session; every write touches only its own key."""

    def __init__(self, raw: Any, sealer: Sealer, settings: aws.Settings):
        self._raw = raw
        self._sealer = sealer
        self.settings = settings

    # Sign-in and sign-out --------------------------------------------------------------------------
    def begin(self, caller: domain.Caller, keys: aws.Keys, alias: str | None) -> None:
        """Start a fresh signed-in session (a new id: the old one, if any, ends)."""
        self._raw.clear()
        self._raw.update(identity=caller.as_dict(), alias=alias, created_at=time.time(),
                         signed_in_with=keys.access_key_id)
        self.replace_keys(keys)

    def end(self) -> None:
        """Forget everything: the store entry is deleted, in-flight requests cannot restore it."""
        self._raw.clear()

    @property
    def caller(self) -> domain.Caller | None:
        """Who signed in, as GetCallerIdentity said."""
        identity = self._raw.get("identity")
        return domain.Caller(**identity) if identity else None

    @property
    def signed_in(self) -> bool:
        """Tell whether this session belongs to a signed-in person with keys."""
        return "identity" in self._raw and sealed_name("keys") in self._raw

    @property
    def signed_in_with(self) -> str | None:
        """The access key ID the person signed in with (rotation changes the key in use, not this)."""
        return self._raw.get("signed_in_with")

    @property
    def alias(self) -> str | None:
        """The account alias read at sign-in."""
        return self._raw.get("alias")

    @property
    def created_at(self) -> float | None:
        """When this sign-in happened (for the absolute timeout)."""
        return self._raw.get("created_at")

    def keys(self) -> aws.Keys:
        """Return the long-term keys, or end the step if they are gone."""
        pair = self._unseal("keys")
        if not pair:
            raise SessionExpired()
        return aws.Keys(pair["access_key_id"], pair["secret_access_key"])

    def replace_keys(self, keys: aws.Keys) -> None:
        """Seal the long-term key pair the portal signs pre-MFA calls with (sign-in, key rotation)."""
        self._seal("keys", {"access_key_id": keys.access_key_id, "secret_access_key": keys.secret_access_key})

    def client(self, service: str) -> Any:
        """Return a client signed with the person's long-term keys (calls allowed before MFA)."""
        return aws.client(service, self.keys(), self.settings)

    def mfa_client(self, service: str) -> Any:
        """Return a client signed with the MFA session credentials (calls that need MFA)."""
        creds = self.mfa_credentials
        if creds is None:
            raise SessionExpired(_("This step needs a current MFA code first."),
                                 _("Get session credentials, then retry."))
        return aws.client(service, creds.keys(), self.settings)

    # Enrollment ------------------------------------------------------------------------------------
    @property
    def pending(self) -> domain.PendingDevice | None:
        """The device being enrolled, with its seed, if this session still holds both."""
        meta = self._raw.get("pending")
        seed = self._unseal("pending_seed") if meta else None
        return domain.PendingDevice(meta["serial"], meta["created"], seed) if seed else None

    @property
    def has_pending(self) -> bool:
        """Tell whether an enrollment is under way, without decrypting the seed."""
        return "pending" in self._raw and sealed_name("pending_seed") in self._raw

    @property
    def pending_serial(self) -> str | None:
        """The serial of the device being enrolled (rate limits count per device)."""
        meta = self._raw.get("pending")
        return meta["serial"] if meta else None

    def hold_pending(self, serial: str, seed: str) -> None:
        """Keep a new device's seed sealed until it is enabled."""
        self._seal("pending_seed", seed)
        self._raw["pending"] = {"serial": serial, "created": time.time()}

    def drop_pending(self) -> None:
        """Forget the seed for good: AWS holds the device now, or the setup was abandoned."""
        self._raw.pop(sealed_name("pending_seed"), None)
        self._raw.pop("pending", None)

    @property
    def enrolling(self) -> str | None:
        """The serial of a device enabled in this session and not yet proven with a session token."""
        return self._raw.get("enrolling")

    def set_enrolling(self, serial: str | None) -> None:
        """Remember (or, with None, forget) the device whose proof is owed."""
        if serial is None:
            self._raw.pop("enrolling", None)
        else:
            self._raw["enrolling"] = serial

    @property
    def enrolled_first_with(self) -> str | None:
        """The access key ID this session signed with when it enabled the person's first device."""
        return self._raw.get("enrolled_first_with")

    def set_enrolled_first_with(self, access_key_id: str) -> None:
        """Remember that this session, signed with this key, enabled the person's first device."""
        self._raw["enrolled_first_with"] = access_key_id

    @property
    def replacing(self) -> bool:
        """Tell whether this enrollment replaces a removed device."""
        return bool(self._raw.get("replacing"))

    def take_replacing(self) -> bool:
        """Tell whether this enrollment replaces a removed device, and forget it."""
        return bool(self._raw.pop("replacing", False))

    def set_replacing(self) -> None:
        """Mark the next enabling as a replacement, not a first enrollment."""
        self._raw["replacing"] = True

    @property
    def adding_backup(self) -> bool:
        """Tell whether the pending device is a backup next to a device the person already has."""
        return bool(self._raw.get("adding_backup"))

    def set_adding_backup(self, adding: bool) -> None:
        """Mark (or unmark) the pending device as a backup: its enabling is not a first enrollment."""
        if adding:
            self._raw["adding_backup"] = True
        else:
            self._raw.pop("adding_backup", None)

    # Devices ---------------------------------------------------------------------------------------
    def cached_devices(self, fresh_for: float, now: float | None = None) -> list[domain.Device] | None:
        """The device list AWS gave this session less than `fresh_for` seconds ago, else None."""
        cached = self._raw.get("devices")
        if not cached or (now if now is not None else time.time()) - cached["at"] > fresh_for:
            return None
        return [domain.Device(row["serial"], datetime.fromisoformat(at) if (at := row["enabled_at"]) else None)
                for row in cached["rows"]]

    def keep_devices(self, devices: list[domain.Device]) -> None:
        """Remember AWS's device list for the next request or two (serials and dates, nothing secret)."""
        rows = [{"serial": d.serial, "enabled_at": d.enabled_at.isoformat() if d.enabled_at else None} for d in devices]
        self._raw["devices"] = {"at": time.time(), "rows": rows}

    def forget_devices(self) -> None:
        """Drop the remembered device list: the portal is about to change the person's devices."""
        self._raw.pop("devices", None)

    # Codes -----------------------------------------------------------------------------------------
    def spent_codes(self, now: float | None = None) -> list[dict]:
        """Codes recently sent to AWS, which it would refuse a second time."""
        now = time.time() if now is None else now
        return [entry for entry in self._raw.get("used_codes", []) if now - entry["at"] < SPENT_CODE_MEMORY]

    def spend(self, serial: str, *codes: str, now: float | None = None) -> None:
        """Remember codes as spent on this device."""
        now = time.time() if now is None else now
        self._raw["used_codes"] = self.spent_codes(now) + [{"serial": serial, "code": c, "at": now} for c in codes]

    def mark_proven(self, now: float | None = None) -> None:
        """Record that AWS just accepted a code from the person's device (for step-up checks)."""
        self._raw["proven_at"] = time.time() if now is None else now

    def proven_within(self, seconds: float, now: float | None = None) -> bool:
        """Tell whether AWS accepted one of the person's codes within the last `seconds`."""
        at = self._raw.get("proven_at")
        return at is not None and ((time.time() if now is None else now) - at) <= seconds

    # Session credentials ---------------------------------------------------------------------------
    @property
    def mfa_credentials(self) -> domain.SessionCredentials | None:
        """Unexpired MFA session credentials obtained in this portal session."""
        data = self._unseal("session_credentials")
        if not data:
            return None
        creds = domain.SessionCredentials.from_dict(data)
        return None if creds.expired() else creds

    @property
    def credentials_choice(self) -> domain.CredentialsChoice:
        """The profile, duration and device of the last credentials."""
        return domain.CredentialsChoice(**self._raw.get("credentials_meta", {}))

    def keep_credentials(self, creds: domain.SessionCredentials,
                         choice: domain.CredentialsChoice | None = None) -> None:
        """Seal new session credentials (and how they were asked for)."""
        self._seal("session_credentials", creds.as_dict())
        if choice is not None:
            self._raw["credentials_meta"] = asdict(choice)

    def forget_credentials(self) -> None:
        """Drop the session credentials (they stay valid at AWS until they expire)."""
        self._raw.pop(sealed_name("session_credentials"), None)
        self._raw.pop("credentials_meta", None)

    # Admin -----------------------------------------------------------------------------------------
    @property
    def admin_by_group(self) -> bool:
        """Whether the admin group check, made with the MFA session, found this person."""
        return bool(self._raw.get("is_admin"))

    def set_admin_by_group(self, value: bool) -> None:
        """Remember the admin group check's answer."""
        self._raw["is_admin"] = bool(value)

    # Key rotation, and changes whose AWS answer was lost on the way -------------------------------
    def rotation(self) -> domain.Rotation | None:
        """The rotation of the portal's key under way in this session, if any."""
        held = self._raw.get("rotation")
        return domain.Rotation.from_dict(held) if held else None

    def keep_rotation(self, rotation: domain.Rotation) -> None:
        """Remember how far the rotation got (replacing what was remembered before)."""
        self._raw["rotation"] = asdict(rotation)

    def end_rotation(self) -> None:
        """Forget the rotation: it is finished, or the key it left behind is gone."""
        self._raw.pop("rotation", None)

    def hold_new_key(self, new: domain.NewKey, profile: str) -> None:
        """Seal a new key's secret until the one page that shows it (and the CLI profile asked for)."""
        self._seal("new_key", domain.KeyToShow(new, profile).as_dict())

    def take_new_key(self) -> domain.KeyToShow | None:
        """Return the new key to show and drop it, so a reload (or a parallel request) never shows it again."""
        key = sealed_name("new_key")
        take = getattr(self._raw, "take", None)  # the server-side session takes it atomically in its store
        held = self._sealer.unseal(take(key) if take else self._raw.pop(key, None))
        return domain.KeyToShow.from_dict(held) if held else None

    @property
    def holds_new_key(self) -> bool:
        """Tell whether a new key's secret still waits to be shown, without decrypting it."""
        return sealed_name("new_key") in self._raw

    def lost_answer(self, change: str) -> domain.LostAnswer | None:
        """What AWS listed before a change of this kind whose answer was lost, if one waits to be found out."""
        held = self._raw.get("lost:" + change)
        return domain.LostAnswer(**{**held, "before": tuple(held["before"])}) if held is not None else None

    def keep_lost_answer(self, change: str, lost: domain.LostAnswer) -> None:
        """Remember what AWS listed before a change of this kind whose answer was lost."""
        self._raw["lost:" + change] = asdict(lost)

    def drop_lost_answer(self, change: str) -> None:
        """Forget a lost answer: the page that found out what AWS did has said so."""
        self._raw.pop("lost:" + change, None)

    # Internals -------------------------------------------------------------------------------------
    def _seal(self, name: str, value: Any) -> None:
        self._raw[sealed_name(name)] = self._sealer.seal(value)

    def _unseal(self, name: str) -> Any:
        return self._sealer.unseal(self._raw.get(sealed_name(name)))


def portal() -> PortalSession:
    """Return this request's typed session."""
    state = g.get("_portal_session")
    if state is None:
        app = current_app
        sealer = app.extensions.get("mfa_portal_sealer")
        if sealer is None:
            sealer = app.extensions["mfa_portal_sealer"] = Sealer(app.config["SECRET_KEY"])
        state = g._portal_session = PortalSession(session, sealer, aws.Settings.from_config(app.config))
    return state
