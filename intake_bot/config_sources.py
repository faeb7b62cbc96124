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
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr, ValidationError

from intake_bot.errors import OperatorError

ENV_PREFIX = "INTAKE_BOT_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
FIRST_MAILBOX = "mailbox"  # INTAKE_BOT_MAILBOX_* and [mailbox] mean the first of `mailboxes`
LOADER_SET = ("source",)  # filled in by the loader, not by anyone's settings
MASK = "*" * 8


class ConfigError(OperatorError):
    """The settings are missing or wrong; each problem names the setting."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


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


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model of a table (`Model`) or of a list of tables (`list[Model]`)."""
    inner = get_args(annotation)[0] if get_origin(annotation) is list else annotation
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _tables(settings_cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The settings set key by key: each section, and the first mailbox."""
    out: dict[str, type[BaseModel]] = {}
    for name, info in settings_cls.model_fields.items():
        model = _model_of(info.annotation)
        if model is not None and get_origin(info.annotation) is not list:
            out[name] = model
    mailbox = _model_of(settings_cls.model_fields["mailboxes"].annotation)
    assert mailbox is not None
    out[FIRST_MAILBOX] = mailbox
    return out


def known_env_names(settings_cls: type[BaseModel]) -> dict[str, bool]:
    """Every INTAKE_BOT_* name the settings read → whether its value is JSON (list or table)."""
    names = {CONFIG_ENV: False}
    for name, info in settings_cls.model_fields.items():
        if name not in LOADER_SET:
            names[ENV_PREFIX + name.upper()] = not _is_scalar(info.annotation)
    for table, model in _tables(settings_cls).items():
        names[ENV_PREFIX + table.upper()] = True
        for key, info in model.model_fields.items():
            names[f"{ENV_PREFIX}{table.upper()}_{key.upper()}"] = _is_json(info.annotation)
    return names


def _without_none(annotation: Any) -> Any:
    """`X | None` → X (an optional setting is read as its type)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    optional = get_origin(annotation) in (Union, UnionType) and len(args) == 1
    return args[0] if optional else annotation


def _is_scalar(annotation: Any) -> bool:
    """Read as written (a word, a path, a secret), not as JSON."""
    bare = _without_none(annotation)
    return bare in (str, SecretStr, Path) or get_origin(bare) is Literal


def _is_json(annotation: Any) -> bool:
    """A list, a table or a sub-section: JSON in the environment."""
    bare = _without_none(annotation)
    is_model = isinstance(bare, type) and issubclass(bare, BaseModel)
    return get_origin(bare) in (list, dict) or is_model


def unknown_env_warnings(settings_cls: type[BaseModel], env: Mapping[str, str]) -> list[str]:
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


def env_values(settings_cls: type[BaseModel], env: Mapping[str, str]) -> dict[str, Any]:
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
    for name in settings_cls.model_fields:
        if name not in LOADER_SET and ENV_PREFIX + name.upper() in given:
            data[name] = value(ENV_PREFIX + name.upper())
    for table, model in _tables(settings_cls).items():
        whole = ENV_PREFIX + table.upper()
        section = value(whole) if whole in given else {}
        names = {key: f"{whole}_{key.upper()}" for key in model.model_fields}
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


def describe(settings_cls: type[BaseModel], exc: ValidationError) -> list[str]:
    """One line a problem, named as written in the file: `mailbox.url`, `mailbox[1].name`."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc[:1] == ["mailboxes"] and len(loc) > 1:
            loc = [FIRST_MAILBOX if loc[1] == "0" else f"mailbox[{loc[1]}]", *loc[2:]]
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown setting" + _closest(settings_cls, loc)
        lines.append(f"{'.'.join(loc)}: {message}")
    return lines


def _closest(settings_cls: type[BaseModel], loc: list[str]) -> str:
    """`; did you mean poll_interval_seconds?` for a misspelt key in the file."""
    fields = settings_cls.model_fields
    table = loc[0].split("[")[0] if len(loc) > 1 else None
    if table == FIRST_MAILBOX:
        table = "mailboxes"
    model = _model_of(fields[table].annotation) if table in fields else None
    names = list(model.model_fields if model else fields)
    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
