"""The request form's versions as the operator describes them: one TOML file a version in
`config/forms/` (`paths.forms`), each mapping that version's labels and keys to today's fields.

```toml
version = "2016.1"                          # the file is named after it: 2016.1.toml
title = "Legitimate relationship request"   # optional, for people
[labels]                                    # as printed on that version: today's key
"CCG name" = "commissioner_name"
[keys]                                      # its content-control tags / hidden key column
ccg_name = "commissioner_name"
```

Only what changed needs a line: a name a version shares with today's form reads as today's.
A version of the form needs a file here, not code: an older one, or one newer than the blank
`intake-bot form` writes (its forms are read through the file, their senders sent no form, and
staff told; `config --check` names the file). Every problem in every file is reported at once,
as a ConfigError naming the file.

What else the folder holds is judged once (`survey`), for the worker at start-up and for
`config --check` alike: a `<version>.toml` that is a folder, a link to nothing, not a plain file
or unreadable is a version the operator meant to add that cannot be read, so the worker does not
start; any other entry (a folder, "2019.1.toml.txt", a link to nothing) is not read, and named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from intake_bot.config_types import ConfigError
from intake_bot.domain.form_versions import (
    CURRENT_VERSION,
    FieldNames,
    FormVersions,
    MappingError,
    field_names,
    meanings_changed,
    version_key,
)

SETTING = "paths.forms"
_ALLOWED = frozenset({"version", "title", "labels", "keys"})
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 200
MAX_NAMED = 20  # entries not read that `config --check` names one by one; the rest are counted


@dataclass(frozen=True)
class Unread:
    """An entry of the folder that is not read as a version, and why (`problem` follows its
    name: "is a folder: ..."). `stops`: one named as a
    version's file (`<version>.toml`) that cannot be read: the worker does not start without it."""

    name: str
    problem: str
    stops: bool


@dataclass(frozen=True)
class FormsFolder:
    files: list[Path]  # the <version>.toml files, to be read
    unread: list[Unread]  # every other entry, hidden ones aside


def survey(folder: Path) -> FormsFolder:
    """What `folder` holds: the mapping files to read, and each other entry and why it is not
    read. The one judgement of the folder, for the worker at start-up and `config --check`."""
    if not folder.is_dir():
        raise ConfigError(
            f"{SETTING}: no folder {folder}: make it, or point {SETTING} at the folder that "
            "holds the <version>.toml files"
        )
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise ConfigError(f"{SETTING}: cannot list {folder} ({exc.strerror})") from exc
    files: list[Path] = []
    unread: list[Unread] = []
    for path in entries:
        if path.name.startswith("."):
            continue  # .DS_Store, macOS's "._2016.1.toml", an editor's swap file: no version
        toml = _toml_named(path)
        kind = _not_a_file(path)
        if kind is None and toml:
            files.append(path)
        elif toml:  # meant as a version: the worker must not start without it
            why = (
                f"{kind}: the version it names is not read (make it a readable file, or remove it)"
            )
            unread.append(Unread(path.name, why, True))
        elif kind == _FOLDER:
            why = (
                f"{kind}: nothing in it is read (each <version>.toml goes in {folder.name}/ itself)"
            )
            unread.append(Unread(path.name, why, False))
        elif kind is not None:  # a link to nothing, a pipe: named for what it is
            unread.append(Unread(path.name, f"{kind}: it is not read", False))
        else:
            unread.append(Unread(path.name, _NOT_READ, False))
    return FormsFolder(files, unread)


_FOLDER = "is a folder"
_NOT_READ = "is not read: only <version>.toml files are (rename it if it maps a version)"


def _toml_named(path: Path) -> bool:
    # .TOML too: a file saved on Windows must not be skipped for its name's case alone
    return path.suffix.lower() == ".toml"


def _not_a_file(path: Path) -> str | None:
    """Why `path` is no file that could be read ("is a folder"), or None."""
    try:
        if path.is_symlink() and not path.exists():
            return "is a link to something that is not there"
        if path.is_dir():
            return _FOLDER
        if not path.is_file():
            return "is not a plain file (a pipe, a device or a socket)"
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror})"
    return None


def load_form_versions(folder: Path) -> FormVersions:
    """Every version described in `folder`, checked; the current version is always readable.
    A ConfigError names every file that cannot be used (`survey`)."""
    found = survey(folder)
    stopping = [u for u in found.unread if u.stops]
    if len(found.files) + len(stopping) > MAX_FILES:
        raise ConfigError(f"{SETTING}: more than {MAX_FILES} <version>.toml entries in {folder}")
    mappings: dict[str, FieldNames] = {}
    problems = [f"{SETTING}: {u.name} {u.problem}" for u in stopping]
    for path in found.files:
        try:
            names = _read(path)
        except (ConfigError, MappingError) as exc:
            problems.append(str(exc))
            continue
        mappings[names.version] = names
    if problems:
        raise ConfigError(problems[0], problems)
    return FormVersions(mappings, CURRENT_VERSION)


