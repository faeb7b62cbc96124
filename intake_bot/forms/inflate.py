"""A zip file whose parts are inflated in small steps, counted as they come out.

The sizes a zip file declares are the attacker's to choose, and `ZipFile.read` inflates a whole
compressed part in one call before it compares: a 1 MB part declared as 4 kB can take a
gigabyte first. Every part opened here (by our readers, and by openpyxl's, which open parts
through the same archive) is read in steps of at most `CHUNK` bytes; each step is counted
against the part's limit and the file's, and checks the time budget.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO, Any, Literal, cast

from intake_bot.forms.limits import Budget, TooLargeError, megabytes

CHUNK = 64 * 1024


class BoundedZip(zipfile.ZipFile):
    """A zip file read from memory under a `Budget`."""

    def __init__(self, data: bytes, budget: Budget) -> None:
        super().__init__(io.BytesIO(data))
        self.budget = budget

    def open(
        self,
        name: str | zipfile.ZipInfo,
        mode: Literal["r", "w"] = "r",
        pwd: bytes | None = None,
        *,
        force_zip64: bool = False,
    ) -> IO[bytes]:
        stream = super().open(name, mode, pwd, force_zip64=force_zip64)
        if mode != "r":
            return stream
        part = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return cast(IO[bytes], BoundedPart(stream, self.budget, part))


class BoundedPart(io.RawIOBase):
    """One part's bytes, never more than the part limit, inflated a chunk at a time."""

    def __init__(self, stream: IO[bytes], budget: Budget, name: str) -> None:
        super().__init__()
        self._stream = stream
        self._budget = budget
        self._name = name
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._take(min(len(buffer), CHUNK))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._take(min(size, CHUNK) if size else 0)
        chunks = []
        while chunk := self._take(CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        self._stream.close()
        super().close()

    def _take(self, size: int) -> bytes:
        self._budget.check_time()
        data = self._stream.read(size)
        self._count += len(data)
        limit = self._budget.limits.part_bytes
        if self._count > limit:
            raise TooLargeError(
                f"has a part ({self._name}) that unpacks to more than {megabytes(limit)}"
            )
        self._budget.inflate(len(data))
        return data


def read_capped(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """A part's bytes, or None when it inflates to more than `limit` (counted, not declared)."""
    with archive.open(name) as stream:
        data = stream.read(limit + 1)
        while len(data) <= limit and (more := stream.read(limit + 1 - len(data))):
            data += more
    return data if len(data) <= limit else None
