"""What a poll does with a reply to one of our requests, said for `intake-bot parse`: the rules
of services/replies.py (who may change a request, and when), judged and nothing written.

Accepted: the reply's form is applied to its request (from a party to it, while it is being
corrected) and every form in it is complete; or it holds no form and nothing in it was meant
as one (correspondence, threaded onto the request). Rejected: a form that is not applied, or
not complete, or a file meant as a form that cannot be read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intake_bot.domain.records import Organisation, Request
from intake_bot.services.replies import CORRECTABLE


@dataclass(frozen=True)
class OrganisationContacts:
    """The registered contacts of `organisations`, as the reference repository gives them."""

    organisations: Sequence[Organisation]

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]:
        wanted = set(ods_codes)
        return {c.lower() for o in self.organisations if o.ods in wanted for c in o.contacts}


def reply_outcome(
    note: str,
    thread: Request | None,
    refused: str,
    complete: Sequence[bool],
    unread: int,
) -> tuple[bool, str]:
    """(accepted, summary) for a reply `note` ("reply to LR-000123") answering `thread`.
    `refused`: why its sender may not change the request ("" when it may); `complete`: each
    form read in it, complete or not; `unread`: its attached files that could not be read."""
    said = f"a {note}: threaded onto that request"
    files = f"{unread} attached file{'s' if unread != 1 else ''} not read"
    who = f"; from someone who may not change it ({refused})" if refused else ""
    if not complete:
        if unread:  # sent as the correction, most likely: staff are told it was not read
            return False, f"{said}{who}; no form read: {files}; staff are told"
        return True, f"{said}{who}{': staff are told' if who else ''}"
    ok = sum(complete)
    counted = f"{len(complete)} request(s): {ok} complete, {len(complete) - ok} with problems"
    if refused:
        return False, f"{said}; {counted}, none applied nor filed{who}; staff are told"
    # From a party, the first form is its request's; each further one is filed as a new request.
    more = len(complete) - 1
    filed = f"; the other {more} filed as new request{'s' if more != 1 else ''}" if more else ""
    status = thread.status if thread is not None else ""
    if status not in CORRECTABLE:
        why = f"the first not applied: the request is {status}; staff are told"
        return False, f"{said}; {counted}, {why}{filed}"
    if unread:
        filed += f"; {files}, named in the acknowledgement"
    return all(complete), f"{said}; {counted}{filed}"
