"""Sender policy: what our own mail server said about a message's authenticity (RFC 8601),
and the one canonical form of an address that rate limits are kept on."""

from __future__ import annotations

import re
from collections.abc import Sequence

_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"\bheader\.from\s*=\s*\"?([^\s;\"()]+)", re.IGNORECASE)
# Mailboxes that ignore dots in the local part and read "googlemail.com" as "gmail.com".
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def _methods(rest: str) -> list[tuple[str, str, str]]:
    """(method, result, the text of its resinfo up to the next method) of one header."""
    found = list(_RESULT.finditer(rest))
    return [
        (m.group(1).lower(), m.group(2).lower(), rest[m.end() : nxt.start() if nxt else None])
        for m, nxt in zip(found, [*found[1:], None], strict=True)
    ]


def _ours(headers: Sequence[str], authserv_id: str) -> list[str]:
    wanted = authserv_id.strip().lower()
    if not wanted:
        return []
    stamped = []
    for header in headers:
        serv, _, rest = header.partition(";")
        if serv.strip().split()[:1] == [wanted]:
            stamped.append(rest)
    return stamped


def authentication_results(headers: Sequence[str], authserv_id: str) -> dict[str, str]:
    """Method → result ("dmarc" → "pass") from the headers stamped by `authserv_id` only.

    Any sender can write an Authentication-Results header; only those our own receiving
    server added (named by its authserv-id) are believed. The first verdict per method wins.
    """
    results: dict[str, str] = {}
    for rest in _ours(headers, authserv_id):
        for method, result, _ in _methods(rest):
            results.setdefault(method, result)
    return results


def dmarc_verdict(headers: Sequence[str], authserv_id: str, from_domain: str) -> str:
    """Our server's DMARC verdict on the From domain the bot uses ("none" if it gave none).

    A pass counts only when its `header.from` names that domain: a pass for the domain of
    another address (a second From, a display name) says nothing about this one.
    """
    wanted = from_domain.strip().lower().rstrip(".")
    for rest in _ours(headers, authserv_id):
        for method, result, info in _methods(rest):
            if method != "dmarc":
                continue
            named = _HEADER_FROM.search(info)
            domain = named.group(1).lower().rstrip(".") if named else ""
            if result == "pass" and domain != wanted:
                return f"pass for {domain or 'no domain'}, not {wanted or 'the sender'}"
            return result
    return "none"


def dmarc_concern(headers: Sequence[str], authserv_id: str, from_domain: str) -> str | None:
    """A sentence for staff when DMARC did not pass at our server for `from_domain`, else None."""
    if not authserv_id:
        return None
    verdict = dmarc_verdict(headers, authserv_id, from_domain)
    if verdict == "pass":
        return None
    return f"DMARC did not pass at {authserv_id} ({verdict}): check the sender before acting"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def canonical_address(address: str) -> str:
    """One spelling per mailbox, for counting what was sent to it: lower case, no "+tag", and for
    Gmail no dots in the local part and gmail.com for googlemail.com."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "") or local
    return f"{local}@{domain}"
