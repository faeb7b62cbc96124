"""Settings: `config/*.toml` plus `INTAKE_BOT_<SECTION>_<KEY>` environment overrides.

This is the only module that reads the environment. Secrets (passwords) come only from the
environment or from a file named in the settings, never from the TOML itself.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "INTAKE_BOT_"
DEFAULT_CONFIG = Path("config/intake-bot.toml")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
MASK = "*" * 8
WATCHED_SUBJECT = "Data Services for Commissioners - Legitimate Relationships"


class ConfigError(Exception):
    """The settings are missing or wrong; the message names the setting."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MailboxSettings(_Section):
    """One watched mailbox. Several are `[[mailbox]]` entries; each is polled on its own."""

    name: str = "enquiries"  # stable identity: its lease, cursor and status are keyed on it
    default_office: str | None = None  # regional office for requests that name none
    url: str = "maildir:var/mail"
    subject: str = WATCHED_SUBJECT
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_interval_seconds: int = Field(60, ge=5)
    fetch_batch: int = Field(25, ge=1, le=500)
    max_attempts: int = Field(3, ge=1)  # a message that crashes this often is quarantined
    lease_seconds: int = Field(120, ge=1)  # one poller per mailbox; a dead one's turn lapses
    timeout_seconds: float = 60.0
    password: SecretStr | None = None  # from INTAKE_BOT_MAILBOX_PASSWORD only
    password_file: Path | None = None
    oauth2_token_file: Path | None = None
    allow_plain_auth: bool = False  # only for a test server on loopback (?tls=none)


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/intake-bot.db"
    password: SecretStr | None = None
    password_file: Path | None = None


class OutgoingSettings(_Section):
    url: str = "file:var/outbox"
    from_address: str = "dsfc.enquiries@intake-bot.invalid"
    from_name: str = "Data Services for Commissioners"
    send_interval_seconds: int = Field(30, ge=1)
    max_attempts: int = Field(10, ge=1)
    backoff_seconds: int = Field(60, ge=1)  # doubled after each failure, capped at 6 hours
    # A sender claims a batch of the outbox for this long; a crashed sender's rows come back then.
    claim_seconds: int = Field(300, ge=1)
    timeout_seconds: float = 60.0
    replies_per_sender_per_hour: int = Field(10, ge=1)
    password: SecretStr | None = None
    password_file: Path | None = None
    allow_plain_auth: bool = False  # only for a loopback test server


class Dscro(_Section):
    """A DSfC regional office and the staff who work its queue."""

    name: str
    staff: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class Organisation(_Section):
    ods: str
    name: str
    type: str = "Other"
    contacts: list[str] = Field(default_factory=list)


class SenderSettings(_Section):
    allowed_domains: list[str] = Field(default_factory=lambda: ["nhs.net", "nhs.uk"])
    # Trust Authentication-Results from our own receiving server only: name it here to enable.
    authserv_id: str = ""
    require_dmarc_pass: bool = False


class TargetSettings(_Section):
    """Working days (England) staff have to act on a request, by kind; counted from filing."""

    new: int = Field(10, ge=1)
    change: int = Field(10, ge=1)
    end: int = Field(5, ge=1)
    verification: int = Field(5, ge=1)


def _valid_cron(expr: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ValueError(f"not a cron expression ({exc}); e.g. '0 8 * * mon-fri'") from exc
    # APScheduler numbers weekdays from Monday=0, unlike cron: names avoid the surprise.
    if any(ch.isdigit() for ch in expr.split()[-1]):
        raise ValueError("name the days of the week (mon-fri), not numbers")
    return expr


class DigestSettings(_Section):
    enabled: bool = True
    cron: str = "0 8 * * mon-fri"  # Europe/London

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, expr: str) -> str:
        return _valid_cron(expr)


class ReminderSettings(_Section):
    enabled: bool = True
    cron: str = "0 7 * * *"  # Europe/London, daily
    offsets_days: list[int] = Field(default_factory=lambda: [90, 60, 30, 14, 7, 1])

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, expr: str) -> str:
        return _valid_cron(expr)


