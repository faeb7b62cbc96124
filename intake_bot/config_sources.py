"""Where settings come from: the TOML file and `INTAKE_BOT_*` names, merged key by key.

Generic over the settings class, so that `config.py` keeps the settings and their defaults.
The environment arrives as a mapping: only config.py reads the process environment.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_origin
from urllib.parse import unquote, urlsplit

import msgspec

from intake_bot.config_types import (
    FIRST_MAILBOX,
    MASK,
    ConfigError,
    Secret,
    fields_of,
    model_of,
    without_none,
)

ENV_PREFIX = "INTAKE_BOT_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
LOADER_SET = ("source",)  # filled in by the loader, not by anyone's settings


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@")
        return parts._replace(netloc=netloc).geturl()
    return url


def url_password(url: str) -> str | None:
    """The password embedded in a URL, if any (discouraged; env or file is preferred)."""
    pw = urlsplit(url).password
    return unquote(pw) if pw else None


def _tables(settings_cls: type[msgspec.Struct]) -> dict[str, type[msgspec.Struct]]:
    """The settings set key by key: each section, and the first mailbox."""
    out: dict[str, type[msgspec.Struct]] = {}
    fields = fields_of(settings_cls)
    for name, info in fields.items():
        model = model_of(info.type)
        if model is not None and get_origin(info.type) is not list:
            out[name] = model
    mailbox = model_of(fields["mailboxes"].type)
    assert mailbox is not None
    out[FIRST_MAILBOX] = mailbox
    return out


def known_env_names(settings_cls: type[msgspec.Struct]) -> dict[str, bool]:
    """Every INTAKE_BOT_* name the settings read → whether its value is JSON (list or table)."""
    names = {CONFIG_ENV: False}
    for name, info in fields_of(settings_cls).items():
        if name not in LOADER_SET:
            names[ENV_PREFIX + name.upper()] = not _is_scalar(info.type)
    for table, model in _tables(settings_cls).items():
        names[ENV_PREFIX + table.upper()] = True
        for key, info in fields_of(model).items():
            names[f"{ENV_PREFIX}{table.upper()}_{key.upper()}"] = _is_json(info.type)
    return names


def _is_scalar(annotation: Any) -> bool:
    """Read as written (a word, a path, a secret), not as JSON."""
    bare = without_none(annotation)
    return bare in (str, Secret, Path) or get_origin(bare) is Literal


def _is_json(annotation: Any) -> bool:
    """A list, a table or a sub-section: JSON in the environment."""
    is_table = model_of(annotation) is not None
    return is_table or get_origin(without_none(annotation)) in (list, dict)


def unknown_env_warnings(settings_cls: type[msgspec.Struct], env: Mapping[str, str]) -> list[str]:
    """One line for each INTAKE_BOT_* name that no setting reads, naming the closest one."""
    known = known_env_names(settings_cls)
    out = []
    for name in sorted(n for n in env if n.upper().startswith(ENV_PREFIX)):
        if name.upper() in known:
            continue
        # Compared without the shared prefix, which would make every name look close.
        rest = name.upper().removeprefix(ENV_PREFIX)
        keys = [k.removeprefix(ENV_PREFIX) for k in known]
        close = difflib.get_close_matches(rest, keys, n=1, cutoff=0.6)
        hint = f"did you mean {ENV_PREFIX}{close[0]}?" if close else "no setting has that name"
        out.append(f"{name}: unknown setting, ignored; {hint}")
    return out


def env_values(settings_cls: type[msgspec.Struct], env: Mapping[str, str]) -> dict[str, Any]:
    """The settings that INTAKE_BOT_* names in `env` give, as the file's tables would hold them:
    `INTAKE_BOT_<SETTING>` a top-level setting or a whole section (JSON for lists and tables),
    `INTAKE_BOT_<SECTION>_<KEY>` one key of a section, INTAKE_BOT_MAILBOX_* the `mailbox` key.

    Unknown names are left out here (and warned about by the loader), so that a typo is a
    warning naming the closest setting rather than an error deep inside a section.
    """
    known = known_env_names(settings_cls)
    given = {k.upper(): v for k, v in env.items() if k.upper() in known}

    def value(name: str) -> Any:
        return _json(name, given[name]) if known[name] else given[name]

    data: dict[str, Any] = {}
    for name in fields_of(settings_cls):
        if name not in LOADER_SET and ENV_PREFIX + name.upper() in given:
            data[name] = value(ENV_PREFIX + name.upper())
    for table, model in _tables(settings_cls).items():
        whole = ENV_PREFIX + table.upper()
        section = value(whole) if whole in given else {}
        names = {key: f"{whole}_{key.upper()}" for key in fields_of(model)}
        keys = {key: value(name) for key, name in names.items() if name in given}
        section = {**section, **keys} if isinstance(section, dict) else section
        if section:
            data[table] = section
    return data


def merged(low: dict[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """`low` with `high` on top, table by table: the environment sets one key of a section and
    the file's other keys stay (lists are replaced whole)."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f'{name}: not valid JSON ({exc.msg}); lists and tables are JSON, e.g. ["nhs.net"]'
        ) from exc


def read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the settings file: {exc.strerror}") from exc
    boxes = data.pop(FIRST_MAILBOX, [])
    boxes = [boxes] if isinstance(boxes, dict) else boxes  # [mailbox] or [[mailbox]]
    for section in ("mailbox", "database", "outgoing"):
        blocks = boxes if section == "mailbox" else [data.get(section, {})]
        if any(isinstance(b, dict) and "password" in b for b in blocks):
            raise ConfigError(
                f"{path}: [{section}] password must not be in a file in the repository; "
                f"set {ENV_PREFIX}{section.upper()}_PASSWORD or {section}.password_file"
            )
    if boxes:
        data["mailboxes"] = boxes
    data["source"] = str(path)
    return data
