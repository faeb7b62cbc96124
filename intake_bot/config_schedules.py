"""The `[digest]` and `[reminders]` settings sections, and the one rule for a cron expression
(the `[retention]` job's too): config.Settings holds them as `digest` and `reminders`."""

from __future__ import annotations

import msgspec
from msgspec import field

from intake_bot.config_types import Section, fields_of


def valid_cron(section: msgspec.Struct) -> None:
    """ValueError unless the section's `cron` is a cron expression APScheduler reads. Its
    default is not checked, so that the settings load without importing APScheduler."""
    expr: str = section.cron  # type: ignore[attr-defined]
    if expr == fields_of(type(section))["cron"].default:
        return
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ValueError(f"cron: not a cron expression ({exc}); e.g. '0 8 * * mon-fri'") from exc
    # APScheduler numbers weekdays from Monday=0, unlike cron: names avoid the surprise.
    if any(ch.isdigit() for ch in expr.split()[-1]):
        raise ValueError("cron: name the days of the week (mon-fri), not numbers")


class DigestSettings(Section):
    enabled: bool = True
    cron: str = "0 8 * * mon-fri"  # in `timezone`

    def __post_init__(self) -> None:
        valid_cron(self)


class ReminderSettings(Section):
    enabled: bool = True
    cron: str = "0 7 * * *"  # in `timezone`, daily
    offsets_days: list[int] = field(default_factory=lambda: [90, 60, 30, 14, 7, 1])

    def __post_init__(self) -> None:
        valid_cron(self)
