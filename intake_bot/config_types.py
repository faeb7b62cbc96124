"""The settings' building blocks (a section, a secret, a count of at least one) and the making of
the settings from what the file and the environment give: every value checked, and every
problem named as the file names its place (`mailbox.url`, `dscro[1].name`).

msgspec rather than pydantic: every command loads the settings, and pydantic's import and its
schema building for the sections cost about 0.1 s of each start; msgspec about a tenth of that.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec

from intake_bot.errors import OperatorError

FIRST_MAILBOX = "mailbox"  # INTAKE_BOT_MAILBOX_* and [mailbox] mean the first of `mailboxes`
MASK = "*" * 8
S = TypeVar("S", bound=msgspec.Struct)
Positive = Annotated[int, msgspec.Meta(ge=1)]  # a count, or whole seconds
Duration = Annotated[float, msgspec.Meta(gt=0)]  # seconds


class Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A table of settings: an unknown key is an error (a typo would otherwise be ignored)."""


class Secret:
    """A password or key: never shown by `repr`, `str` or `intake-bot config`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(OperatorError):
    """The settings are missing or wrong; each problem names the setting."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def fields_of(cls: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    """A settings class's fields by name, their types resolved."""
    return {f.name: f for f in msgspec.structs.fields(cls)}


def model_of(annotation: Any) -> type[msgspec.Struct] | None:
    """The class of a table (`Model`, `Model | None`) or of a list of tables (`list[Model]`)."""
    bare = without_none(annotation)
    inner = get_args(bare)[0] if get_origin(bare) is list else bare
    return inner if isinstance(inner, type) and issubclass(inner, msgspec.Struct) else None


def without_none(annotation: Any) -> Any:
    """`X | None` → X (an optional setting is read as its type)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    optional = get_origin(annotation) in (Union, UnionType) and len(args) == 1
    return args[0] if optional else annotation


def convert(data: Mapping[str, Any], cls: type[S]) -> S:
    """`cls` made from the merged settings (as TOML and the environment give them), every value
    checked; else ConfigError naming every problem, as `mailbox.url: …`, `dscro[1].name: …`."""
    try:
        return _convert(data, cls)
    except msgspec.ValidationError as exc:
        problems = _problems(cls, copy.deepcopy(dict(data)), exc)
        raise ConfigError("invalid settings: " + "; ".join(problems), problems) from exc


def _convert(data: Mapping[str, Any], cls: type[S]) -> S:
    return msgspec.convert(_blanks_unset(cls, data), cls, strict=False, dec_hook=_decode)


def _problems(cls: type[msgspec.Struct], data: dict[str, Any], exc: Exception) -> list[str]:
    """Each problem in `data`: msgspec stops at the first, so each is taken out in turn (a key
    left to its default, a table of a list dropped) and the rest checked again."""
    problems: list[str] = []
    dropped: dict[tuple[str, ...], list[int]] = {}  # a list's place -> its tables dropped
    while len(problems) < 50:
        loc, message = _located(cls, str(exc))
        as_written = _as_written(loc, dropped)
        problems.append(f"{_where(as_written)}: {message}" if loc else message)
        if not loc or not _take_out(data, loc):
            break
        if loc[-1].startswith("["):
            dropped.setdefault(tuple(as_written[:-1]), []).append(int(as_written[-1][1:-1]))
        try:
            _convert(data, cls)
        except msgspec.ValidationError as again:
            exc = again
        else:
            break
    return problems


def _as_written(loc: list[str], dropped: dict[tuple[str, ...], list[int]]) -> list[str]:
    """`loc` with each list index counted as the file has it, before tables were dropped."""
    out: list[str] = []
    for part in loc:
        if part.startswith("[") and tuple(out) in dropped:
            index = int(part[1:-1])
            for gone in sorted(dropped[tuple(out)]):
                index += gone <= index
            part = f"[{index}]"
        out.append(part)
    return out


def _decode(kind: type, value: Any) -> Any:
    # The two types the settings hold that msgspec does not know.
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise TypeError(f"Expected `{'str' if kind in (Path, Secret) else kind.__name__}`")


def _blanks_unset(cls: type[msgspec.Struct], data: Any) -> Any:
    """An empty value of an optional setting is no value: `INTAKE_BOT_MAILBOX_PASSWORD_FILE=` in
    an env file means no file, not the current folder."""
    if not isinstance(data, Mapping):
        return data
    fields = fields_of(cls)
    out = dict(data)
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            continue
        if value == "" and info.default is None:
            out[key] = None
        elif (model := model_of(info.type)) is not None:
            if get_origin(without_none(info.type)) is list and isinstance(value, list):
                out[key] = [_blanks_unset(model, v) for v in value]
            else:
                out[key] = _blanks_unset(model, value)
    return out


def as_dict(section: msgspec.Struct) -> dict[str, Any]:
    """A section's settings by name, as they are (for `ReadLimits(**…)`)."""
    return msgspec.structs.asdict(section)


