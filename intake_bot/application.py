"""The one API that entry points call: every use case, made by `bootstrap.build`.

The CLI, the worker and the web console use these attributes and nothing else: they never
wire a service by hand and never reach into the store. Each attribute is a use-case object
from `services/`, built with its dependencies (ports and settings) by the composition root,
which makes each one when it is first used: a command imports only what its use cases need
(`intake-bot queue` never imports the mail stack, the web console or the form writers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from intake_bot.services.ods import Organisations
    from intake_bot.services.operations import Operations
    from intake_bot.services.outbox import OutboxAdmin
    from intake_bot.services.queues import Queues
    from intake_bot.services.register import Register
    from intake_bot.services.retention import Retention
    from intake_bot.services.s251 import S251
    from intake_bot.services.sending import Sender
    from intake_bot.services.staff import Staff


class Application:
    """Everything an entry point needs. Adapters are made on demand and closed by the caller.

    `bootstrap.build` returns the one implementation: each property below is made there.
    """

    def __init__(self, settings: Settings, *, clock: Clock, worker_id: str) -> None:
        self.settings = settings
        self.clock = clock
        self.worker_id = worker_id

    @property
    def store(self) -> Store:  # for tests and benchmarks that count rows; not for entry points
        raise NotImplementedError

    @property
    def database(self) -> Database:  # the schema (status, upgrade, ensure_ready), reference data
        raise NotImplementedError

    @property
    def intake(self) -> Intake:  # ingest (a poll), quarantine (poison messages), parse (a preview)
        raise NotImplementedError

    @property
    def previews(self) -> Intake:  # parse alone, reading the database read-only where it can
        raise NotImplementedError

    @property
    def mailboxes(self) -> Mailboxes:  # poll one or every watched mailbox; each one's last poll
        raise NotImplementedError

    @property
    def outbox(self) -> OutboxAdmin:  # status (counts and the last errors), retry
        raise NotImplementedError

    @property
    def register(self) -> Register:  # list, export, import the register of relationships
        raise NotImplementedError

    @property
    def s251(self) -> S251:  # list, add, extend approvals; send_reminders (the daily job)
        raise NotImplementedError

    @property
    def requests(self) -> Requests:  # show, change_status, assign one request
        raise NotImplementedError

    @property
    def queues(self) -> Queues:  # items (what waits, by queue name as staff type it), names
        raise NotImplementedError

    @property
    def messages(self) -> Messages:  # enquiries and quarantine: show, answer, link, close, release
        raise NotImplementedError

    @property
    def digests(self) -> Digests:  # send (the daily job), preview one office's
        raise NotImplementedError

    @property
    def retention(self) -> Retention:  # run (the daily job, or a dry run): purge raw mail due
        raise NotImplementedError

    @property
    def staff(self) -> Staff:  # the web console's accounts: add, list, disable, sign_in, current
        raise NotImplementedError

    @property
    def credentials(self) -> Credentials:  # refused credentials stop a mailbox; expiry warnings
        raise NotImplementedError

    @property
    def connectivity(self) -> Connectivity:  # check: connect to each mailbox and the outgoing
        raise NotImplementedError

    @property
    def organisations(self) -> Organisations:  # ODS: import the published files, successions
        raise NotImplementedError

    def open_transport(self) -> MailTransport:
        """The outgoing transport, opened per send run; the caller closes it."""
        raise NotImplementedError

    def deliver_sample(self, raw: bytes) -> None:
        """The demo's: one message into the first (Maildir) mailbox."""
        raise NotImplementedError

    def blank_form(self, suffix: str) -> bytes:
        """The blank request form ("docx" or "xlsx"), the current version: the one replies
        attach. It needs no settings of the forms folder, so a broken mapping file there
        does not stop staff writing it."""
        raise NotImplementedError

    @property
    def operations(self) -> Operations:
        """status (mailboxes, backlog, outbox, quarantine) and health, for operators."""
        from intake_bot.services.operations import Operations

        return Operations(
            store=self.store, clock=self.clock, mailboxes=self.mailboxes, outbox=self.outbox
        )

    def sender(self, transport: MailTransport) -> Sender:
        """The outbox sender over an open transport (the caller closes it)."""
        from intake_bot.services.sending import Sender

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