class PathSettings(_Section):
    templates: Path | None = None
    s251: Path = Path("config/s251.toml")
    organisations: Path = Path("config/organisations.toml")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mailboxes: list[MailboxSettings] = Field(default_factory=lambda: [MailboxSettings()])
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    outgoing: OutgoingSettings = Field(default_factory=OutgoingSettings)
    senders: SenderSettings = Field(default_factory=SenderSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    targets: TargetSettings = Field(default_factory=TargetSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    timezone: str = "Europe/London"
    dscro: list[Dscro] = Field(
        default_factory=lambda: [
            Dscro(name="North", staff=["dscro.north@intake-bot.invalid"]),
            Dscro(
                name="Midlands and East",
                staff=["dscro.midlands-east@intake-bot.invalid"],
                aliases=["Midlands & East", "M&E"],
            ),
            Dscro(name="London", staff=["dscro.london@intake-bot.invalid"]),
            Dscro(name="South", staff=["dscro.south@intake-bot.invalid"]),
        ]
    )
    purposes_needing_approval: list[str] = Field(
        default_factory=lambda: ["Invoice validation", "Risk stratification"]
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    source: str = "(built-in defaults)"  # which file these came from, for `intake-bot config`

    @property
    def mailbox(self) -> MailboxSettings:
        """The first (in most deployments the only) mailbox."""
        return self.mailboxes[0]

    @field_validator("mailboxes")
    @classmethod
    def _mailboxes_named_once(cls, boxes: list[MailboxSettings]) -> list[MailboxSettings]:
        if not boxes:
            raise ValueError("at least one [[mailbox]] is needed")
        names = [b.name.casefold() for b in boxes]
        if len(set(names)) != len(names):
            raise ValueError("each [[mailbox]] must have a different name")
        return boxes

    @field_validator("dscro")
    @classmethod
    def _offices_named_once(cls, offices: list[Dscro]) -> list[Dscro]:
        names = [o.name.casefold() for o in offices]
        if len(set(names)) != len(names):
            raise ValueError("each regional office (dscro) must have a different name")
        if not offices:
            raise ValueError("at least one regional office (dscro) is needed")
        return offices

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    def templates_dir(self) -> Path:
        if self.paths.templates:
            return self.paths.templates
        for candidate in (PACKAGE_ROOT / "templates", Path.cwd() / "templates"):
            if candidate.is_dir():
                return candidate
        raise ConfigError("no templates folder found: set paths.templates")

    def mailbox_secret(self) -> str | None:
        return _secret(self.mailbox.password, self.mailbox.password_file, "mailbox.password_file")

    def outgoing_secret(self) -> str | None:
        return _secret(
            self.outgoing.password, self.outgoing.password_file, "outgoing.password_file"
        )

    def database_url(self) -> str:
        """The database URL with the password from the environment or file filled in."""
        secret = _secret(
            self.database.password, self.database.password_file, "database.password_file"
        )
        if not secret:
            return self.database.url
        parts = urlsplit(self.database.url)
        if not parts.username:
            raise ConfigError("database.url: name the user, e.g. postgresql+psycopg://intake@db/x")
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{quote(unquote(parts.username), safe='')}:{quote(secret, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))

    def masked(self) -> dict[str, Any]:
        """The effective settings, secrets and URL passwords masked, for display."""
        data = self.model_dump(mode="json")
        for block in [*data["mailboxes"], data["database"], data["outgoing"]]:
            if block.get("password"):
                block["password"] = MASK
            if "url" in block:
                block["url"] = mask_url(block["url"])
        return data


def _secret(value: SecretStr | None, path: Path | None, name: str) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from exc


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`INTAKE_BOT_MAILBOX_URL=…` → {"mailbox": {"url": …}}. Lists may be given as JSON."""
    sections = {
        name: set(model.model_fields)
        for name, model in (
            ("mailbox", MailboxSettings),
            ("database", DatabaseSettings),
            ("outgoing", OutgoingSettings),
            ("senders", SenderSettings),
            ("paths", PathSettings),
            ("targets", TargetSettings),
            ("digest", DigestSettings),
            ("reminders", ReminderSettings),
        )
    }
    out: dict[str, dict[str, Any]] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        for section, keys in sections.items():
            if rest.startswith(section + "_") and rest[len(section) + 1 :] in keys:
                key = rest[len(section) + 1 :]
                out.setdefault(section, {})[key] = _env_value(value)
    return out


def _env_value(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `path` (or $INTAKE_BOT_CONFIG, or config/intake-bot.toml if present)."""
    env = os.environ if env is None else env
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    explicit = path is not None
    path = path or DEFAULT_CONFIG
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        data["source"] = str(path)
    elif explicit:
        raise ConfigError(f"config file not found: {path}")
    boxes = data.pop("mailbox", [])
    boxes = [boxes] if isinstance(boxes, dict) else list(boxes)  # [mailbox] or [[mailbox]]
    for section in ("mailbox", "database", "outgoing"):
        blocks = boxes if section == "mailbox" else [data.get(section, {})]
        if any(isinstance(b, dict) and "password" in b for b in blocks):
            raise ConfigError(
                f"{path}: [{section}] password must not be in a file in the repository; "
                f"set {ENV_PREFIX}{section.upper()}_PASSWORD or {section}.password_file"
            )
    overrides = _env_overrides(env)
    # INTAKE_BOT_MAILBOX_* set the first (in most deployments the only) mailbox.
    first = overrides.pop("mailbox", {})
    if first:
        boxes = [_merge(boxes[0] if boxes else {}, first), *boxes[1:]]
    if boxes:
        data["mailboxes"] = boxes
    data = _merge(data, overrides)
    if ENV_PREFIX + "LOG_LEVEL" in env:
        data["log_level"] = env[ENV_PREFIX + "LOG_LEVEL"].upper()
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc[:1] == ["mailboxes"] and len(loc) > 1:  # as written: [mailbox] or [[mailbox]] N
            loc = ["mailbox" if loc[1] == "0" else f"mailbox[{loc[1]}]", *loc[2:]]
        where = ".".join(loc)
        lines.append(f"{where}: {err['msg']}")
    return "invalid settings: " + "; ".join(lines)


def url_password(url: str) -> str | None:
    """The password embedded in a URL, if any (discouraged; env or file is preferred)."""
    pw = urlsplit(url).password
    return unquote(pw) if pw else None