def as_plain(section: msgspec.Struct) -> dict[str, Any]:
    """A section as JSON would hold it: paths and dates as text, secrets masked."""
    return msgspec.to_builtins(section, enc_hook=_encode)  # type: ignore[no-any-return]


def _encode(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, (Path, date)):
        return str(value)
    raise TypeError(f"cannot show {type(value).__name__}")


_WORDS = (
    ("Object missing required field", "missing the setting"),
    ("Expected", "expected"),
    ("`array`", "a list"),
    ("`object`", "a table"),
    ("`null`", "nothing"),
)
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _located(cls: type[msgspec.Struct], error: str) -> tuple[list[str], str]:
    """msgspec's "Expected `int` - at `$.mailboxes[0].fetch_batch`" as the place (`mailboxes`,
    `[0]`, `fetch_batch`) and what is wrong there."""
    found = _AT.match(error)
    assert found is not None  # the pattern matches any text
    message, path = found["message"], found["path"] or ""
    loc = [p for p in re.split(r"\.|(?=\[)", path) if p]
    # A check of the section's own (__post_init__) names its key first: "cron: not a cron…".
    key = re.match(r"([a-z_]+): ", message)
    if key:
        loc, message = [*loc, key[1]], message[key.end() :]
    for theirs, ours in _WORDS:  # TOML's words, not JSON's
        message = message.replace(theirs, ours)
    if message.startswith("Invalid enum value") and loc:
        allowed = get_args(without_none(_field_type(cls, loc)))
        given = message.removeprefix("Invalid enum value ")
        message = f"{given} is not one of {', '.join(allowed)}"
    unknown = re.fullmatch(r"Object contains unknown field `(.+)`", message)
    if unknown:
        loc = [*loc, unknown[1]]
        message = "unknown setting" + _closest(cls, loc)
    return loc, message


def _field_type(cls: type[msgspec.Struct], loc: list[str]) -> Any:
    """The type of the setting at `loc` (list indices passed over)."""
    kind: Any = cls
    for part in (p for p in loc if not p.startswith("[")):
        model = model_of(kind)
        info = fields_of(model).get(part) if model else None
        if info is None:
            return None
        kind = info.type
    return kind


def _where(loc: list[str]) -> str:
    """The place as the file names it: `mailbox.url` for the first mailbox, `mailbox[1].name`."""
    if loc[:1] == ["mailboxes"] and len(loc) > 1 and loc[1].startswith("["):
        index = loc[1].strip("[]")
        loc = [FIRST_MAILBOX if index == "0" else f"{FIRST_MAILBOX}[{index}]", *loc[2:]]
    return "".join(p if p.startswith("[") else f".{p}" for p in loc).lstrip(".")


def _take_out(data: Any, loc: list[str]) -> bool:
    """Remove the value at `loc` from `data`; False when there is none to remove."""
    *parents, last = loc
    for part in parents:
        if part.startswith("[") and isinstance(data, list):
            index = int(part[1:-1])
            data = data[index] if index < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return False
    if last.startswith("[") and isinstance(data, list) and int(last[1:-1]) < len(data):
        del data[int(last[1:-1])]
        return True
    if isinstance(data, dict) and last in data:
        del data[last]
        return True
    return False


def _closest(settings_cls: type[msgspec.Struct], loc: list[str]) -> str:
    """`; did you mean poll_interval_seconds?` for a misspelt key in the file."""
    fields = fields_of(settings_cls)
    table = loc[0].split("[")[0] if len(loc) > 1 else None
    if table == FIRST_MAILBOX:
        table = "mailboxes"
    model = model_of(fields[table].type) if table in fields else None
    names = list(fields_of(model) if model else fields)
    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
