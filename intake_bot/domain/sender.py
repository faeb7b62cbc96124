"""Sender policy: what our own mail server said about a message's authenticity (RFC 8601)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.IGNORECASE)


def authentication_results(headers: Sequence[str], authserv_id: str) -> dict[str, str]:
    """Method → result ("dmarc" → "pass") from the headers stamped by `authserv_id` only.

    Any sender can write an Authentication-Results header; only those our own receiving
    server added (named by its authserv-id) are believed. The first verdict per method wins.
    """
    wanted = authserv_id.strip().lower()
    results: dict[str, str] = {}
    if not wanted:
        return results
    for header in headers:
        serv, _, rest = header.partition(";")
        if serv.strip().split()[:1] != [wanted]:
            continue
        for method, result in _RESULT.findall(rest):
            results.setdefault(method.lower(), result.lower())
    return results


def dmarc_concern(headers: Sequence[str], authserv_id: str) -> str | None:
    """A sentence for staff when DMARC did not pass at our server, else None."""
    if not authserv_id:
        return None
    verdict = authentication_results(headers, authserv_id).get("dmarc", "none")
    if verdict == "pass":
        return None
    return f"DMARC did not pass at {authserv_id} ({verdict}): check the sender before acting"
