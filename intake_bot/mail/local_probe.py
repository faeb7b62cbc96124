"""`intake-bot check` for what lives on this machine: a Maildir mailbox and the file outbox.
Creates nothing that stays: whether a folder can be written is found by writing a file into it
(Maildir's tmp/, where readers never look) and removing it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from intake_bot.domain.connectivity import Finding
from intake_bot.domain.subject import subject_matches
from intake_bot.mail._headers import decode_subject
from intake_bot.mail.maildir import HEADER_LIMIT


@dataclass(frozen=True)
class MaildirCheck:
    subject: str
    setting: str  # "mailbox.url"
    path: Path
    processed_folder: str | None
    quarantine_folder: str
    watched_subject: str


def probe_maildir(check: MaildirCheck) -> Iterator[Finding]:
    """The folder (there, and writable), its sub-folders, and the messages waiting in new/."""
    root = check.path.absolute()
    if not root.exists():
        yield _not_there_yet(check.subject, "folder", root, check.setting, "the first poll")
        return
    if not root.is_dir():
        fix = f"name a folder in {check.setting}"
        yield Finding(check.subject, "folder", False, f"{root} is a file, not a folder", fix)
        return
    lacking = [sub for sub in ("new", "cur", "tmp") if not (root / sub).is_dir()]
    detail = f"{root} exists"
    if lacking:
        detail += f" (without {', '.join(lacking)}/, which the first poll makes)"
    yield Finding(check.subject, "folder", True, detail)
    scratch = root / "tmp" if (root / "tmp").is_dir() else root
    yield _writable(check.subject, "writable", scratch, check.setting)
    roles = [("processed", check.processed_folder), ("quarantine", check.quarantine_folder)]
    for role, name in roles:
        if not name:
            yield Finding(check.subject, role, True, "none set: filed messages go to cur/")
        elif (root / f".{name}" / "cur").is_dir():
            yield Finding(check.subject, role, True, f"{name} exists")
        else:
            yield Finding(
                check.subject, role, True, f"{name} does not exist yet: made on first use"
            )
    yield _waiting(check, root / "new")


def probe_file_outbox(subject: str, setting: str, path: Path) -> Iterator[Finding]:
    """The folder replies are written to: writable, or made on the first send."""
    root = path.absolute()
    if not root.exists():
        yield _not_there_yet(subject, "outbox", root, setting, "the first send")
    elif not root.is_dir():
        yield Finding(subject, "outbox", False, f"{root} is a file, not a folder", f"fix {setting}")
    else:
        yield _writable(subject, "outbox", root, setting)


def _not_there_yet(subject: str, step: str, root: Path, setting: str, when: str) -> Finding:
    """A folder that is not there: fine if it can be made (and `when` will make it)."""
    parent = next((p for p in root.parents if p.exists()), None)
    if parent is not None and parent.is_dir() and _can_write(parent) is None:
        detail = f"{root} does not exist yet: {when} makes it"
        if step == "folder":
            detail += f" (if mail should be there already, the path in {setting} is wrong)"
        return Finding(subject, step, True, detail)
    why = f"{parent} cannot be written" if parent is not None else "no parent folder exists"
    fix = f"create {root} for the user intake-bot runs as, or correct the path in {setting}"
    return Finding(subject, step, False, f"{root} does not exist and cannot be made: {why}", fix)


def _writable(subject: str, step: str, folder: Path, setting: str) -> Finding:
    problem = _can_write(folder)
    if problem is None:
        return Finding(subject, step, True, f"{folder} is writable")
    fix = f"let the user intake-bot runs as write there, or correct the path in {setting}"
    return Finding(subject, step, False, f"cannot write in {folder}: {problem}", fix)


def _can_write(folder: Path) -> str | None:
    """None if a file can be made in `folder` (it is removed at once), else why not."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".intake-bot-check-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _waiting(check: MaildirCheck, new: Path) -> Finding:
    if not new.is_dir():
        return Finding(check.subject, "messages", True, "none: there is no new/ yet")
    total = matching = 0
    with os.scandir(new) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            total += 1
            try:
                subject = decode_subject(_header(Path(entry.path)))
            except FileNotFoundError:  # taken by a poll meanwhile
                continue
            matching += subject_matches(subject, check.watched_subject)
    detail = f"{total} waiting in new/, {matching} of them with the watched subject"
    return Finding(check.subject, "messages", True, detail)


def _header(path: Path) -> bytes:
    """The header block, as far as the first empty line (at most HEADER_LIMIT bytes)."""
    with path.open("rb") as fh:
        head = fh.read(HEADER_LIMIT)
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=-1)
    return head[: end + 2] if end >= 0 else head
