"""The one API that entry points call: every use case, bound once by `bootstrap.build`.

The CLI, the worker and the web console use these attributes and nothing else: they never
wire a service by hand and never reach into the store. Each attribute is a use-case object
from `services/`, built with its dependencies (ports and settings) by the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from intake_bot.config import Settings
from intake_bot.ports import Clock, MailTransport, Store
from intake_bot.services.connectivity import Connectivity
from intake_bot.services.credentials import Credentials
from intake_bot.services.database import Database
from intake_bot.services.digests import Digests
from intake_bot.services.intake import Intake
from intake_bot.services.lifecycle import Requests
from intake_bot.services.mailboxes import Mailboxes
from intake_bot.services.messages import Messages
from intake_bot.services.operations import Operations
from intake_bot.services.outbox import OutboxAdmin
from intake_bot.services.queues import Queues
from intake_bot.services.register import Register
from intake_bot.services.retention import Retention
from intake_bot.services.s251 import S251
from intake_bot.services.sending import Sender
from intake_bot.services.staff import Staff


@dataclass
class Application:
    """Everything an entry point needs. Adapters are made on demand and closed by the caller."""

    settings: Settings
    store: Store  # for tests and benchmarks that count rows; entry points use the use cases
    database: Database  # the schema (status, upgrade, ensure_ready) and reference data
    intake: Intake  # ingest (a poll), quarantine (poison messages), parse (a preview)
    mailboxes: Mailboxes  # poll one or every watched mailbox; each one's last poll (status)
    outbox: OutboxAdmin  # status (counts and the last errors), retry
    register: Register  # list, export, import the register of relationships
    s251: S251  # list, add, extend approvals; send_reminders (the daily job)
    requests: Requests  # show, change_status, assign one request
    queues: Queues  # items (what waits, by queue name as staff type it), names
    messages: Messages  # enquiries and quarantine: show, answer, link, close, release
    digests: Digests  # send (the daily job), preview one office's
    retention: Retention  # run (the daily job, or a dry run): purge raw mail that is due
    staff: Staff  # the web console's accounts: add, list, disable, sign_in, current
    credentials: Credentials  # refused credentials stop a mailbox once; expiry warnings
    connectivity: Connectivity  # check: connect to each mailbox and the outgoing server, report
    clock: Clock
    worker_id: str
    open_transport: Callable[[], MailTransport]  # opened per send run, closed by the caller
    deliver_sample: Callable[[bytes], None]  # the demo's: into the first (Maildir) mailbox

    @property
    def operations(self) -> Operations:
        """status (mailboxes, backlog, outbox, quarantine) and health, for operators."""
        return Operations(
            store=self.store, clock=self.clock, mailboxes=self.mailboxes, outbox=self.outbox
        )

    def sender(self, transport: MailTransport) -> Sender:
        """The outbox sender over an open transport (the caller closes it)."""
        out = self.settings.outgoing
        return Sender(
            store=self.store,
            transport=transport,
            clock=self.clock,
            max_attempts=out.max_attempts,
            backoff=timedelta(seconds=out.backoff_seconds),
            claim_for=timedelta(seconds=out.claim_seconds),
            send_limit=timedelta(seconds=out.timeout_seconds),
        )
