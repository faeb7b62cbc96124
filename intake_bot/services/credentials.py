"""Credentials that stop working: said once, not retried in a storm, and warned of ahead.

When a mailbox's (or the outgoing server's) token is refused for good (a revoked sign-in, an
expired or wrong client secret), retrying changes nothing until the operator acts. So the
mailbox stops: one log line, one staff email, and no more token requests until its credentials
change (a new secret, a new `intake-bot auth login`), which its fingerprint shows. Secrets and
certificates that expire on a known date are warned of 30 and 7 days ahead, each warning once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from intake_bot.domain.records import StaffAlert, saved_id
from intake_bot.ports import Clock, Credential, CredentialsError, DuplicateError, Store
from intake_bot.services.notify import Notifier

log = logging.getLogger(__name__)

WARN_DAYS = (30, 7)  # before a secret or certificate expires


@dataclass
class Credentials:
    store: Store
    notifier: Notifier
    clock: Clock
    recipients: Sequence[str]  # who hears of it (alert_addresses, else every office's staff)
    known: Callable[[], list[Credential]]  # every configured credential (builds no connection)
    # Device-code sign-in of one mailbox (or "outgoing"): shows the instructions, returns who.
    signer: Callable[[str, Callable[[str], None]], str]
    # Stopped ones: name -> (fingerprint when it stopped, the fault as said).
    _stopped: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)

    def stopped(self, name: str) -> str | None:
        """The fault `name` stopped on, while its credentials are unchanged; else None."""
        held = self._stopped.get(name)
        if held is None:
            return None
        credential = self._find(name)
        if credential is None or credential.fingerprint() != held[0]:
            del self._stopped[name]
            log.info("%s: credentials changed; trying again", name)
            return None
        return held[1]

    def sign_in(self, name: str, show: Callable[[str], None]) -> str:
        """A person signs in for mailbox `name` (`intake-bot auth login`); the account's name.
        A worker that stopped on the old sign-in notices the new one and starts again."""
        account = self.signer(name, show)
        log.info("%s: signed in", name)
        return account

    def refused(self, name: str, error: CredentialsError) -> None:
        """`name`'s token was refused. Permanent: stop it, log it once, alert staff once."""
        if not error.permanent:
            return
        credential = self._find(name)
        fingerprint = credential.fingerprint() if credential else "unknown"
        fault = " ".join(str(error).split())
        self._stopped[name] = (fingerprint, fault)
        log.error("%s stopped until its credentials are fixed: %s", name, fault)
        context = {"what": _what(name), "fault": fault, "fix": error.fix, "stopped": True}
        self._alert(f"credentials:{name}:{fingerprint}", context)

    def warn_expiring(self) -> list[str]:
        """Warn of every credential within 30 or 7 days of its end (or past it), each warning
        once; the keys of the warnings sent now."""
        today = self.clock().date()
        sent: list[str] = []
        for credential in self.known():
            if credential.expires is None:
                continue
            left = (credential.expires - today).days
            reached = [d for d in WARN_DAYS if left <= d]
            if not reached:
                continue
            key = f"credential-expiry:{credential.name}:{credential.expires}:{min(reached)}"
            log.warning(
                "%s: its %s credentials expire on %s (%d days)",
                credential.name,
                credential.setting,
                credential.expires,
                left,
            )
            context = {
                "what": _what(credential.name),
                "setting": credential.setting,
                "expires": credential.expires.strftime("%d/%m/%Y"),
                "days_left": left,
                "stopped": False,
            }
            if self._alert(key, context):
                sent.append(key)
        return sent

    def _find(self, name: str) -> Credential | None:
        return next((c for c in self.known() if c.name == name), None)

    def _alert(self, key: str, context: dict[str, Any]) -> bool:
        """One staff email per key, ever (StaffAlert); whether it was queued now."""
        if not self.recipients:
            log.warning("no one to alert (set alert_addresses): %s", key.split(":", 1)[0])
            return False
        now: datetime = self.clock()
        base = self.notifier.base_context("colleague")
        try:
            with self.store.unit() as unit:
                if unit.notices.staff_alert(key) is not None:
                    return False
                email = self.notifier.queue(
                    unit,
                    kind="credentials_alert",
                    to=self.recipients,
                    context={**base, **context},
                    now=now,
                    auto_submitted="auto-generated",
                )
                unit.flush()
                unit.add(StaffAlert(key=key, sent_at=now, outbox_id=saved_id(email)))
        except DuplicateError:  # another worker alerted at the same moment
            return False
        return True


def _what(name: str) -> str:
    return "outgoing mail" if name == "outgoing" else f"the mailbox {name}"
