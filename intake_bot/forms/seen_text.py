"""What a reader saw in a file, checked for NHS numbers as it goes (DESIGN invariant 7).

The form's fields are checked after reading, but patient data can sit anywhere else in a file:
a paragraph of a Word document, a cell outside the form, another sheet, a text attachment.
Readers hand every piece of text they pass over to `SeenText.add`; the text is checked in
chunks and then dropped, so only the verdict is kept (never the number, never the text).
"""

from __future__ import annotations

from intake_bot.domain.patient_data import MAX_SCANNED_CHARS, holds_nhs_number
from intake_bot.nhs_number import nhs_number_valid

_CHUNK_CHARS = 64 * 1024  # checked a chunk at a time: one regex pass, not one per cell


class SeenText:
    """The text one reader saw, up to `cap` characters; `found()` says whether it held an NHS
    number. Pieces are kept apart by a line break, so digits never join across two of them."""

    def __init__(self, cap: int = MAX_SCANNED_CHARS) -> None:
        self._room = cap
        self._pending: list[str] = []
        self._pending_chars = 0
        self._found = False

    def add(self, text: object) -> None:
        """One piece of text (a paragraph, a cell's value, a shared string)."""
        if self._found or self._room <= 0 or text is None:
            return
        piece = text if isinstance(text, str) else str(text)
        if not piece:
            return
        piece = piece[: self._room]
        self._room -= len(piece)
        self._pending.append(piece)
        self._pending_chars += len(piece)
        if self._pending_chars >= _CHUNK_CHARS:
            self._check()

    def found(self) -> bool:
        """Whether anything seen so far passes the NHS number check."""
        self._check()
        return self._found

    def _check(self) -> None:
        if self._pending and not self._found:
            self._found = holds_nhs_number("\n".join(self._pending), nhs_number_valid)
        self._pending.clear()
        self._pending_chars = 0
