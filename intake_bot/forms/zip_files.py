"""Zip files: new Office packages (read as Word or Excel forms), OpenDocument, plain archives.

Zip bombs are refused before anything is unpacked, from the sizes the archive declares; the
readers then read each part within the same limit.
"""

from __future__ import annotations

import io
import zipfile

from intake_bot.forms.docx import read_docx_archive
from intake_bot.forms.ooxml import (
    CONTENT_TYPES_PART,
    DEFAULT_PART,
    MAX_PART_BYTES,
    WORD_MAIN_TYPES,
    content_types,
)
from intake_bot.forms.readings import FileReading
from intake_bot.forms.rejections import Refusal, corrupt, found, reject
from intake_bot.forms.sniff import App
from intake_bot.forms.xlsx import read_xlsx

MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # all parts of an Office file together, uncompressed
MAX_ZIP_ENTRIES = 5000


def read_zip(filename: str, data: bytes, claimed: App | None) -> FileReading:
    """The forms in a zip file, or why it is refused; `claimed` as the name or type says."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        problem = _archive_problem(filename, infos)
        if problem is not None:
            return problem
        names = {info.filename for info in infos}
        if CONTENT_TYPES_PART not in names:
            return _read_other_zip(filename, archive, names, claimed)
        types = content_types(archive)
        if any("sheet.binary" in t for t in types.values()):
            return reject(filename, Refusal.XLSB)
        if _has_macros(types, names):
            return reject(filename, Refusal.MACRO, _app_of_types(types) or claimed or "Word")
        return _read_package(filename, data, archive, types, claimed)


def _archive_problem(filename: str, infos: list[zipfile.ZipInfo]) -> FileReading | None:
    """Refuse zip bombs before unpacking anything, and zip-level passwords."""
    total = sum(info.file_size for info in infos)
    too_big = any(info.file_size > MAX_PART_BYTES for info in infos)
    if len(infos) > MAX_ZIP_ENTRIES or total > MAX_UNPACKED_BYTES or too_big:
        return reject(filename, Refusal.UNPACKED_TOO_LARGE)
    if any(info.flag_bits & 0x1 for info in infos):
        return reject(filename, Refusal.ENCRYPTED)
    return None


def _has_macros(types: dict[str, str], names: set[str]) -> bool:
    return any("macroenabled" in t or "vbaproject" in t for t in types.values()) or any(
        name.lower().endswith("vbaproject.bin") for name in names
    )


def _app_of_types(types: dict[str, str]) -> App | None:
    values = " ".join(types.values())
    if "wordprocessingml" in values or "ms-word" in values:
        return "Word"
    if "spreadsheetml" in values or "ms-excel" in values:
        return "Excel"
    return None


def _read_package(
    filename: str,
    data: bytes,
    archive: zipfile.ZipFile,
    types: dict[str, str],
    claimed: App | None,
) -> FileReading:
    """An Office Open XML package without macros: a Word or an Excel form, or something else."""
    if not WORD_MAIN_TYPES.isdisjoint(types.values()):
        return found(filename, read_docx_archive(archive, filename))
    if any("spreadsheetml" in t for t in types.values()):
        return found(filename, read_xlsx(data, filename))
    if any("presentationml" in t for t in types.values()):
        return reject(filename, Refusal.POWERPOINT)
    names = set(archive.namelist())
    if DEFAULT_PART in names:
        return found(filename, read_docx_archive(archive, filename, DEFAULT_PART))
    if "xl/workbook.xml" in names:
        return found(filename, read_xlsx(data, filename))
    if claimed is not None:
        return corrupt(filename, claimed)
    return reject(filename, Refusal.OTHER)


def _read_other_zip(
    filename: str, archive: zipfile.ZipFile, names: set[str], claimed: App | None
) -> FileReading:
    small = "mimetype" in names and archive.getinfo("mimetype").file_size < 200
    if small and b"opendocument" in archive.read("mimetype"):
        return reject(filename, Refusal.OPENDOCUMENT)
    if claimed is not None:
        return corrupt(filename, claimed)
    return reject(filename, Refusal.ZIP)
