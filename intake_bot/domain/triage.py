"""Which staff queue a request or message lands in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from intake_bot.domain.fields import RequestType

ENQUIRIES = "enquiries"
QUARANTINE = "quarantine"
UNASSIGNED = "unassigned"
INCOMPLETE = "incomplete"
VERIFICATION = "verification"

_SLUG = re.compile(r"[^a-z0-9]+")


def office_slug(name: str | None) -> str:
    """ "Midlands and East" → "midlands-and-east"; no office → "unassigned"."""
    if not name:
        return UNASSIGNED
    return _SLUG.sub("-", name.lower()).strip("-") or UNASSIGNED


def queue_for(dscro: str | None, request_type: RequestType | None, complete: bool) -> str:
    """Regional office × kind: "north/new", "london/end", "south/incomplete"."""
    kind = request_type.value if (complete and request_type) else INCOMPLETE
    return f"{office_slug(dscro)}/{kind}"


def verification_queue(dscro: str | None) -> str:
    return f"{office_slug(dscro)}/{VERIFICATION}"


REFERENCE_PREFIX = "LR-"
_REF = re.compile(r"\bLR-?(\d{1,9})\b", re.IGNORECASE)


def request_reference(request_id: int) -> str:
    return f"{REFERENCE_PREFIX}{request_id:06d}"


def parse_request_reference(text: str) -> int | None:
    """The request id named by "LR-000123" (also "lr123"), or None."""
    match = _REF.search(text)
    return int(match.group(1)) if match else None


def references_in(text: str) -> list[int]:
    return [int(m.group(1)) for m in _REF.finditer(text)]


MESSAGE_PREFIX = "MSG-"
_MSG = re.compile(r"^\s*(?:MSG-?)?(\d{1,12})\s*$", re.IGNORECASE)


def message_reference(inbound_id: int) -> str:
    """How staff name an archived email that holds no request: MSG-12."""
    return f"{MESSAGE_PREFIX}{inbound_id}"


def parse_message_reference(text: str) -> int | None:
    """The message id named by "MSG-12", "msg-12", "msg12" or "12", else None."""
    match = _MSG.match(text)
    return int(match.group(1)) if match else None


# -- queue names as staff type them ------------------------------------------------------------

# Every kind an office's queue can hold, in the order staff read them.
KINDS: tuple[str, ...] = (*(t.value for t in RequestType), INCOMPLETE, VERIFICATION)
SHARED_QUEUES: tuple[str, ...] = (ENQUIRIES, QUARANTINE)


@dataclass(frozen=True)
class Office:
    """A regional office as queue names know it: its name and the other names staff use."""

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return office_slug(self.name)

    def is_called(self, text: str) -> bool:
        """`text` names this office: its name, an alias or its queue prefix, in any case."""
        wanted = text.strip().casefold()
        names = (self.name, *self.aliases, self.slug)
        return wanted in {n.casefold() for n in names} or office_slug(text) in {
            office_slug(n) for n in names
        }


def known_queues(offices: Sequence[Office], in_use: Iterable[str] = ()) -> list[str]:
    """Every queue name there can be (each office by each kind, the shared queues), and any
    other queue that holds something now (e.g. an office no longer configured)."""
    slugs = [o.slug for o in offices] + [UNASSIGNED]
    names = [*SHARED_QUEUES, *(f"{slug}/{kind}" for slug in slugs for kind in KINDS)]
    return names + sorted(set(in_use) - set(names))


def resolve_queue(text: str, offices: Sequence[Office], in_use: Iterable[str] = ()) -> list[str]:
    """The queues that `text` names, as staff type it, in `known_queues` order.

    "North" is every queue of that office; "north/new", "North/New" and "m&e/change" (an alias)
    one queue; "new" that kind in every office; "enquiries" and "quarantine" themselves. An empty
    list means `text` names no queue.
    """
    known = known_queues(offices, in_use)
    wanted = text.strip().casefold().strip("/")
    if not wanted:
        return []
    exact = [q for q in known if q.casefold() == wanted]
    if exact:
        return exact
    office_part, _, kind = wanted.partition("/")
    slugs = _office_slugs(office_part, offices, known)
    if kind:
        wanted_names = {f"{slug}/{kind}" for slug in slugs}
        return [q for q in known if q.casefold() in wanted_names]
    if slugs:
        return [q for q in known if "/" in q and q.split("/", 1)[0] in slugs]
    return [q for q in known if q.casefold().endswith(f"/{wanted}")]  # a kind: "new"


def _office_slugs(text: str, offices: Sequence[Office], known: Sequence[str]) -> set[str]:
    """The queue prefixes of the offices `text` names (configured, unassigned, or in use)."""
    found = {o.slug for o in offices if o.is_called(text)}
    slug = office_slug(text)
    if text == UNASSIGNED or any(q.startswith(f"{slug}/") for q in known):
        found.add(slug)
    return found
