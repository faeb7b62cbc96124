"""Settings: a TOML file plus `INTAKE_BOT_*` environment overrides, validated by pydantic.

This is the only module that reads the environment, and the only place where defaults live.
`INTAKE_BOT_<SECTION>_<KEY>` sets one key of a section (INTAKE_BOT_OUTGOING_FROM_ADDRESS),
`INTAKE_BOT_<SETTING>` a top-level setting or a whole section (JSON for lists and tables), and
`INTAKE_BOT_MAILBOX_<KEY>` the first mailbox. Secrets (passwords) come only from the environment
or from a file named in the settings, never from the TOML itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from intake_bot.config_limits import LimitSettings
from intake_bot.config_mail import (
    WATCHED_SUBJECT,
    DatabaseSettings,
    MailboxSettings,
    OAuth2Settings,
    OutgoingSettings,
    _secret,
    _Section,
)
from intake_bot.config_retention import RetentionSettings
from intake_bot.config_schedules import DigestSettings, ReminderSettings
from intake_bot.config_sources import (
    CONFIG_ENV,
    ENV_PREFIX,
    MASK,
    ConfigError,
    describe,
    env_values,
    mask_url,
    merged,
    read_settings_file,
    unknown_env_warnings,
    url_password,
)
from intake_bot.config_web import WebSettings

__all__ = [
    "ENV_PREFIX",
    "WATCHED_SUBJECT",
    "ConfigError",
    "MailboxSettings",
    "OAuth2Settings",
    "OutgoingSettings",
    "Settings",
    "load_settings",
    "mask_url",
    "url_password",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_CONFIG = Path("config/intake-bot.toml")
# Shipped inside the package, so that an installed bot run from any folder finds them.
PACKAGED = Path(__file__).resolve().parent  # not importlib.resources: ~7 ms to import
PACKAGED_TEMPLATES = PACKAGED / "templates"
PACKAGED_CONFIG = PACKAGED / "defaults"


class Dscro(_Section):
    """A DSfC regional office and the staff who work its queue."""

    name: str
    staff: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


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


class PathSettings(_Section):
    templates: Path | None = None  # None: the templates shipped in the package
    s251: Path = Path("config/s251.toml")
    organisations: Path = Path("config/organisations.toml")
    forms: Path = Path("config/forms")  # one <version>.toml a version of the request form

    @model_validator(mode="after")
    def _packaged_copies(self) -> PathSettings:
        # A default file that is not in the working folder is the copy shipped in the package;
        # a path someone wrote is kept as written, so that a typo is reported, not hidden.
        for name in ("s251", "organisations", "forms"):
            value: Path = getattr(self, name)
            if value == PathSettings.model_fields[name].default and not value.exists():
                setattr(self, name, PACKAGED_CONFIG / value.name)
        return self


def _default_offices() -> list[Dscro]:
    return [
        Dscro(name="North", staff=["dscro.north@intake-bot.invalid"]),
        Dscro(
            name="Midlands and East",
            staff=["dscro.midlands-east@intake-bot.invalid"],
            aliases=["Midlands & East", "M&E"],
        ),
        Dscro(name="London", staff=["dscro.london@intake-bot.invalid"]),
        Dscro(name="South", staff=["dscro.south@intake-bot.invalid"]),
    ]


class Settings(BaseModel):
    # Sources (the file, then the environment on top) are merged by `load_settings`: plain
    # pydantic, as pydantic-settings costs ~0.1 s to import on every command.
    model_config = ConfigDict(extra="forbid", validate_default=True)

    mailboxes: list[MailboxSettings] = Field(default_factory=lambda: [MailboxSettings()])
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    outgoing: OutgoingSettings = Field(default_factory=OutgoingSettings)
    senders: SenderSettings = Field(default_factory=SenderSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    targets: TargetSettings = Field(default_factory=TargetSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    timezone: str = "Europe/London"
    dscro: list[Dscro] = Field(default_factory=_default_offices)
    purposes_needing_approval: list[str] = Field(
        default_factory=lambda: ["Invoice validation", "Risk stratification"]
    )
    # Encrypts the OAuth 2.0 tokens kept on disk: INTAKE_BOT_TOKEN_KEY or a file (see mail/oauth).
    token_key: SecretStr | None = None
    token_key_file: Path | None = None
    # Who hears of a mailbox that stopped (a revoked sign-in, an expired secret) and of
    # credentials about to expire; empty: the staff of every regional office.
    alert_addresses: list[str] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    source: str = "(built-in defaults)"  # which file these came from, for `intake-bot config`
    _env_warnings: list[str] = PrivateAttr(default_factory=list)
    _shared: dict[object, object] = PrivateAttr(default_factory=dict)

    @property
    def mailbox(self) -> MailboxSettings:
        """The first (in most deployments the only) mailbox."""
        return self.mailboxes[0]

    def shared(self, key: object, make: Callable[[], T]) -> T:
        """What is built from these settings once per process (token providers, whose caches
        must outlive a poll): made on first use; a `make` that raises is tried again next time."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]  # type: ignore[return-value]

    @property
    def env_warnings(self) -> list[str]:
        """Unknown INTAKE_BOT_* names, each with the closest known one."""
        return list(self._env_warnings)

    @model_validator(mode="before")
    @classmethod
    def _first_mailbox_from_env(cls, data: Any) -> Any:
        # INTAKE_BOT_MAILBOX_* set the first mailbox, whichever source gave the list.
        if isinstance(data, dict) and "mailbox" in data:
            first = data.pop("mailbox")
            boxes = list(data.get("mailboxes") or [{}])
            if isinstance(boxes[0], dict) and isinstance(first, dict):
                boxes[0] = {**boxes[0], **first}
            data["mailboxes"] = boxes
        return data

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, level: Any) -> Any:
        return level.upper() if isinstance(level, str) else level

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
            raise ValueError(f"unknown time zone {name!r}; e.g. 'Europe/London'") from exc
        return name

    def templates_dir(self) -> Path:
        folder = self.paths.templates or PACKAGED_TEMPLATES
        if not (folder / "email").is_dir():
            raise ConfigError(
                f"paths.templates: no email/ folder in {folder}: "
                "set paths.templates to the folder that holds email/, or leave it unset"
            )
        return folder

    def mailbox_label(self, box: MailboxSettings) -> str:
        """How settings name this mailbox: `mailbox` for the first, `mailbox[N]` for others."""
        if box not in self.mailboxes:  # a box from elsewhere (a copy): name it by its name
            return f"mailbox[{box.name}]"
        index = self.mailboxes.index(box)
        return "mailbox" if index == 0 else f"mailbox[{index}]"

    def mailbox_secret(self, box: MailboxSettings | None = None) -> str | None:
        """The mailbox password: INTAKE_BOT_MAILBOX_PASSWORD (first mailbox) or password_file."""
        box = box or self.mailbox
        return _secret(box.password, box.password_file, f"{self.mailbox_label(box)}.password_file")

    def mailbox_token(self, box: MailboxSettings | None = None) -> str | None:
        """An OAuth 2.0 access token from the mailbox's oauth2_token_file, if it names one."""
        box = box or self.mailbox
        label = f"{self.mailbox_label(box)}.oauth2_token_file"
        return _secret(None, box.oauth2_token_file, label)

    def token_key_secret(self) -> str | None:
        """The key that encrypts stored tokens (INTAKE_BOT_TOKEN_KEY or token_key_file)."""
        return _secret(self.token_key, self.token_key_file, "token_key_file")

    def outgoing_secret(self) -> str | None:
        out = self.outgoing
        return _secret(out.password, out.password_file, "outgoing.password_file")

    def database_url(self) -> str:
        """The database URL with the password from the environment or file filled in."""
        db = self.database
        secret = _secret(db.password, db.password_file, "database.password_file")
        if not secret:
            return db.url
        parts = urlsplit(db.url)
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
            block["url"] = mask_url(block["url"])
        data["paths"]["templates"] = str(self.paths.templates or PACKAGED_TEMPLATES)
        return data


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `path` (or $INTAKE_BOT_CONFIG, or config/intake-bot.toml if present)."""
    env = os.environ if env is None else env
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    if path is not None and not path.is_file():
        raise ConfigError(
            f"config file not found: {path}: pass --config FILE or set {CONFIG_ENV} to a file"
        )
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    # The environment overrides the file key by key, which overrides the defaults.
    data = merged(read_settings_file(path) if path else {}, env_values(Settings, env))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = describe(Settings, exc)
        raise ConfigError("invalid settings: " + "; ".join(problems), problems) from exc
    settings._env_warnings = unknown_env_warnings(Settings, env)
    for warning in settings._env_warnings:
        log.warning("%s", warning)
    return settings


def share_with_workers(path: Path | None, web_secret: str) -> None:
    """What the console's worker processes (started afresh by uvicorn) need to read the same
    settings and sign the same session cookies: the settings file and the cookie key, through
    this process's environment, which they inherit."""
    if path is not None:
        os.environ[CONFIG_ENV] = str(path.resolve())
    os.environ["INTAKE_BOT_WEB_SECRET"] = web_secret


def no_colour_wanted() -> bool:
    """NO_COLOR set and not empty (no-color.org): what a terminal's user asks of every program;
    the CLI's plain lines follow it as rich's output does."""
    return bool(os.environ.get("NO_COLOR"))
