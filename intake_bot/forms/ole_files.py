"""OLE2 compound files: legacy Office (.doc, .xls), password-protected new Office, Outlook .msg.

None of them is read; what matters is telling the sender why: an old format, a password, or
a file that is not a form at all.
"""

from __future__ import annotations

import io
import logging
import struct

import olefile  # type: ignore[import-untyped]

from intake_bot.forms.readings import FileReading
from intake_bot.forms.rejections import Refusal, corrupt, reject
from intake_bot.forms.sniff import App

log = logging.getLogger(__name__)

_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_BIFF_FILEPASS, _BIFF_EOF = 0x002F, 0x000A
_WORD_ENCRYPTED_FLAG = 0x0100  # FIB fEncrypted


def read_ole(filename: str, data: bytes, claimed: App | None) -> FileReading:
    """Why a compound file is refused; `claimed` is the program its name or type points to."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # a damaged compound file: judge by the name and a tell-tale stream
        log.info("unreadable compound file: %s", type(exc).__name__)
        if _ENCRYPTED_PACKAGE in data:
            return reject(filename, Refusal.ENCRYPTED)
        if claimed is not None:
            return reject(filename, Refusal.LEGACY, claimed)
        return corrupt(filename, claimed)
    with ole:
        return _judge(filename, ole, claimed)


def _judge(filename: str, ole: olefile.OleFileIO, claimed: App | None) -> FileReading:
    streams = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    if {"encryptioninfo", "encryptedpackage"} & streams:
        return reject(filename, Refusal.ENCRYPTED)
    app: App | None = claimed
    encrypted = False
    if "worddocument" in streams:
        app, encrypted = "Word", _word_encrypted(ole.openstream("WordDocument").read(12))
    elif "workbook" in streams or "book" in streams:
        stream = "Workbook" if "workbook" in streams else "Book"
        app, encrypted = "Excel", _biff_encrypted(ole.openstream(stream).read(8192))
    elif any(name.startswith("__substg1.0_") for name in streams):
        return reject(filename, Refusal.EMAIL)
    elif "powerpoint document" in streams:
        return reject(filename, Refusal.POWERPOINT)
    if app is None:
        return reject(filename, Refusal.OTHER)
    return reject(filename, Refusal.ENCRYPTED_LEGACY if encrypted else Refusal.LEGACY, app)


def _word_encrypted(fib: bytes) -> bool:
    return len(fib) >= 12 and bool(struct.unpack_from("<H", fib, 10)[0] & _WORD_ENCRYPTED_FLAG)


def _biff_encrypted(stream: bytes) -> bool:
    """Whether the workbook's first records include FILEPASS (it follows the first BOF)."""
    offset = 0
    for _ in range(64):
        if offset + 4 > len(stream):
            return False
        record, size = struct.unpack_from("<HH", stream, offset)
        if record == _BIFF_FILEPASS:
            return True
        if record == _BIFF_EOF:
            return False
        offset += 4 + size
    return False
