"""The `[limits]` settings section: how much of one email and its files the bot reads.

Its own module so that the readers (forms.limits) take their defaults from here without loading
the whole of the settings machinery; config.Settings holds it as `limits`.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from intake_bot.config_types import Duration, Positive, Section

Bytes = Annotated[int, Meta(ge=1024)]


class LimitSettings(Section):
    """How much of one email and its files the bot reads. Bytes count as actually inflated;
    what a limit cuts is named to the sender and staff; the fields are forms.limits.ReadLimits."""

    attachment_seconds: Duration = 10.0  # then that file is refused, the poll goes on
    message_seconds: Duration = 60.0  # for all of one email's files together
    attachment_bytes: Bytes = 20 * 1024 * 1024  # a file as it arrives
    inflated_bytes: Bytes = 64 * 1024 * 1024  # all parts read from one zip file
    # One part of a zip file. A Word document's XML is parsed whole: 8 MB of the densest XML
    # makes a tree of about 200 MB; a real form's is under 1 MB.
    part_bytes: Bytes = 8 * 1024 * 1024
    shared_strings: Positive = 100_000  # different texts in one workbook
    rows_per_sheet: Positive = 5_000  # sheet or CSV rows, title and header included
    columns_per_sheet: Positive = 64
    parts_per_email: Annotated[int, Meta(ge=2)] = 1_000  # MIME parts, the email itself included
    requests_per_email: Positive = 200  # more: the whole email goes to staff review
    # Processes that read emails (parse, forms, NHS number check) while a poll files them in
    # order: 1, none (read in the poller's own process, the default); 0, one per CPU.
    parse_workers: Annotated[int, Meta(ge=0)] = 1