def changed_meanings(folder: Path) -> list[str]:
    """For `config --check`: each loadable mapping's names that mean another field today
    (`meanings_changed`), one line a file. Files that do not load are load_form_versions's."""
    lines = []
    for path in _files(folder):
        try:
            data = _data(path, f"{SETTING}: {path.name}")
            labels, keys = _table(data, "labels", ""), _table(data, "keys", "")
        except (ConfigError, OSError):
            continue
        changed = meanings_changed(labels, keys)
        if not changed:
            continue
        if version_key(path.stem) > version_key(CURRENT_VERSION):
            # a form that declares no version is never read by a newer version's labels
            risk = (
                f"Only a form that declares {path.stem} reads them so; one that declares no "
                "version is read by today's labels"
            )
        else:
            risk = (
                "A form that declares no version and uses them is read by whichever version "
                "finds more of its fields"
            )
        lines.append(
            f"{path.name} gives names of today's form another field: {'; '.join(changed)}. " + risk
        )
    return lines


def newer_than_current(folder: Path) -> list[str]:
    """For `config --check`: each file read for a version newer than the blank the bot sends,
    so that the operator sees it is used (`intake-bot form` still writes the current one).
    Files that do not load are load_form_versions's."""
    try:
        versions = load_form_versions(folder)
    except (ConfigError, OSError):
        return []
    return [
        f"{SETTING}: {path.name} is read: forms that declare {path.stem}, newer than the blank "
        f"the bot sends ({versions.current}), are read through it and flagged for staff"
        for path in _files(folder)
        if path.stem in versions.newer
    ]


def shipped_not_read(folder: Path, shipped: Path) -> list[str]:
    """For `config --check`: the versions the bot ships mappings for (`shipped`, the package's
    own config/forms/) that `folder` lacks. The shipped ones are read only when no folder is
    configured, so one file added to a new folder leaves them out: a form on one of them is
    then sent the cannot-read reply."""
    if not folder.is_dir() or folder.resolve() == shipped.resolve():
        return []  # a folder that is not there is load_form_versions's to name
    # the current form is read by today's labels whatever the folder holds
    have = {version_key(path.stem) for path in _files(folder)} | {version_key(CURRENT_VERSION)}
    lacking = [p for p in _files(shipped) if version_key(p.stem) not in have]
    return [
        f"{SETTING}: {folder} has no {path.name}, which the bot ships: forms on version "
        f"{path.stem} are not read but sent the cannot-read reply (copy it from {shipped} "
        "to read them)"
        for path in lacking
    ]


def not_read(folder: Path) -> list[str]:
    """For `config --check`: the entries of `folder` that are not read but do not stop the
    worker (Windows hides a "2020.1.toml.txt" as "2020.1.toml"; a folder of old versions);
    hidden ones aside. Those that stop it are load_form_versions's."""
    try:
        others = [u for u in survey(folder).unread if not u.stops]
    except ConfigError:
        return []
    lines = [f"{u.name} {u.problem}" for u in others[:MAX_NAMED]]
    if len(others) > MAX_NAMED:
        lines.append(f"{len(others) - MAX_NAMED} more entries in {folder.name}/ are not read")
    return lines


def same_versions(folder: Path) -> list[str]:
    """For `config --check`: files whose versions are one version spelt two ways (2016.01.toml
    beside 2016.1.toml; 2026.01.toml, the current form's): only one of them is ever used."""
    files = _files(folder)
    by_key: dict[object, list[str]] = {}
    for path in files:
        by_key.setdefault(version_key(path.stem), []).append(path.name)
    own, lines = f"{CURRENT_VERSION}.toml", []
    for key, names in by_key.items():
        if len(names) > 1:
            lines.append(f"{' and '.join(names)} describe one version: only one is used")
        elif key == version_key(CURRENT_VERSION) and names != [own]:
            lines.append(
                f"{names[0]} describes the current form, {CURRENT_VERSION}, spelt another way: "
                f"it is never used (the current form is read by today's labels; see {own})"
            )
    return lines


def _files(folder: Path) -> list[Path]:
    try:
        return survey(folder).files
    except ConfigError:  # load_form_versions's to name
        return []


def _data(path: Path, where: str) -> dict[str, object]:
    try:  # -sig: Windows Notepad's "UTF-8 with BOM" is UTF-8 too, its mark invisible
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_FILE_BYTES // 1024} KB")
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:  # unreadable by the bot's user, or gone since the folder was listed
        raise ConfigError(
            f"{where}: cannot be read ({exc.strerror}): the version it names is not read; "
            "let the bot's user read it"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{where}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): "
            "save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from exc


def _read(path: Path) -> FieldNames:
    where = f"{SETTING}: {path.name}"
    data = _data(path, where)
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)} (use {sorted(_ALLOWED)})")
    version = data.get("version")
    if not isinstance(version, str) or version != path.stem:
        raise ConfigError(f"{where}: version must be the file's name ({path.stem!r})")
    labels, keys = _table(data, "labels", where), _table(data, "keys", where)
    return field_names(version, labels, keys, where)


def _table(data: dict[str, object], name: str, where: str) -> dict[str, str]:
    table = data.get(name, {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ConfigError(f"{where}: [{name}] maps each old {name[:-1]} to today's key, as text")
    return table
