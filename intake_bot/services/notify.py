"""Outgoing mail as outbox rows: rendered and given a Message-ID inside the caller's transaction.

Every email the bot writes passes `Notifier.queue`, so this is the one place where text from
senders (form fields, names, subjects, Message-IDs) is cleaned on its way out: no terminal
escape or other control character reaches an outgoing header or text part (domain/printable.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from intake_bot.domain.fields import FIELDS, REQUEST_TYPES, Kind
from intake_bot.domain.outgoing import FileToAttach, Letter, Rendered
from intake_bot.domain.printable import clean_line, clean_text, clean_value
from intake_bot.domain.records import Outbox
from intake_bot.domain.sender import canonical_address
from intake_bot.ports import Composer, Renderer, Unit


@dataclass(frozen=True)
class Letterhead:
    """Who the bot writes as."""

    from_address: str
    from_name: str
    watched_subject: str
    replies_per_sender_per_hour: int = 10
    console_url: str = ""  # the staff console (web.base_url), for links in staff emails


@dataclass(kw_only=True)
class Notifier:
    """Writes emails into the outbox. Owns the rendering and the automatic-reply rate limit."""

    renderer: Renderer
    letterhead: Letterhead
    composer: Composer
    blank_forms: Callable[[], Sequence[FileToAttach]] = field(default=lambda: ())

    def base_context(self, sender_name: str) -> dict[str, Any]:
        lh = self.letterhead
        return {
            "team": lh.from_name,
            "reply_address": lh.from_address,
            "watched_subject": lh.watched_subject,
            "sender_name": sender_name or "colleague",
            "console": lh.console_url.rstrip("/"),
        }

    def blank_form(self, suffix: str) -> bytes:
        """The blank request form as a "docx" or "xlsx" file: the one the how-to reply attaches."""
        for item in self.blank_forms():
            if item.filename.lower().endswith("." + suffix.lower()):
                return item.data
        raise ValueError(f"no blank form in the format {suffix!r}")

    def may_auto_reply(
        self, unit: Unit, recipient: str, now: datetime, inbound_id: int | None = None
    ) -> bool:
        """Automatic replies to at most N emails a mailbox an hour, however its address is spelt
        (case, dots and "+tags", googlemail.com): a loop with another robot stops here. The
        replies to one email (`inbound_id`: one per request of a bulk sheet) count as one, so
        that every request of an email is acknowledged or none is."""
        limit = self.letterhead.replies_per_sender_per_hour
        since = now - timedelta(hours=1)
        address = canonical_address(recipient)
        return unit.outbox.emails_answered_since(address, since, besides=inbound_id) < limit

    def queue(
        self,
        unit: Unit,
        *,
        kind: str,
        to: Sequence[str],
        context: Mapping[str, Any],
        now: datetime,
        in_reply_to: str | None = None,
        references: Sequence[str] = (),
        attach_blank_forms: bool = False,
        request_id: int | None = None,
        inbound_id: int | None = None,
        auto_submitted: str = "auto-replied",
    ) -> Outbox:
        """Render `kind` with `context` and add the email to the outbox, due now.

        Text from senders is cleaned of control characters first and the result once more,
        whatever the template did with it.
        """
        to = [address for address in (clean_line(t) for t in to) if address]
        rendered = self.renderer.render(kind, clean_value(dict(context)))
        letter = Letter(
            Rendered(
                clean_line(rendered.subject), clean_text(rendered.text), clean_text(rendered.html)
            ),
            sender=self.letterhead.from_address,
            sender_name=self.letterhead.from_name,
            to=tuple(to),
            now=now,
            in_reply_to=safe_message_id(in_reply_to),
            references=tuple(i for i in map(safe_message_id, references) if i),
            attachments=self.blank_forms() if attach_blank_forms else (),
            auto_submitted=auto_submitted,
        )
        composed = self.composer.compose(letter)
        return unit.add(
            Outbox(
                message_id=composed.message_id,
                kind=kind,
                request_id=request_id,
                inbound_id=inbound_id,
                sender=self.letterhead.from_address,
                recipients=list(to),
                first_recipient=canonical_address(to[0]) if to else "",  # the rate limit's key
                subject=composed.subject,
                raw=composed.raw,
                next_attempt_at=now,
                created_at=now,
            )
        )


_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,900}>")  # printable ASCII without < and >, bracketed


def safe_message_id(value: str | None) -> str | None:
    """A Message-ID fit to go into our In-Reply-To/References header, or None."""
    if value and _MESSAGE_ID.fullmatch(value.strip()):
        return value.strip()
    return None


_CHOICE_LABELS = {c.value: c.label for c in REQUEST_TYPES}


def type_label(request_type: str | None) -> str:
    return _CHOICE_LABELS.get(request_type or "", "Request")


def display_value(value: object) -> str:
    """A stored value as a person reads it: dates in UK order, yes/no, lists with semicolons."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list | tuple):
        return "; ".join(display_value(v) for v in value)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


# Each choice field's stored values and the labels the form shows them by, where they differ.
_OFFERED = {
    f.key: {c.value: c.label for c in f.choices if c.value != c.label} for f in FIELDS if f.choices
}


def summary_rows(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for every filled-in field, in form order."""
    rows = []
    for f in FIELDS:
        value = values.get(f.key)
        labels = _OFFERED.get(f.key)
        if labels:  # as the form offered it ("New relationship"), not the key stored ("new")
            items = value if isinstance(value, list | tuple) else [value]
            value = [labels.get(v, v) if isinstance(v, str) else v for v in items]
        shown = display_value(value)
        if shown:
            rows.append((f.label, shown if f.kind is not Kind.LONG_TEXT else shown[:500]))
    return rows
