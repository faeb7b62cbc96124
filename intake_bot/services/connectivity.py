"""`intake-bot check`: connect to each mailbox and the outgoing server and say, step by step,
what works and what to do about what does not. Sends nothing and changes no message.

The probes are the mail adapters' (one per kind of source or transport), handed in by the
composition root; this runs them one subject after another, so that a probe that breaks
(a bug, not a mail fault) costs its own subject only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from intake_bot.domain.connectivity import OUTGOING, CheckReport, Finding, mailbox_subject
from intake_bot.errors import OperatorError

log = logging.getLogger(__name__)


class UnknownMailboxError(OperatorError):
    """`check NAME` named no mailbox in the settings."""

    setting = "mailbox.name"


@dataclass
class Connectivity:
    """Checks the mailboxes (by their names in the settings) and the outgoing server."""

    mailboxes: Sequence[str]
    probe_mailbox: Callable[[str], Iterable[Finding]]  # by the mailbox's name
    probe_outgoing: Callable[[], Iterable[Finding]]

    def check(
        self,
        mailbox: str | None = None,
        on_finding: Callable[[Finding], None] | None = None,
    ) -> CheckReport:
        """Every mailbox (or the one named, in any case) and then the outgoing server.

        `on_finding` hears of each finding as soon as it is made, for a report that shows
        progress while a slow server is waited for. UnknownMailboxError for a name not in
        the settings.
        """
        jobs: list[tuple[str, Callable[[], Iterable[Finding]]]] = [
            (mailbox_subject(name), partial(self.probe_mailbox, name))
            for name in self._chosen(mailbox)
        ]
        jobs.append((OUTGOING, self.probe_outgoing))
        found: list[Finding] = []
        for subject, probe in jobs:
            for finding in _run(subject, probe):
                found.append(finding)
                if on_finding is not None:
                    on_finding(finding)
        return CheckReport(tuple(found))

    def _chosen(self, mailbox: str | None) -> list[str]:
        if mailbox is None:
            return list(self.mailboxes)
        chosen = [n for n in self.mailboxes if n.casefold() == mailbox.strip().casefold()]
        if not chosen:
            known = ", ".join(self.mailboxes)
            raise UnknownMailboxError(
                f"no mailbox is named {mailbox!r}; the mailboxes in the settings are: {known}"
            )
        return chosen


def _run(subject: str, probe: Callable[[], Iterable[Finding]]) -> Iterable[Finding]:
    """The probe's findings; a probe that raises ends its subject with a finding saying so."""
    try:
        yield from probe()
    except OperatorError as exc:  # a setting the probe could not use (a missing secret file)
        yield Finding(subject, "settings", False, " ".join(str(exc).split()))
    except Exception as exc:
        log.debug("the check of %s stopped", subject, exc_info=True)
        yield Finding(
            subject,
            "check",
            False,
            f"the check stopped unexpectedly: {type(exc).__name__}: {exc}",
            fix="the steps above stand; run again with log_level DEBUG and report the fault",
        )
