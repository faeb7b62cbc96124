"""Outlook's winmail.dat (TNEF) -> the files attached inside it.

tnefparse trusts the counts written in the file: a damaged or hostile stream (a count of values
far beyond the data, as in a fuzzer-found sample) makes it loop and allocate for minutes. It
therefore runs in a separate Python process with a time and memory limit, so that one bad
attachment cannot stall the poll. A plain subprocess rather than multiprocessing: "spawn"
re-imports the caller's main script in the child, and forking a threaded worker is unsafe.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import struct
import subprocess
import sys
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from intake_bot.forms.readings import Attachment

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
MAX_TNEF_BYTES = 25 * 1024 * 1024
TIME_LIMIT_SECONDS = 3.0
_CHILD_MEMORY_BYTES = 1024 * 1024 * 1024
_MAX_EMBEDDED_DEPTH = 5
_MAPI_ATTACH_MIME_TAG = 0x370E
_CHILD_CODE = "from intake_bot.forms.tnef import run_child; run_child()"
_LENGTH = struct.Struct(">I")

logger = logging.getLogger(__name__)


def is_tnef(data: bytes) -> bool:
    """Whether `data` starts like a TNEF stream."""
    return data.startswith(TNEF_SIGNATURE)


def unpack_tnef(data: bytes) -> list[Attachment]:
    """The files attached inside a TNEF stream; [] when there are none or it cannot be read.

    Never raises. Takes at most TIME_LIMIT_SECONDS.
    """
    if not is_tnef(data) or len(data) > MAX_TNEF_BYTES:
        return []
    try:
        child = subprocess.run(  # noqa: S603  (our own interpreter and code, no shell)
            [sys.executable, "-c", _CHILD_CODE],
            input=data,
            capture_output=True,
            timeout=TIME_LIMIT_SECONDS,
            env=_child_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning("TNEF attachment not unpacked: over the %.0f s limit", TIME_LIMIT_SECONDS)
        return []
    except OSError as exc:
        logger.warning("TNEF attachment not unpacked: %s", type(exc).__name__)
        return []
    if child.returncode != 0:
        logger.warning("TNEF attachment not unpacked: reader exited with %s", child.returncode)
        return []
    return decode_frames(child.stdout)


def _child_environment() -> dict[str, str]:
    # The child must import this module from wherever the caller did.
    paths = [path for path in sys.path if path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_child() -> None:
    """Entry point of the child process: TNEF on stdin, framed attachments on stdout."""
    logging.getLogger("tnefparse").disabled = True  # its complaints are not ours to log
    try:
        import resource  # POSIX only

        resource.setrlimit(resource.RLIMIT_AS, (_CHILD_MEMORY_BYTES, _CHILD_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    sys.stdout.buffer.write(encode_frames(read_attachments(sys.stdin.buffer.read())))
    sys.stdout.buffer.flush()


def read_attachments(data: bytes) -> list[Attachment]:
    """Decode a TNEF stream in this process, with no time limit: for the child only."""
    from tnefparse import TNEF  # only the child pays for the import

    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception:  # any damage: nothing usable
        return []
    return _attachments_of(tnef, depth=0)


def encode_frames(attachments: list[Attachment]) -> bytes:
    """Attachments as length-prefixed fields: name, content type, data; for each in turn."""
    out = bytearray()
    for item in attachments:
        for chunk in (_utf8(item.filename), _utf8(item.content_type), item.data):
            out += _LENGTH.pack(len(chunk)) + chunk
    return bytes(out)


def decode_frames(data: bytes) -> list[Attachment]:
    """The reverse of `encode_frames`; [] if the data is cut short."""
    chunks: list[bytes] = []
    offset = 0
    while offset + _LENGTH.size <= len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + length > len(data):
            return []
        chunks.append(data[offset : offset + length])
        offset += length
    if offset != len(data) or len(chunks) % 3:
        return []
    return [
        Attachment(name.decode(errors="replace"), kind.decode(errors="replace"), content)
        for name, kind, content in zip(chunks[::3], chunks[1::3], chunks[2::3], strict=True)
    ]


def _attachments_of(tnef: Any, depth: int) -> list[Attachment]:
    found: list[Attachment] = []
    for item in getattr(tnef, "attachments", []):
        embedded = getattr(item, "embed", None)
        if embedded is not None:
            # An attached Outlook item: what matters is what it carries.
            if depth < _MAX_EMBEDDED_DEPTH:
                found.extend(_attachments_of(embedded, depth + 1))
            continue
        content = item.data if isinstance(item.data, bytes) else b""
        if not content:
            continue
        name = _filename(item, len(found) + 1)
        found.append(Attachment(name, _content_type(item, name), content))
    return found


def _filename(item: Any, number: int) -> str:
    try:
        name = _as_text(item.long_filename()) or _as_text(item.name)
    except Exception:  # undecodable name bytes
        name = ""
    # Old Outlook versions store the sender's full path.
    name = PureWindowsPath(PurePosixPath(name).name).name.strip()
    return name or f"attachment-{number}.bin"


def _content_type(item: Any, filename: str) -> str:
    for attr in getattr(item, "mapi_attrs", []):
        if getattr(attr, "name", None) == _MAPI_ATTACH_MIME_TAG:
            try:
                tag = _as_text(attr.data).strip().lower()
            except Exception:  # an unreadable tag: guess from the name instead
                tag = ""
            if "/" in tag:
                return tag
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _as_text(value: object) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).strip("\x00 ") if value else ""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")
