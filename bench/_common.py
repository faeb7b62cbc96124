"""What the benchmark scripts share: the sample mailbox, loading it, settings and child processes.

The scripts run as `python bench/<name>.py`, so this module is imported as `_common`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # for `tests.servers` (the private Dovecot, SMTP, PostgreSQL)
    sys.path.insert(0, str(REPO))

from imapclient import IMAPClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from intake_bot import samples  # noqa: E402
from intake_bot.bootstrap import App, build  # noqa: E402
from intake_bot.config import Settings, load_settings  # noqa: E402
from intake_bot.store.store import Store  # noqa: E402

T = TypeVar("T")

# The sample forms were written for spring 2016 (signed 15/03/2016, contracts from 01/04/2016):
# the tests' clock, after the signing, so that a complete form takes the valid path (triage,
# the "received" acknowledgement) and is timed as such.
FIXED_NOW = datetime(2016, 3, 21, 9, 0, tzinfo=UTC)
# As real mail has: one form in INCOMPLETE_EVERY lacks its contract's signing date.
INCOMPLETE_EVERY = 5
FILED_FLAG = "$IntakeBotFiled"

SUBJECT = samples.SUBJECT
# How people really write the watched subject (see DESIGN "Known traps").
SUBJECT_VARIANTS = (
    SUBJECT,
    "RE: " + SUBJECT,
    "Fw: " + SUBJECT,
    SUBJECT.replace(" - ", " – "),  # en dash (Outlook's AutoCorrect)
    "[SECURE] " + SUBJECT,
    SUBJECT + " - NHS Leeds North CCG",
    "FWD: RE: " + SUBJECT.lower(),
)
PEOPLE = ("aisha.khan", "tom.bradley", "priya.patel", "gareth.evans", "joanne.smith")
OTHER_SUBJECTS = (
    "Data Services for Commissioners - Newsletter",
    "Team lunch",
    "RE: Invoice 4471",
    "Fw: Training dates",
)


def fixed_clock() -> datetime:
    return FIXED_NOW


# -- the sample mailbox ----------------------------------------------------------------------


@dataclass
class Corpus:
    """The raw emails of a benchmark mailbox and what the bot must make of them."""

    messages: list[bytes] = field(default_factory=list)
    docx: int = 0  # emails with one Word form
    xlsx_single: int = 0  # emails with a one-request workbook
    xlsx_bulk: int = 0  # emails with a bulk workbook
    inline: int = 0  # emails with the form typed into the body, no attachment
    bulk_rows: int = 0  # requests per bulk workbook
    other: int = 0  # other subjects: left alone
    automated: int = 0  # out-of-office replies on the watched subject: archived, never answered
    no_form: int = 0  # questions without a form: enquiries queue, one reply each

    @property
    def requests(self) -> int:
        return self.docx + self.xlsx_single + self.inline + self.xlsx_bulk * self.bulk_rows

    @property
    def matching(self) -> int:
        """Emails on the watched subject: each becomes one inbound_message row."""
        return (
            self.docx
            + self.xlsx_single
            + self.xlsx_bulk
            + self.inline
            + self.automated
            + self.no_form
        )

    @property
    def replies(self) -> int:
        """Acknowledgements (one per request) plus the replies to questions."""
        return self.requests + self.no_form

    @property
    def total(self) -> int:
        return len(self.messages)

    @property
    def size_bytes(self) -> int:
        return sum(len(m) for m in self.messages)

    def expected(self) -> dict[str, int]:
        return {
            "messages": self.total,
            "matching": self.matching,
            "other": self.other,
            "requests": self.requests,
            "replies": self.replies,
        }


def build_corpus(
    n: int,
    *,
    noise: float = 0.05,
    xlsx_share: float = 0.1,
    pool: int = 40,
    attached: float = 1.0,
) -> Corpus:
    """`n` request emails plus `noise`. A share `attached` of them carries the form as a file (a
    `xlsx_share` of those a workbook, the rest a ~37 KB Word form); the others have it typed
    into the body ("Field: value" lines, ~1.5 KB emails).

    Making a Word form costs ~50 ms, so a pool of distinct forms is shared between emails; every
    email is still distinct (sender, Message-ID, date, subject spelling).
    """
    docx_pool = [samples.docx_form(_request(i)) for i in range(pool)]
    xlsx_single_pool = [samples.xlsx_request(_request(i)) for i in range(pool // 4)]
    bulk_rows = 3
    xlsx_bulk_pool = [
        samples.xlsx_bulk([samples.new_request(i * bulk_rows + j) for j in range(bulk_rows)])
        for i in range(pool // 4)
    ]
    corpus = Corpus(bulk_rows=bulk_rows)
    n_attached = round(n * attached)
    n_xlsx = round(n_attached * xlsx_share)
    xlsx_every = n_attached / n_xlsx if n_xlsx else float("inf")
    next_xlsx = 0.0
    for i in range(n):
        subject = SUBJECT_VARIANTS[i % len(SUBJECT_VARIANTS)]
        if i % 5 == 0:
            subject = encoded_words(subject)  # as Outlook sends non-ASCII subjects
        sender = f"{PEOPLE[i % len(PEOPLE)]}.{i}@nhs.net"  # one sender each: no rate limit
        k = corpus.docx + corpus.xlsx_single + corpus.xlsx_bulk  # emails with a file so far
        if int((i + 1) * attached) <= k:  # spread evenly: the form typed into the body
            body = "Hello,\n\nOur request:\n\n" + samples.body_form(samples.new_request(i))
            corpus.messages.append(_email(i, subject, sender, body=body))
            corpus.inline += 1
            continue
        if k >= next_xlsx and corpus.xlsx_single + corpus.xlsx_bulk < n_xlsx:
            next_xlsx += xlsx_every
            if (corpus.xlsx_single + corpus.xlsx_bulk) % 2:
                attachment = (
                    "requests.xlsx",
                    samples.XLSX,
                    xlsx_single_pool[i % len(xlsx_single_pool)],
                )
                corpus.xlsx_single += 1
            else:
                attachment = (
                    "bulk-requests.xlsx",
                    samples.XLSX,
                    xlsx_bulk_pool[i % len(xlsx_bulk_pool)],
                )
                corpus.xlsx_bulk += 1
        else:
            attachment = (f"request-{i}.docx", samples.DOCX, docx_pool[i % len(docx_pool)])
            corpus.docx += 1
        corpus.messages.append(_email(i, subject, sender, attachments=[attachment]))
    for j in range(round(n * noise)):
        i = n + j
        sender = f"colleague.{i}@nhs.net"
        kind = j % 4
        if kind in (0, 1):  # half the noise: other subjects
            subject = OTHER_SUBJECTS[j % len(OTHER_SUBJECTS)]
            corpus.messages.append(_email(i, subject, sender, body="See you there.\n"))
            corpus.other += 1
        elif kind == 2:
            corpus.messages.append(
                _email(
                    i,
                    "Automatic reply: " + SUBJECT,
                    sender,
                    body="I am out of the office until Monday.\n",
                    headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
                )
            )
            corpus.automated += 1
        else:
            body = "Hello,\n\nHow do we add a new CSU to our relationship?\n\nThanks\n"
            corpus.messages.append(_email(i, SUBJECT, sender, body=body))
            corpus.no_form += 1
    # Interleave the noise with the requests, as it arrives in a real mailbox.
    step = max(1, corpus.total // max(1, corpus.total - n))
    requests, noise_mail = corpus.messages[:n], corpus.messages[n:]
    mixed: list[bytes] = []
    for i, raw in enumerate(requests):
        mixed.append(raw)
        if noise_mail and i % step == step - 1:
            mixed.append(noise_mail.pop())
    corpus.messages = mixed + noise_mail
    return corpus


def _request(i: int) -> dict[str, str]:
    """Sample request `i`: complete, or (one in INCOMPLETE_EVERY) without its signing date."""
    if i % INCOMPLETE_EVERY == INCOMPLETE_EVERY - 1:
        return samples.new_request(i, contract_signed_date="")
    return samples.new_request(i)


def _email(
    i: int,
    subject: str,
    sender: str,
    *,
    body: str = "Hello,\n\nPlease find our request attached.\n\nKind regards\n",
    attachments: Sequence[tuple[str, str, bytes]] = (),
    headers: dict[str, str] | None = None,
) -> bytes:
    name = sender.split("@")[0].replace(".", " ").title()
    return samples.email(
        subject=subject,
        sender=sender,
        sender_name=name,
        body=body,
        attachments=attachments,
        headers=headers,
        when=FIXED_NOW - timedelta(days=3) + timedelta(minutes=i),
    )


def encoded_words(subject: str) -> str:
    """RFC 2047 encoded words, two of them, as mail clients write long non-ASCII subjects."""
    half = len(subject) // 2
    return " ".join(
        "=?utf-8?b?" + base64.b64encode(part.encode()).decode() + "?="
        for part in (subject[:half], subject[half:])
    )


def small_messages(count: int) -> Iterator[tuple[bytes, list[str]]]:
    """Small, already-filed emails (raw, flags) for an idle mailbox: mostly ours, some not."""
    when = format_datetime(FIXED_NOW - timedelta(days=400))
    for i in range(count):
        ours = i % 20 != 0
        subject = SUBJECT_VARIANTS[i % len(SUBJECT_VARIANTS)] if ours else OTHER_SUBJECTS[i % 4]
        raw = (
            f"From: Person {i} <person.{i}@nhs.net>\r\n"
            f"To: dsfc.enquiries@intake-bot.invalid\r\n"
            f"Subject: {subject}\r\n"
            f"Date: {when}\r\n"
            f"Message-ID: <idle.{i}@nhs.net>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"\r\n"
            f"Hello,\r\n\r\nRequest number {i}, filed long ago.\r\n\r\nKind regards\r\n"
        ).encode()
        yield raw, [FILED_FLAG] if ours else []


def append_all(
    client: IMAPClient,
    folder: str,
    messages: Sequence[bytes] | Iterator[tuple[bytes, list[str]]],
    *,
    batch_bytes: int = 8 * 1024 * 1024,
    batch_count: int = 1000,
) -> float:
    """APPEND every message, many per command with MULTIAPPEND (RFC 3502). Returns seconds."""
    start = time.perf_counter()
    multi = client.has_capability("MULTIAPPEND")
    pending: list[dict[str, Any]] = []
    size = 0

    def flush() -> None:
        nonlocal size
        if not pending:
            return
        if multi:
            client.multiappend(folder, pending)
        else:
            for item in pending:
                client.append(folder, item["msg"], flags=item.get("flags", ()))
        pending.clear()
        size = 0

    for item in messages:
        raw, flags = item if isinstance(item, tuple) else (item, [])
        pending.append({"msg": raw, "flags": flags} if flags else {"msg": raw})
        size += len(raw)
        if size >= batch_bytes or len(pending) >= batch_count:
            flush()
    flush()
    return time.perf_counter() - start


# -- the application -------------------------------------------------------------------------


def make_settings(
    *,
    database_url: str,
    mailbox_url: str,
    mailbox_password: str,
    outgoing_url: str,
    outgoing_password: str | None = None,
    processed_folder: str = "",
    parse_workers: int | None = None,
) -> Settings:
    """Settings as a deployment gets them: the repository's TOML plus environment overrides.

    `parse_workers`: `[limits] parse_workers` (None: the default, one reader process per CPU).
    """
    env = {
        "INTAKE_BOT_DATABASE_URL": database_url,
        "INTAKE_BOT_MAILBOX_URL": mailbox_url,
        "INTAKE_BOT_MAILBOX_PASSWORD": mailbox_password,
        "INTAKE_BOT_MAILBOX_ALLOW_PLAIN_AUTH": "true",
        "INTAKE_BOT_MAILBOX_PROCESSED_FOLDER": processed_folder,
        "INTAKE_BOT_OUTGOING_URL": outgoing_url,
        "INTAKE_BOT_OUTGOING_ALLOW_PLAIN_AUTH": "true",
        "INTAKE_BOT_PATHS_S251": str(REPO / "config/s251.toml"),
        "INTAKE_BOT_PATHS_ORGANISATIONS": str(REPO / "config/organisations.toml"),
        "INTAKE_BOT_PATHS_TEMPLATES": str(REPO / "templates"),
    }
    if outgoing_password:
        env["INTAKE_BOT_OUTGOING_PASSWORD"] = outgoing_password
    if parse_workers is not None:
        env["INTAKE_BOT_LIMITS_PARSE_WORKERS"] = str(parse_workers)
    return load_settings(REPO / "config/intake-bot.toml", env=env)


def imap_url(host: str, port: int, user: str, folder: str = "INBOX") -> str:
    return f"imap://{user}@{host}:{port}/{folder}?tls=none"


def new_app(settings: Settings, *, migrate_schema: bool = True) -> App:
    """The application on its database: migrated and with the reference data loaded."""
    app = build(settings, clock=fixed_clock, store=Store.from_url(settings.database_url()))
    if migrate_schema:
        app.database.upgrade()
    return app


def sql_store(app: App) -> Store:
    """The SQL store under `app` (the benchmarks count rows with SQL and dispose of engines)."""
    store = app.store
    if not isinstance(store, Store):
        raise TypeError(f"the benchmarks need the SQL store, not {type(store).__name__}")
    return store


def table_counts(app: App) -> dict[str, Any]:
    """What the database holds after a poll, counted with SQL."""
    with sql_store(app).engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        by_outcome = "SELECT outcome, count(*) FROM inbound_message GROUP BY outcome"
        grouped = conn.execute(text(by_outcome))
        outcomes: dict[str, int] = {str(k): int(v) for k, v in grouped.all()}
        return {
            "inbound": one("SELECT count(*) FROM inbound_message"),
            "inbound_distinct_uids": one(
                "SELECT count(*) FROM (SELECT DISTINCT mailbox, location FROM inbound_message) AS d"
            ),
            "outcomes": outcomes,
            "requests": one("SELECT count(*) FROM request"),
            "statuses": {
                str(k): int(v)
                for k, v in conn.execute(
                    text("SELECT status, count(*) FROM request GROUP BY status")
                ).all()
            },
            "outbox": one("SELECT count(*) FROM outbox"),
            "outbox_sent": one("SELECT count(*) FROM outbox WHERE status = 'sent'"),
        }


def check_filed(counts: dict[str, Any], corpus: Corpus) -> list[str]:
    """What differs between the database and what the corpus should have produced."""
    problems = []
    if counts["inbound"] != corpus.matching:
        problems.append(f"{counts['inbound']} inbound rows, expected {corpus.matching}")
    if counts["inbound_distinct_uids"] != counts["inbound"]:
        problems.append("a message was filed twice")
    if counts["requests"] != corpus.requests:
        problems.append(f"{counts['requests']} requests, expected {corpus.requests}")
    if counts["outbox"] != corpus.replies:
        problems.append(f"{counts['outbox']} replies queued, expected {corpus.replies}")
    statuses = counts.get("statuses", {})
    valid = sum(v for k, v in statuses.items() if k != "incomplete")
    if corpus.requests and not (valid and statuses.get("incomplete")):
        problems.append(f"not both the valid and the incomplete path were taken: {statuses}")
    return problems


def quiet_logging(path: Path | None = None) -> None:
    """The bot logs at INFO like the worker does, into a file rather than the terminal."""
    root = logging.getLogger()
    root.handlers.clear()
    if path is None:
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.WARNING)
        return
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


# -- processes and figures -------------------------------------------------------------------


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in a fresh interpreter, so that its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux's VmHWM belongs to the address space, so it starts afresh in a spawned child, whereas
    ru_maxrss carries over the parent's peak across fork and exec.
    """
    hwm = _proc_status("VmHWM")
    if hwm is not None:
        return hwm
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident set size now, in MiB (0 where /proc is missing)."""
    return _proc_status("VmRSS") or 0.0


def peak_rss_of(pid: int) -> float | None:
    """Another process's peak resident set size so far, in MiB (None if it cannot be read)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def reset_peak_rss() -> bool:
    """Start measuring the peak afresh from the current size (Linux 4.0+); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _proc_status(key: str) -> float | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # kB
    return None


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "nproc": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "load_average_at_start": os.getloadavg()[0],
    }


def cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat; None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of all CPUs that was busy between two `cpu_jiffies()` readings (0..1)."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print("-" * len(title))
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")


def _jsonable(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    return str(value)
