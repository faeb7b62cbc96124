"""The `[digest]` and `[reminders]` settings sections, and the one rule for a cron expression
(the `[retention]` job's too): config.Settings holds them as `digest` and `reminders`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


def valid_cron(expr: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr)
    except ValueError as exc:
        raise ValueError(f"not a cron expression ({exc}); e.g. '0 8 * * mon-fri'") from exc
    # APScheduler numbers weekdays from Monday=0, unlike cron: names avoid the surprise.
    if any(ch.isdigit() for ch in expr.split()[-1]):
        raise ValueError("name the days of the week (mon-fri), not numbers")
    return expr


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    cron: str = "0 8 * * mon-fri"  # in `timezone`

    _cron_ok = field_validator("cron")(valid_cron)


class ReminderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    cron: str = "0 7 * * *"  # in `timezone`, daily
    offsets_days: list[int] = Field(default_factory=lambda: [90, 60, 30, 14, 7, 1])

    _cron_ok = field_validator("cron")(valid_cron)
