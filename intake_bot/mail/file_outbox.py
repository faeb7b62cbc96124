"""Sending into a folder, one `.eml` file a message: the embedded default (`file:PATH`)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from intake_bot.ports import SendError

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_MAX_STEM = 150


class FileTransport:
    """Writes each message, exactly as given, to `<Message-ID>.eml` (`ports.MailTransport`).

    The name comes from the Message-ID, so sending the same message again replaces the file.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        """The folder is created on the first send."""
        self._directory = Path(directory)
        self.name = f"file:{self._directory}"

    def send(self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str) -> None:
        """Write the raw bytes atomically; the envelope is not kept. Raises SendError."""
        target = self.path_for(message_id, raw)
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            _write_atomically(target, raw)
        except OSError as exc:
            raise SendError(f"{message_id}: cannot write {target}: {exc}") from exc
        log.info("wrote %s to %s for %d recipient(s)", message_id, target.name, len(recipients))

    def path_for(self, message_id: str, raw: bytes = b"") -> Path:
        """Where the message with this Message-ID is (or would be) written."""
        return self._directory / file_name(message_id, raw)

    def close(self) -> None:
        """Nothing is held open."""


def file_name(message_id: str, raw: bytes = b"") -> str:
    """A safe file name for a Message-ID; different Message-IDs never share a name.

    A Message-ID that had to be changed (or shortened) to be safe gets a hash of the original;
    without a Message-ID the name is a hash of the message.
    """
    core = message_id.strip().removeprefix("<").removesuffix(">")
    if not core:
        return f"sha256-{hashlib.sha256(raw).hexdigest()}.eml"
    stem = _UNSAFE.sub("_", core)
    if stem.startswith("."):
        stem = "_" + stem[1:]  # no hidden files, no "..".
    if stem != core or len(stem) > _MAX_STEM:
        digest = hashlib.sha256(core.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = f"{stem[:_MAX_STEM]}-{digest}"
    return f"{stem}.eml"


def _write_atomically(target: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename over: a reader never sees half a message."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; elsewhere a no-op)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
