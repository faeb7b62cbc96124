"""A zip of ODS files, as ODS's download pages publish them (eccg.zip holds eccg.csv): each
member read as the file itself would be, within bounds, so that a zip bomb is refused rather
than unpacked."""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Callable
from pathlib import PurePosixPath

from intake_bot.domain.organisations import OdsError, OdsFile
from intake_bot.domain.printable import clean_line
from intake_bot.forms.inflate import read_capped

MAX_MEMBERS = 50  # ODS's zips hold one report each; a bundle of them is a few
MEMBER_SUFFIXES = (".csv", ".json", ".xlsx")
ReadOne = Callable[[str, bytes], OdsFile]
# What zipfile and its decompressors raise for a damaged, encrypted or truncated member.
UNPACKING_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    NotImplementedError,  # a compression method zipfile does not know
    EOFError,  # declared longer than the zip holds
    RuntimeError,  # an encrypted member
    zlib.error,
    lzma.LZMAError,
)


def read_zip(name: str, data: bytes, read_one: ReadOne, max_bytes: int) -> OdsFile:
    """Every .csv, .json and .xlsx in the zip, read by `read_one` as "<zip>/<member>" and
    joined as one file; at most `max_bytes` unpacked in all."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        listed = [i for i in archive.infolist() if not i.is_dir() and not _hidden(i.filename)]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OdsError(f"{name}: a damaged zip ({exc})") from None
    inner = next((i.filename for i in listed if i.filename.lower().endswith(".zip")), None)
    if inner is not None:  # its reports would go unread: the operator unpacks it
        shown = clean_line(inner)[:120]
        raise OdsError(f"{name}: a zip inside a zip ({shown}): unzip it and import what it holds")
    members = [i for i in listed if _wanted(i.filename)]
    if not members:
        raise OdsError(f"{name}: a zip with no .csv, .json or .xlsx file in it")
    if len(members) > MAX_MEMBERS:
        raise OdsError(f"{name}: more than {MAX_MEMBERS} files in the zip")
    files: list[OdsFile] = []
    left = max_bytes
    for info in members:
        where = f"{name}/{clean_line(info.filename)[:120]}"  # printed to a terminal
        try:
            content = read_capped(archive, info.filename, left)
        except UNPACKING_ERRORS as exc:
            why = clean_line(str(exc))[:200] or "it ends before its declared size"
            raise OdsError(f"{where}: cannot be unpacked ({why})") from None
        if content is None:
            raise OdsError(f"{name}: unpacks to more than {max_bytes:,} bytes")
        left -= len(content)
        files.append(read_one(where, content))
    return joined(name, files)


def joined(name: str, files: list[OdsFile]) -> OdsFile:
    """Several files read from one (a zip, an API response of several reports) as one."""
    if len(files) == 1:
        return files[0]
    return OdsFile(
        name,
        " + ".join(dict.fromkeys(f.format for f in files)),
        tuple(o for f in files for o in f.organisations),
        tuple(s for f in files for s in f.successions),
        tuple(line for f in files for line in f.left_out),
    )


def _hidden(member: str) -> bool:
    return any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(member).parts)


def _wanted(member: str) -> bool:
    return PurePosixPath(member).suffix.lower() in MEMBER_SUFFIXES
