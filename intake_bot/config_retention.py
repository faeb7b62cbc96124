"""The `[retention]` settings section: when the raw mail the bot archived is purged.

Its own module, like `config_limits`, so that config.py stays one screenful of sections;
config.Settings holds it as `retention`. What is purged is the raw message and its attachments;
the request record and its audit trail stay, with an event saying what was purged.
"""

from __future__ import annotations

from intake_bot.config_schedules import valid_cron
from intake_bot.config_types import Positive, Section


class RetentionSettings(Section):
    """The daily purge (`intake-bot retention run`; the worker runs it on `cron`)."""

    enabled: bool = True
    cron: str = "30 2 * * *"  # in `timezone`, daily
    # Raw mail of a request closed (approved, rejected, withdrawn…) this many days ago.
    closed_days: Positive = 730

    def __post_init__(self) -> None:
        valid_cron(self)
