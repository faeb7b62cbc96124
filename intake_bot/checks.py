"""`intake-bot config --check`: everything the worker will need, checked without connecting.

Settings that fail to load never get here (their ConfigError already names each problem); this
looks at what loading cannot: URLs, files, addresses, templates and the reference data.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from intake_bot.bootstrap import make_transport
from intake_bot.config import PACKAGED_TEMPLATES, ConfigError, Settings
from intake_bot.forms.version_files import (
    changed_meanings,
    load_form_versions,
    not_read,
    same_versions,
)
from intake_bot.mail.smtp import SECURITY_MODES
from intake_bot.mail.sources import check_sources
from intake_bot.store.urls import check_database_url


@dataclass(frozen=True)
class Problem:
    setting: str  # as written in the file, e.g. `mailbox.url`, or an INTAKE_BOT_* name
    message: str  # what is wrong and what to do
    stops_worker: bool = True  # False: reported by --check, but `run` may start

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


def check_settings(settings: Settings) -> list[Problem]:
    """Every problem found, in the order the settings file lists them."""
    return [
        *_unknown_names(settings),
        *_mailboxes(settings),
        *_database(settings),
        *_outgoing(settings),
        *_addresses(settings),
        *_templates(settings),
        *_reference_file(settings.paths.s251, "paths.s251", "approval", ("reference", "expires")),
        *_reference_file(
            settings.paths.organisations, "paths.organisations", "organisation", ("ods", "name")
        ),
        *_form_versions(settings.paths.forms),
    ]


def _from_config_error(exc: ConfigError) -> Iterator[Problem]:
    for line in exc.problems:
        setting, _, message = line.partition(": ")
        yield Problem(setting, message or line)


def _unknown_names(settings: Settings) -> Iterator[Problem]:
    for line in settings.env_warnings:
        name, _, message = line.partition(": ")
        yield Problem(name, message, stops_worker=False)


def _mailboxes(settings: Settings) -> Iterator[Problem]:
    names = ", ".join(d.name for d in settings.dscro)
    offices = [d.name.casefold() for d in settings.dscro]
    for box in settings.mailboxes:
        if box.default_office and box.default_office.casefold() not in offices:
            label = f"{settings.mailbox_label(box)}.default_office"
            yield Problem(label, f"not a regional office; one of {names}")
    try:
        check_sources(settings)  # the worker's own parse of each URL and its secrets
    except ConfigError as exc:
        yield from _from_config_error(exc)


def _tls(query: str, setting: str) -> Iterator[Problem]:
    tls = parse_qs(query).get("tls", [None])[0]
    if tls is not None and tls not in SECURITY_MODES:
        yield Problem(setting, f"tls={tls} is not one of {', '.join(SECURITY_MODES)}")


def _local_folder(raw: str, setting: str, example: str) -> Iterator[Problem]:
    folder = Path(unquote(raw))
    if not raw.strip():
        yield Problem(setting, f"name the folder, e.g. {example}")
    elif folder.exists() and not folder.is_dir():
        yield Problem(setting, f"{folder} is a file, not a folder")


def _database(settings: Settings) -> Iterator[Problem]:
    problem = check_database_url(settings.database.url)
    if problem:
        yield Problem("database.url", problem)
    try:
        settings.database_url()
    except ConfigError as exc:
        yield from _from_config_error(exc)


def _outgoing(settings: Settings) -> Iterator[Problem]:
    out = settings.outgoing
    parts = urlsplit(out.url)
    if parts.scheme == "file":
        yield from _local_folder(out.url.split(":", 1)[1], "outgoing.url", "file:var/outbox")
        return
    if parts.scheme == "graph":
        try:
            make_transport(settings).close()  # the worker's own build: mailbox, API URL, sign-in
        except ConfigError as exc:
            yield from _from_config_error(exc)
        return
    example = "smtp://intake@smtp.example.nhs.uk:587"
    if parts.scheme not in ("smtp", "smtps"):
        yield Problem(
            "outgoing.url",
            f"unknown scheme {parts.scheme!r}: use file:PATH, smtp://, smtps:// or graph://, "
            f"e.g. {example}",
        )
        return
    if not parts.hostname:
        yield Problem("outgoing.url", f"name the host, e.g. {example}")
    yield from _tls(parts.query, "outgoing.url")
    try:
        settings.outgoing_secret()
    except ConfigError as exc:
        yield from _from_config_error(exc)


def _addresses(settings: Settings) -> Iterator[Problem]:
    # With a file outbox nothing is delivered, so placeholder (.invalid) addresses are fine.
    delivered = urlsplit(settings.outgoing.url).scheme in ("smtp", "smtps", "graph")
    found = [("outgoing.from_address", settings.outgoing.from_address)]
    for office in settings.dscro:
        found += [(f"dscro {office.name!r} staff", a) for a in office.staff]
    for setting, address in found:
        problem = address_problem(address, delivered=delivered)
        if problem:
            # A placeholder address loses mail but breaks nothing: `run` starts and says so.
            placeholder = address_problem(address, delivered=False) is None
            yield Problem(setting, f"{address!r}: {problem}", stops_worker=not placeholder)


def address_problem(address: str, *, delivered: bool) -> str | None:
    """Why `address` cannot be used, checking syntax only (no DNS)."""
    domain = address.rpartition("@")[2].casefold().rstrip(".")
    reserved = next(
        (d for d in SPECIAL_USE_DOMAIN_NAMES if domain == d or domain.endswith("." + d)), None
    )
    if reserved and delivered:
        return f"a reserved domain (.{reserved}) that no mail reaches: set the real address"
    probe = address[: len(address) - len(reserved)] + "example.org" if reserved else address
    try:
        validate_email(probe, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"not an email address ({exc})"
    return None


def _templates(settings: Settings) -> Iterator[Problem]:
    try:
        folder = settings.templates_dir() / "email"
    except ConfigError as exc:
        yield from _from_config_error(exc)
        return
    needed = sorted(p.name for p in (PACKAGED_TEMPLATES / "email").iterdir() if p.is_file())
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        yield Problem(
            "paths.templates",
            f"{folder} lacks {', '.join(missing)}: copy them from {PACKAGED_TEMPLATES / 'email'}",
        )


def _form_versions(folder: Path) -> Iterator[Problem]:
    """Every mapping in config/forms/, as the worker will load it (what stops it first), and
    every entry there that is not read."""
    try:
        load_form_versions(folder)
    except ConfigError as exc:
        yield from _from_config_error(exc)
    for line in [*not_read(folder), *same_versions(folder), *changed_meanings(folder)]:
        yield Problem("paths.forms", line, stops_worker=False)


def _reference_file(
    path: Path, setting: str, table: str, keys: tuple[str, ...]
) -> Iterator[Problem]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        yield Problem(setting, f"cannot read {path}: {exc.strerror}; fix the path")
        return
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        yield Problem(setting, f"{path} is not valid TOML: {exc}")
        return
    items = data.get(table, [])
    if not isinstance(items, list):
        yield Problem(setting, f"{path}: write each entry as [[{table}]]")
        return
    for number, item in enumerate(items, start=1):
        lacking = [k for k in keys if k not in item]
        if lacking:
            yield Problem(setting, f"{path}: [[{table}]] {number} lacks {', '.join(lacking)}")
        elif "expires" in keys and not isinstance(item["expires"], date):
            yield Problem(setting, f"{path}: [[{table}]] {number}: expires must be a date")
