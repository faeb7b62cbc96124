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
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from intake_bot.config_sources import ConfigError
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


def load_form_versions(folder: Path) -> FormVersions:
    """Every version described in `folder`, checked; the current version is always readable."""
    if not folder.is_dir():
        raise ConfigError(f"{SETTING}: no folder {folder}: it holds one <version>.toml a version")
    mappings: dict[str, FieldNames] = {}
    problems: list[str] = []
    files = _files(folder)
    if len(files) > MAX_FILES:
        raise ConfigError(f"{SETTING}: more than {MAX_FILES} files in {folder}")
    for path in files:
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
        if changed:
            lines.append(
                f"{path.name} gives names of today's form another field: {'; '.join(changed)}. "
                "A form that declares no version and uses them is read by whichever version "
                "finds more of its fields"
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


def not_read(folder: Path) -> list[str]:
    """For `config --check`: files in `folder` that are not read, as no <version>.toml is
    (Windows hides a "2020.1.toml.txt" as "2020.1.toml"); hidden files and folders aside."""
    try:
        others = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() != ".toml" and not p.name.startswith(".")
        )
    except OSError:
        return []
    return [
        f"{name} is not read: only <version>.toml files are (rename it if it maps a version)"
        for name in others[:10]
    ]


def same_versions(folder: Path) -> list[str]:
    """For `config --check`: files whose versions are one version spelt two ways (2016.01.toml
    beside 2016.1.toml; 2026.01.toml, the current form's): only one of them is ever used."""
    try:
        files = _files(folder)
    except OSError:
        return []
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
    # .TOML too: a file saved on Windows must not be skipped for its name's case alone
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".toml" and p.is_file())


def _data(path: Path, where: str) -> dict[str, object]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_FILE_BYTES // 1024} KB")
    try:  # -sig: Windows Notepad's "UTF-8 with BOM" is UTF-8 too, its mark invisible
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
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
