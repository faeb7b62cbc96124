"""Header values of a hostile message: decoded one at a time, each falling back to its raw text.

Also the readers of what some headers hold: addresses (From, To, Reply-To), Message-IDs (for
threading) and the Date. A From that cannot be read as exactly one address, one way only, is
named among the defects as unverified (`UNVERIFIED_FROM`, read back by `unverified_from`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.errors import InvalidHeaderDefect
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, cast

from intake_bot.forms.defects import add_defect

MAX_HEADER_CHARS = 8_000  # longer values skip the structured parser, whose cost can explode
MAX_ADDRESS_HEADER_CHARS = 100_000  # and are read leniently up to this length
MAX_REFERENCES = 100

# The defect that marks a From which proves nothing (staff read it; `unverified_from` finds it).
UNVERIFIED_FROM = "unverified sender: "

_MSG_ID = re.compile(r"<[^<>\s]+>")
_ADDRESS_LIKE = re.compile(r"[^\s<>@\"(),;:]+@[^\s<>@\"(),;:]+\.[^\s<>@\"(),;:]+")
_LINESEP = re.compile(r"\n|\r\n?")
_FOLD = re.compile(r"[ \t]*[\r\n\t][\s]*")  # line breaks, and the tabs of folded lines


class _SafeHeaderRegistry(HeaderRegistry):
    """Header objects that are always built: what the structured parser cannot read, or should
    not be given because of its length, becomes plain text (thousands of nested comments raise
    RecursionError, for one)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # The stdlib builds a new class at every look-up (a sixth of parsing an address);
        # there is one per kind of header, so each is made once.
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(kind)
        if made is None:
            made = self._classes[kind] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > MAX_HEADER_CHARS:
            return _plain_header(name, value[:MAX_HEADER_CHARS])
        try:
            return super().__call__(name, value)
        except Exception:  # the structured parser fails in many ways on hostile input
            return _plain_header(name, value)


class _PlainHeader(UnstructuredHeader, BaseHeader):  # as HeaderRegistry builds its classes
    pass


def _plain_header(name: str, value: str) -> BaseHeader:
    return cast(BaseHeader, _PlainHeader(name, value))


# The message structure is parsed with the classic policy, whose headers stay plain text: the
# modern one builds a header object at every look-up (about 30 a message, half of the parse
# time). The few headers we read are built on demand here, exactly as policy.default would.
_HEADER_FACTORY = _SafeHeaderRegistry()


