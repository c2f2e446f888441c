"""Plain domain types: who acts, what the session holds, and the state a flow keeps between pages (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import aws


@dataclass(frozen=True)
class Caller:
    """Who the signed-in keys belong to, as GetCallerIdentity says."""

    arn: str
    account: str
    partition: str
    user_name: str
    user_id: str

    def mfa_serial(self, device_name: str) -> str:
        """Return the serial ARN of a virtual device at path / in this account and partition."""
        return f"arn:{self.partition}:iam::{self.account}:mfa/{device_name}"

    def as_dict(self) -> dict[str, str]:
        """Return a plain mapping for the server-side session."""
        return dict(arn=self.arn, account=self.account, partition=self.partition,
                    user_name=self.user_name, user_id=self.user_id)


@dataclass(frozen=True)
class Actor:
    """Who acted and from where, as the web layer saw it."""

    arn: str | None = None
    user_name: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SessionCredentials:
    """Temporary credentials and when they stop working."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def as_dict(self) -> dict[str, str]:
        """Return a JSON-ready mapping (for the encrypted vault)."""
        return dict(access_key_id=self.access_key_id, secret_access_key=self.secret_access_key,
                    session_token=self.session_token, expiration=self.expiration.isoformat())

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> SessionCredentials:
        """Rebuild from the vault mapping."""
        return cls(data["access_key_id"], data["secret_access_key"], data["session_token"],
                   datetime.fromisoformat(data["expiration"]))

    def keys(self) -> aws.Keys:
        """Return the credentials as keys for further AWS calls."""
        return aws.Keys(self.access_key_id, self.secret_access_key, self.session_token)

    def expired(self, now: datetime | None = None) -> bool:
        """Tell whether AWS would refuse these credentials now."""
        return (now or datetime.now(UTC)) >= self.expiration


@dataclass(frozen=True)
class PendingDevice:
    """A virtual device created and not yet enabled: its serial, when, and the seed shown once."""

    serial: str
    created: float
    seed: str

    @property
    def tag(self) -> str:
        """Name this setup apart from a later one for the same serial (a page carries it to tell which QR it showed)."""
        return f"{self.created:.6f}"

    @property
    def name(self) -> str:
        """The device's name, as the serial ARN ends and the authenticator app lists it."""
        return self.serial.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CredentialsChoice:
    """How the person asked for their session credentials."""

    profile: str = "default"
    duration: int = 0
    device: str | None = None


@dataclass(frozen=True)
class Device:
    """One MFA device assigned to a user (also the row of the session's remembered device list)."""

    serial: str
    enabled_at: datetime | None

    @property
    def kind(self) -> str:
        """Tell virtual, FIDO security key or hardware token apart by the serial."""
        if ":mfa/" in self.serial:
            return "virtual"
        if ":u2f/" in self.serial:
            return "security key"
        return "hardware"

    @property
    def name(self) -> str:
        """Return the short name people recognise."""
        return self.serial.rsplit("/", 1)[-1] if self.serial.startswith("arn:") else self.serial

    @property
    def gives_codes(self) -> bool:
        """FIDO keys cannot answer the API's one-time-code prompt."""
        return self.kind != "security key"


@dataclass(frozen=True)
class NewKey:
    """A key AWS just created; its secret exists only here and in AWS's answer."""

    key_id: str
    secret: str = field(repr=False)
    created: datetime


@dataclass(frozen=True)
class KeyToShow:
    """A new key whose secret waits, sealed, for the one page that shows it, and the CLI profile asked for."""

    key: NewKey
    profile: str

    def as_dict(self) -> dict[str, str]:
        """Return a JSON-ready mapping (for the encrypted vault)."""
        return dict(key_id=self.key.key_id, secret=self.key.secret, created=self.key.created.isoformat(),
                    profile=self.profile)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> KeyToShow:
        """Rebuild from the vault mapping."""
        return cls(NewKey(data["key_id"], data["secret"], datetime.fromisoformat(data["created"])), data["profile"])


@dataclass(frozen=True)
class Rotation:
    """A rotation of the portal's key in progress (nothing secret: the new key's secret is kept apart, sealed)."""

    # The key IDs AWS listed before a CreateAccessKey whose answer was lost (a key made then has no known secret).
    lost_before: tuple[str, ...] | None = None
    new: str | None = None  # the key made by this rotation
    old: str | None = None  # the key the session signed with before it
    switched: bool = False  # AWS accepted the new key, and the session signs with it now

    @classmethod
    def from_dict(cls, data: dict) -> Rotation:
        """Rebuild from the session's plain mapping (lists come back as lists)."""
        before = data.get("lost_before")
        return cls(None if before is None else tuple(before), data.get("new"), data.get("old"),
                   bool(data.get("switched")))


@dataclass(frozen=True)
class LostAnswer:
    """What AWS listed before a change whose answer was lost (IDs), and the one thing it was about, if any."""

    before: tuple[str, ...]
    target: str | None = None
