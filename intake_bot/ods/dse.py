"""A response of ODS Data Search and Export's report API saved as it came: a JSON object of
report name and that report as CSV text ({"eccg": "...", "etr": "..."}), each report the same
as its CSV download."""

from __future__ import annotations

import re

MAX_REPORTS = 50  # as many as a zip of reports may hold
_REPORT_NAME = re.compile(r"[a-z][a-z0-9]{1,19}")  # eccg, etr, succ, eauth...


def reports_in(document: object) -> list[tuple[str, str]] | None:
    """(report name, its CSV text) for each report of such a response; None for any other JSON
    (FHIR's resources name their `resourceType`; a report's name is a short lower-case word)."""
    if not isinstance(document, dict) or not document or len(document) > MAX_REPORTS:
        return None
    found = []
    for key, value in document.items():
        if not (isinstance(value, str) and _REPORT_NAME.fullmatch(key)):
            return None
        found.append((key, value))
    return found
