"""A response of ODS Data Search and Export's report API saved as it came: a JSON object of
report name and that report as CSV text ({"eccg": "...", "etr": "..."}), each report the same
as its CSV download."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from intake_bot.domain.organisations import OdsError
from intake_bot.domain.printable import clean_line

MAX_REPORTS = 50  # as many as a zip of reports may hold
_REPORT_NAME = re.compile(r"[a-z][a-z0-9]{1,19}")  # eccg, etr, succ, eauth...
# Names an Organization resource has: such an object is FHIR's, whatever else it lacks.
_FHIR_KEYS = frozenset({"resourceType", "id", "identifier", "name", "meta", "extension", "active"})


@dataclass(frozen=True)
class Reports:
    found: list[tuple[str, str]]  # (report name, its CSV text)
    empty: list[str]  # the reports that hold no rows, named for the output


def reports_in(name: str, document: object, text: str) -> Reports | None:
    """The reports of such a response; None for any other JSON (FHIR's resources name their
    `resourceType`; a response's values are CSV text). OdsError, naming the file and the
    report, for one that is meant as a response but is not one (`text`: the document as read,
    for a report named twice)."""
    if not isinstance(document, dict) or not document or document.keys() & _FHIR_KEYS:
        return None  # a FHIR resource, whole or missing its resourceType
    texts = [v for v in document.values() if isinstance(v, str)]
    named = all(isinstance(k, str) and _REPORT_NAME.fullmatch(k) for k in document)
    if not any("," in v or "\n" in v for v in texts) and not (
        named and len(texts) == len(document)
    ):
        return None  # neither CSV text nor reports by name: not meant as a response
    if len(document) > MAX_REPORTS:
        raise OdsError(f"{name}: a report API response of more than {MAX_REPORTS} reports")
    found, empty = [], []
    for key, value in document.items():
        shown = clean_line(str(key))[:40]
        if not _REPORT_NAME.fullmatch(str(key)):
            raise OdsError(
                f'{name}: a report API response naming a report "{shown}": expected report '
                "names as ODS gives them (eccg, etr, succ...), each with its CSV text"
            )
        if not isinstance(value, str):
            raise OdsError(f"{name} ({shown}): the report is not CSV text ({type(value).__name__})")
        if value.strip():
            found.append((key, value))
        else:
            empty.append(key)
    _named_once(name, text)
    return Reports(found, empty)


def _named_once(name: str, text: str) -> None:
    """JSON keeps the last of two values of one name: a report named twice would lose one."""
    pairs = json.loads(text, object_pairs_hook=lambda pairs: pairs)  # one object: cheap
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise OdsError(f"{name}: the report {clean_line(key)[:40]} is in it twice; keep one")
        seen.add(key)
