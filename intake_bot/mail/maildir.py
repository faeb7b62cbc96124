"""A Maildir as a mailbox: for the embedded default, demos and tests.

A message waiting in `new/` is a candidate; anything in `cur/` has been noticed already, by us or
by a person's mail client. Moves are renames within one file system, so they are atomic and keep the
file name (the key) and its flags.
"""

from __future__ import annotations

import logging
import mailbox
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from intake_bot.mail._headers import decode_subject
from intake_bot.ports import Candidate, Changes, MailboxError, MessageRef, Settlement

log = logging.getLogger(__name__)

HEADER_LIMIT = 256 * 1024  # more header than this is not a request form; the subject is in there
_INFO = ":"  # Maildir separates the unique name from the flags ("info") with a colon


class MaildirMailbox:
    """A Maildir (Maildir++ sub-folders) implementing `ports.MailSource`.

    A message's key is its unique file name (without the flags); the state is in the folders, so
    there is no cursor.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        processed_folder: str | None = "Processed",
        quarantine_folder: str = "Quarantine",
        name: str | None = None,
    ) -> None:
        """Opens (creating if need be) the Maildir at `path`; folders are created on first use.

        `name` (the mailbox's name in the settings) defaults to "maildir:" and the path.
        """
        self._root = Path(path).absolute()
        self.name = name or f"maildir:{self._root}"
        try:
            self._maildir = _open_maildir(self._root)
        except OSError as exc:
            raise MailboxError(f"cannot open the Maildir {self._root}: {exc}") from exc
        self._processed_folder = processed_folder or None
        self._quarantine_folder = quarantine_folder

    def changes(self, cursor: str | None) -> Changes:
        """Every message in `new/` (what was settled left it); no cursor is needed."""
        candidates: list[Candidate] = []
        with self._guard("scan"):
            for entry in sorted(_messages_in(self._root / "new"), key=lambda e: e.name):
                candidate = self._candidate(entry)
                if candidate is not None:
                    candidates.append(candidate)
        return Changes(candidates=candidates, cursor=None)

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        """The bytes of each message still in this folder, in the order asked."""
        for ref in refs:
            with self._guard("fetch"):
                raw = self._read(self._key(ref))
            if raw is not None:
                yield ref, raw

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        """Filed: into the processed sub-folder with their flags (or just out of `new/` if none).
        Quarantined: into the quarantine sub-folder. Not ours: from `new/` to `cur/`, no flag
        added: not looked at again, still unread for people.
        """
        folder = {
            Settlement.FILED: self._processed_folder,
            Settlement.QUARANTINED: self._quarantine_folder,
            Settlement.NOT_OURS: None,
        }[outcome]
        for ref in refs:
            if folder is None:
                self._leave(ref)
            else:
                self._move_to_folder(ref, folder)

    push = False  # nothing tells news: polled on its interval

    def wait(self, timeout: float) -> bool:
        """No push: poll on the interval."""
        return False

    def close(self) -> None:
        """Nothing is held open."""
        self._maildir.close()

    # -- helpers ------------------------------------------------------------------------------

    def _leave(self, ref: MessageRef) -> None:
        key = self._key(ref)
        with self._guard("leave"):
            source = _find(self._root / "new", key)
            if source is None:
                return  # already noticed, or gone
            name = source.name if _INFO in source.name else f"{source.name}{_INFO}2,"
            _rename(source, self._root / "cur" / name)

    def _guard(self, action: str) -> AbstractContextManager[None]:
        return _guarded(action)

    def _key(self, ref: MessageRef) -> str:
        key = ref.key
        if ref.mailbox != self.name:
            raise ValueError(f"{ref!r} does not belong to {self.name}")
        if not key or key.startswith(".") or any(c in key for c in ("/", "\\", "\0", _INFO)):
            raise ValueError(f"not a Maildir key: {key!r}")
        return key

    def _candidate(self, entry: os.DirEntry[str]) -> Candidate | None:
        try:
            header = _read_header(Path(entry.path))
            size = entry.stat().st_size
        except FileNotFoundError:
            return None  # moved by someone else since the listing
        key = entry.name.split(_INFO, 1)[0]
        ref = MessageRef(self.name, key)
        return Candidate(ref=ref, subject=decode_subject(header), size=size)

    def _read(self, key: str) -> bytes | None:
        for _ in range(2):  # a person's client may move it from new/ to cur/ meanwhile
            path = self._locate(key)
            if path is None:
                return None
            raw = _read_or_none(path)
            if raw is not None:
                return raw
        return None

    def _locate(self, key: str) -> Path | None:
        return _find(self._root / "new", key) or _find(self._root / "cur", key)

    def _move_to_folder(self, ref: MessageRef, folder: str) -> None:
        key = self._key(ref)
        with self._guard(f"move to {folder}"):
            target = self._folder_root(folder)
            for _ in range(2):  # a person's client may move it from new/ to cur/ meanwhile
                source = self._locate(key)
                if source is None:
                    return  # already moved: idempotent
                if _rename(source, target / source.parent.name / source.name):
                    return

    def _folder_root(self, folder: str) -> Path:
        if not folder or folder.startswith(".") or "/" in folder:
            raise ValueError(f"not a Maildir folder name: {folder!r}")
        root = self._root / f".{folder}"
        if not (root / "cur").is_dir():
            self._maildir.add_folder(folder)
        return root


@contextmanager
def _guarded(what: str) -> Iterator[None]:
    """Turn file-system errors into MailboxError (a vanished file is handled by the caller)."""
    try:
        yield
    except OSError as exc:
        raise MailboxError(f"{what} failed: {exc}") from exc


def deliver(path: str | os.PathLike[str], raw: bytes) -> str:
    """Put `raw` into `new/` of the Maildir at `path` (created if need be); returns its key."""
    return _open_maildir(Path(path)).add(raw)


def _open_maildir(root: Path) -> mailbox.Maildir:
    # The stdlib creates tmp/, new/ and cur/ only when the folder itself does not exist yet.
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(root, factory=None, create=True)


def _messages_in(folder: Path) -> Iterator[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.startswith(".") and entry.is_file():
                yield entry


def _find(folder: Path, key: str) -> Path | None:
    """The file for `key` in `folder`: named by the key, maybe followed by ':' and flags."""
    exact = folder / key
    if exact.is_file():
        return exact
    prefix = key + _INFO
    for entry in _messages_in(folder):
        if entry.name.startswith(prefix):
            return Path(entry.path)
    return None


def _rename(source: Path, target: Path) -> bool:
    """Atomic move; False if the source vanished first."""
    try:
        source.replace(target)
    except FileNotFoundError:
        if not source.parent.is_dir() or not target.parent.is_dir():
            raise
        return False
    return True


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _read_header(path: Path) -> bytes:
    """The header block: up to the first empty line, at most HEADER_LIMIT bytes."""
    lines: list[bytes] = []
    size = 0
    with path.open("rb") as fh:
        while size < HEADER_LIMIT:
            line = fh.readline(HEADER_LIMIT - size)
            if line in (b"", b"\n", b"\r\n"):
                break
            lines.append(line)
            size += len(line)
    return b"".join(lines) + b"\r\n"
