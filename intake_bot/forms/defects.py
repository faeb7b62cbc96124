"""The list of defects found in a message, kept for staff: each named once, and only so many."""

from __future__ import annotations

MAX_DEFECTS = 50


def add_defect(defects: list[str], defect: str) -> None:
    """Note `defect` unless it is already noted or the list is full."""
    if defect not in defects and len(defects) < MAX_DEFECTS:
        defects.append(defect)
