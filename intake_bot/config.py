"""Settings: a TOML file plus `INTAKE_BOT_*` environment overrides, checked as msgspec structs.

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
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from msgspec import field

from intake_bot.config_limits import LimitSettings
from intake_bot.config_mail import (
    WATCHED_SUBJECT,
    DatabaseSettings,
    MailboxSettings,
    OAuth2Settings,
    OutgoingSettings,
    _secret,
)
from intake_bot.config_retention import RetentionSettings
from intake_bot.config_schedules import DigestSettings, ReminderSettings
from intake_bot.config_sources import (
    CONFIG_ENV,
    ENV_PREFIX,
    env_values,
    mask_url,
    merged,
    read_settings_file,
    unknown_env_warnings,
    url_password,
)
from intake_bot.config_types import (
    MASK,
    ConfigError,
    Positive,
    Secret,
    Section,
    as_plain,
    convert,
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
DEFAULT_TIMEZONE = "Europe/London"
# Shipped inside the package, so that an installed bot run from any folder finds them.
PACKAGED = Path(__file__).resolve().parent  # not importlib.resources: ~7 ms to import
PACKAGED_TEMPLATES = PACKAGED / "templates"
PACKAGED_CONFIG = PACKAGED / "defaults"


class Dscro(Section):
    """A DSfC regional office and the staff who work its queue."""

    name: str
    staff: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


class SenderSettings(Section):
    allowed_domains: list[str] = field(default_factory=lambda: ["nhs.net", "nhs.uk"])
    # Trust Authentication-Results from our own receiving server only: name it here to enable.
    authserv_id: str = ""
    require_dmarc_pass: bool = False


class TargetSettings(Section):
    """Working days (England) staff have to act on a request, by kind; counted from filing."""

    new: Positive = 10
    change: Positive = 10
    end: Positive = 5
    verification: Positive = 5


class PathSettings(Section):
    templates: Path | None = None  # None: the templates shipped in the package
    s251: Path = Path("config/s251.toml")
    organisations: Path = Path("config/organisations.toml")
    forms: Path = Path("config/forms")  # one <version>.toml a version of the request form

    _DEFAULTS: ClassVar[dict[str, Path]] = {
        "s251": Path("config/s251.toml"),
        "organisations": Path("config/organisations.toml"),
        "forms": Path("config/forms"),
    }

    def __post_init__(self) -> None:
        # A default file that is not in the working folder is the copy shipped in the package;
        # a path someone wrote is kept as written, so that a typo is reported, not hidden.
        for name, default in self._DEFAULTS.items():
            if getattr(self, name) == default and not default.exists():
                setattr(self, name, PACKAGED_CONFIG / default.name)


def _known_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: unknown time zone {name!r}; e.g. 'Europe/London'") from exc


def _first_mailbox(data: dict[str, Any]) -> dict[str, Any]:
    """INTAKE_BOT_MAILBOX_* (the `mailbox` key) set the first mailbox, whichever source gave
    the list."""
    if "mailbox" not in data:
        return data
    data = dict(data)
    first = data.pop("mailbox")
    boxes = list(data.get("mailboxes") or [{}])
    if isinstance(boxes[0], dict) and isinstance(first, dict):
        boxes[0] = {**boxes[0], **first}
    data["mailboxes"] = boxes
    return data


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


class Settings(Section, dict=True):  # dict: room for the two private attributes below
    # Sources (the file, then the environment on top) are merged by `load_settings`.
    mailboxes: list[MailboxSettings] = field(default_factory=lambda: [MailboxSettings()])
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    outgoing: OutgoingSettings = field(default_factory=OutgoingSettings)
    senders: SenderSettings = field(default_factory=SenderSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    targets: TargetSettings = field(default_factory=TargetSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    web: WebSettings = field(default_factory=WebSettings)
    timezone: str = DEFAULT_TIMEZONE
    dscro: list[Dscro] = field(default_factory=_default_offices)
    purposes_needing_approval: list[str] = field(
        default_factory=lambda: ["Invoice validation", "Risk stratification"]
    )
    # Encrypts the OAuth 2.0 tokens kept on disk: INTAKE_BOT_TOKEN_KEY or a file (see mail/oauth).
    token_key: Secret | None = None
    token_key_file: Path | None = None
    # Who hears of a mailbox that stopped (a revoked sign-in, an expired secret) and of
    # credentials about to expire; empty: the staff of every regional office.
    alert_addresses: list[str] = field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    source: str = "(built-in defaults)"  # which file these came from, for `intake-bot config`

    def __post_init__(self) -> None:
        self._env_warnings: list[str] = []
        self._shared: dict[object, object] = {}
        if not self.mailboxes:
            raise ValueError("mailboxes: at least one [[mailbox]] is needed")
        names = [b.name.casefold() for b in self.mailboxes]
        if len(set(names)) != len(names):
            raise ValueError("mailboxes: each [[mailbox]] must have a different name")
        offices = [o.name.casefold() for o in self.dscro]
        if len(set(offices)) != len(offices):
            raise ValueError("dscro: each regional office (dscro) must have a different name")
        if not offices:
            raise ValueError("dscro: at least one regional office (dscro) is needed")
        if self.timezone != DEFAULT_TIMEZONE:
            _known_zone(self.timezone)

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
        data = as_plain(self)
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
    data = _first_mailbox(
        merged(read_settings_file(path) if path else {}, env_values(Settings, env))
    )
    if isinstance(data.get("log_level"), str):
        data["log_level"] = data["log_level"].upper()
    settings = convert(data, Settings)
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