class Headers:
    """Header values read one at a time, each falling back to its raw text when unparseable."""

    def __init__(self, msg: Message, defects: list[str]) -> None:
        self._defects = defects
        self._raw: dict[str, str] = {}
        self._from_headers = 0
        # Whether the structured parser found an address header malformed (absent: unread).
        self._malformed: dict[str, bool] = {}
        # Each address header is parsed once (From is read by the reader and the robot check).
        self._addresses: dict[str, list[tuple[str, str]]] = {}
        for name, value in msg.raw_items():
            lower = name.lower()
            self._raw.setdefault(lower, str(value))
            self._from_headers += lower == "from"

    @staticmethod
    def _structured(name: str, value: str) -> Any:
        """The header object policy.default would give for `value` (unfolded first, as it does)."""
        return _HEADER_FACTORY(name, "".join(_LINESEP.split(value)))

    def has(self, name: str) -> bool:
        return name.lower() in self._raw

    def raw(self, name: str) -> str | None:
        """The first value, unfolded, without decoding encoded words."""
        value = self._raw.get(name.lower())
        return None if value is None else _one_line(_undo_escapes(value))

    def text(self, name: str) -> str | None:
        """The first value with RFC 2047 encoded words decoded."""
        value = self._raw.get(name.lower())
        if value is None:
            return None
        if len(value) > MAX_HEADER_CHARS:  # _SafeHeaderRegistry cuts it
            add_defect(self._defects, f"{name} header over {MAX_HEADER_CHARS} characters: cut")
        try:
            return _one_line(_undo_escapes(str(self._structured(name, value))))
        except Exception:  # not expected with _SafeHeaderRegistry, but never fatal
            add_defect(self._defects, f"unreadable {name} header: raw text kept")
            return _one_line(_undo_escapes(value[:MAX_HEADER_CHARS]))

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(bare address lower-cased, display name) for each address in the first such header."""
        key = name.lower()
        found = self._addresses.get(key)
        if found is None:
            found = self._addresses[key] = self._read_addresses(name)
        return list(found)

    def _read_addresses(self, name: str) -> list[tuple[str, str]]:
        value = self._raw.get(name.lower())
        if value is None:
            return []
        if len(value) <= MAX_HEADER_CHARS:
            try:
                header: Any = self._structured(name, value)  # an AddressHeader
                found = [(a.addr_spec, a.display_name) for a in header.addresses]
                self._malformed[name.lower()] = any(
                    isinstance(d, InvalidHeaderDefect) for d in header.defects
                )
                return [
                    (_undo_escapes(spec).lower(), _undo_escapes(shown))
                    for spec, shown in found
                    if spec
                ]
            except Exception:  # not an address list to the structured parser (AttributeError)
                add_defect(self._defects, f"unreadable {name} header: read leniently")
        else:
            add_defect(self._defects, f"{name} header over {MAX_HEADER_CHARS} characters")
        try:
            pairs = getaddresses([_one_line(_undo_escapes(value[:MAX_ADDRESS_HEADER_CHARS]))])
        except Exception:  # e.g. RecursionError on thousands of nested comments
            add_defect(self._defects, f"unreadable {name} header: no address kept")
            return []
        return [(spec.lower(), decode_words(shown)) for shown, spec in pairs if spec]

    def first_address(self, name: str) -> tuple[str, str] | None:
        """The first (address, display name) in the first such header, if any.

        For From, a header that does not prove one sender is also named among the defects
        (`UNVERIFIED_FROM`): the address given is then only a guess, and believed for nothing.
        """
        found = self.addresses(name)
        if name.lower() == "from":
            problem = self._from_problem(found)
            if problem:
                add_defect(self._defects, UNVERIFIED_FROM + problem)
        return found[0] if found else None

    def _from_problem(self, found: list[tuple[str, str]]) -> str | None:
        """Why the From header does not name exactly one sender beyond doubt, or None."""
        value = self._raw.get("from")
        if value is None or not found:
            return "no From address"
        if self._from_headers > 1:
            return f"{self._from_headers} From headers"
        if len(found) > 1:
            return f"the From header names {len(found)} addresses"
        address, shown = found[0]
        others = {a.lower() for a in _ADDRESS_LIKE.findall(shown)} - {address}
        if others:
            return "the display name holds another address"
        if self._malformed.get("from", True):  # malformed, or too odd to be parsed at all
            return "the From header is not a well-formed address"
        return _read_two_ways(_one_line(_undo_escapes(value)), address)


def _read_two_ways(value: str, address: str) -> str | None:
    """Why a well-formed From is still ambiguous: the lenient parser (what many mail programs
    do) reads another address from it, or shows one from a comment."""
    try:
        pairs = getaddresses([value[:MAX_ADDRESS_HEADER_CHARS]])
    except Exception:  # e.g. RecursionError on thousands of nested comments
        return "the From header cannot be read"
    if {spec.lower() for _, spec in pairs} != {address}:
        return "the From header reads as different addresses to different mail programs"
    shown = " ".join(decode_words(name) for name, _ in pairs)  # comments, to this parser
    if {a.lower() for a in _ADDRESS_LIKE.findall(shown)} - {address}:
        return "a comment in the From header holds another address"
    return None


def unverified_from(defects: tuple[str, ...] | list[str]) -> str | None:
    """Why a parsed message's From proves nothing (`UNVERIFIED_FROM`), or None."""
    for defect in defects:
        if defect.startswith(UNVERIFIED_FROM):
            return defect[len(UNVERIFIED_FROM) :]
    return None


def _undo_escapes(value: str) -> str:
    """Raw header text keeps 8-bit bytes as surrogates; read them as UTF-8 (RFC 6532)."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def decode_words(value: str) -> str:
    """`value` with RFC 2047 encoded words decoded; as it is when they cannot be."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # unknown charset or broken encoded word: keep the text as it is
        return value


def _one_line(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


def first_id(value: str | None) -> str | None:
    """The first Message-ID in a header value (Message-ID, In-Reply-To), brackets kept."""
    if not value:
        return None
    match = _MSG_ID.search(value)
    return match.group(0) if match else value.strip() or None


def all_ids(value: str | None) -> tuple[str, ...]:
    """The Message-IDs in a References header, the most recent MAX_REFERENCES of them."""
    if not value:
        return ()
    ids = _MSG_ID.findall(value) or value.split()
    return tuple(ids[-MAX_REFERENCES:])  # the most recent ones matter for threading


def parse_date(value: str | None) -> datetime | None:
    """A Date header as a UTC datetime; None when missing or nonsense."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        # A date without a zone ("-0000") is taken as UTC.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except Exception:  # ValueError, OverflowError and friends on nonsense dates
        return None
