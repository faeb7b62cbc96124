"""Ingest benchmark: the bot's full poll against a tight reference loop, and the idle poll cost.

One run, one private Dovecot on loopback:

1. N request emails (a ~37 KB Word form each, a tenth with a workbook instead) plus 5% noise
   (other subjects, out-of-office replies, questions without a form) are appended to a mailbox.
2. The limit: a tight loop of raw imapclient UID SEARCH ALL + UID FETCH BODY.PEEK[] in batches,
   the stdlib email parser, and every attached form opened with python-docx or openpyxl.
3. The bot: one full poll (fetch, parse, read forms, validate, file into a fresh SQLite
   database, queue acknowledgements) over the same mailbox, in flag-only mode (no processed
   folder), so that the mailbox is unchanged for the other passes. Every expected row is counted.
4. The idle poll: a mailbox of --idle already-filed messages (the cursor past them) against an
   empty mailbox, each poll on its own connection as the worker does, and on an open one.

Each bot pass runs with `--workers` reader processes (`[limits] parse_workers`; 1 = one process)
on each `--db` (SQLite, or a fresh PostgreSQL database), for each `--n`; `--matrix` runs them
all (N = 2,000 and 10,000, 1 and 2 processes, SQLite and PostgreSQL) and prints msg/s, the
ratio to the limit, ms a message and each process's peak memory.

Usage: python bench/ingest.py [--n 2000[,10000]] [--workers 1,2] [--db sqlite[,postgres]]
                              [--matrix] [--idle 20000] [--polls 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import email
import email.policy
import io
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import docx
import openpyxl
from _common import (
    FIXED_NOW,
    append_all,
    build_corpus,
    check_filed,
    cpu_jiffies,
    imap_url,
    in_child,
    machine,
    machine_busy,
    make_settings,
    median,
    new_app,
    peak_rss_mb,
    peak_rss_of,
    print_table,
    quiet_logging,
    reset_peak_rss,
    rss_mb,
    small_messages,
    sql_store,
    table_counts,
    write_json,
)
from imapclient import IMAPClient

from intake_bot.bootstrap import App
from intake_bot.services.reading import Pooled
from intake_bot.worker import Worker
from tests.servers import postgres_reachable, private_dovecot, temporary_postgres_database

USERS = {"intake": "intake-secret", "archive": "archive-secret", "empty": "empty-secret"}
IDLE_GOAL = 2.0  # an idle poll of a big mailbox may cost at most this many empty ones
IDLE_ROWS = {
    "own_connection_s": "poll on its own connection (as the worker)",
    "open_connection_s": "poll on an open connection",
    "imap_login_select_s": "server alone: login + SELECT + LOGOUT",
    "imap_login_status_s": "server alone: login + STATUS + LOGOUT",
}


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    user: str
    password: str

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=120)
        client.login(self.user, self.password)
        return client


# -- the limit: a tight reference loop -------------------------------------------------------


def reference_pass(target: ImapTarget, batch: int) -> dict[str, Any]:
    """Fetch, parse and open every form; nothing stored. Runs in a child process."""
    rss_before = rss_mb()
    reset_peak_rss()
    messages = docx_forms = xlsx_forms = cells = 0
    jiffies = cpu_jiffies()
    start = time.perf_counter()
    with target.client() as client:
        client.select_folder("INBOX")
        uids = client.search("ALL")
        for first in range(0, len(uids), batch):
            chunk = uids[first : first + batch]
            response = client.fetch(chunk, [b"BODY.PEEK[]"])
            for uid in chunk:
                raw = response[uid][b"BODY[]"]
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                messages += 1
                for part in msg.iter_attachments():
                    name = (part.get_filename() or "").lower()
                    data = part.get_content()
                    if name.endswith(".docx"):
                        document = docx.Document(io.BytesIO(data))
                        for table in document.tables:
                            for row in table.rows:
                                cells += sum(len(cell.text) > 0 for cell in row.cells)
                        docx_forms += 1
                    elif name.endswith(".xlsx"):
                        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
                        for sheet in workbook.worksheets:
                            for values in sheet.iter_rows(values_only=True):
                                cells += sum(v is not None for v in values)
                        workbook.close()
                        xlsx_forms += 1
    elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "machine_busy": machine_busy(jiffies, cpu_jiffies()),
        "messages": messages,
        "rate": messages / elapsed,
        "docx_forms": docx_forms,
        "xlsx_forms": xlsx_forms,
        "cells": cells,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    }


# -- the bot: one full poll ------------------------------------------------------------------


def bot_pass(
    target: ImapTarget,
    workdir: str,
    profile_lines: int,
    profile_out: str | None = None,
    *,
    workers: int | None = None,
    database_url: str | None = None,
) -> dict[str, Any]:
    """One full poll into a fresh database (SQLite in `workdir`, or `database_url`), with
    `workers` reader processes (`[limits] parse_workers`). Runs in a child process."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    quiet_logging(work / "bot.log")
    app = _app(target, work, "intake.db", workers=workers, database_url=database_url)
    box = app.settings.mailbox
    mailbox = app.mailboxes.open_source(box)
    poller = app.mailboxes.poller(box, mailbox)
    rss_before = rss_mb()
    reset_peak_rss()
    profiler = cProfile.Profile() if profile_lines else None
    jiffies = cpu_jiffies()
    start = time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        report = poller.poll()
    finally:
        if profiler is not None:
            profiler.disable()
        mailbox.close()
    elapsed = time.perf_counter() - start
    busy = machine_busy(jiffies, cpu_jiffies())
    peak = peak_rss_mb()
    reader = app.mailboxes.reader
    pids = reader.process_ids() if isinstance(reader, Pooled) else []
    reader_peaks = [mb for mb in map(peak_rss_of, pids) if mb is not None]
    if isinstance(reader, Pooled):
        reader.close()
    counts = table_counts(app)
    sql_store(app).dispose()
    result: dict[str, Any] = {
        "seconds": elapsed,
        "machine_busy": busy,
        "messages": report.examined,
        "rate": report.examined / elapsed,
        "not_ours": report.not_ours,
        "outcomes": report.outcomes,
        "errors": report.errors,
        "replies": report.replies,
        "counts": counts,
        "database_mb": (work / "intake.db").stat().st_size / 2**20 if not database_url else None,
        "peak_rss_mb": peak,
        "reader_peak_rss_mb": reader_peaks,
        "workers": workers,
        "database": "postgres" if database_url else "sqlite",
        "rss_before_mb": rss_before,
    }
    if profiler is not None:
        result["profile"] = _hotspots(profiler, profile_lines)
        if profile_out:
            profiler.dump_stats(profile_out)
    return result


def _hotspots(profiler: cProfile.Profile, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def _app(
    target: ImapTarget,
    work: Path,
    database: str,
    *,
    workers: int | None = None,
    database_url: str | None = None,
) -> App:
    settings = make_settings(
        database_url=database_url or f"sqlite:///{work / database}",
        parse_workers=workers,
        mailbox_url=imap_url(target.host, target.port, target.user),
        mailbox_password=target.password,
        outgoing_url=f"file:{work / 'outbox'}",  # only queued here, never sent
        processed_folder="",  # flag only: the mailbox keeps its size
    )
    return new_app(settings)


# -- the idle poll ---------------------------------------------------------------------------


def idle_pass(full: ImapTarget, empty: ImapTarget, workdir: str, polls: int) -> dict[str, Any]:
    """Idle polls of a big, already-filed mailbox and of an empty one. Runs in a child process."""
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    quiet_logging(work / "idle.log")
    # A database each: both watch a mailbox of the same name, so one cursor would serve both, and
    # the empty folder's (another UIDVALIDITY) would send the full one back to the start.
    app_full = _app(full, work, "idle-full.db")
    app_empty = _app(empty, work, "idle-empty.db")
    # The cursor past every message, as the poller leaves it once it has filed them.
    name = app_full.settings.mailbox.name
    with full.client() as client:
        info = client.select_folder("INBOX", readonly=True)
        uidvalidity, uidnext, exists = (
            int(info[k]) for k in (b"UIDVALIDITY", b"UIDNEXT", b"EXISTS")
        )
    with app_full.store.unit() as unit:
        unit.polling.set_cursor(name, f"{uidvalidity}:{uidnext - 1}", FIXED_NOW)

    def worker_poll(app: App) -> float:
        start = time.perf_counter()
        report = Worker(app).poll()
        elapsed = time.perf_counter() - start
        if report is None or report.skipped or report.examined:
            raise RuntimeError(f"an idle poll did work or failed: {report}")
        return elapsed

    def bare_select(target: ImapTarget) -> float:
        start = time.perf_counter()
        with target.client() as client:
            client.select_folder("INBOX")
        return time.perf_counter() - start

    def bare_status(target: ImapTarget) -> float:
        start = time.perf_counter()
        with target.client() as client:
            client.folder_status("INBOX", [b"UIDNEXT", b"UIDVALIDITY"])
        return time.perf_counter() - start

    first = {"full": worker_poll(app_full), "empty": worker_poll(app_empty)}
    own: dict[str, list[float]] = {"full": [], "empty": []}
    select: dict[str, list[float]] = {"full": [], "empty": []}
    status: dict[str, list[float]] = {"full": [], "empty": []}
    for _ in range(polls):  # alternate, so that drift hits both alike
        own["full"].append(worker_poll(app_full))
        own["empty"].append(worker_poll(app_empty))
        select["full"].append(bare_select(full))
        select["empty"].append(bare_select(empty))
        status["full"].append(bare_status(full))
        status["empty"].append(bare_status(empty))

    open_polls: dict[str, list[float]] = {"full": [], "empty": []}
    apps = {"full": app_full, "empty": app_empty}
    mailboxes = {k: a.mailboxes.open_source(a.settings.mailbox) for k, a in apps.items()}
    pollers = {k: a.mailboxes.poller(a.settings.mailbox, mailboxes[k]) for k, a in apps.items()}
    try:
        for poller in pollers.values():
            poller.poll()  # connects
        for _ in range(polls):
            for key, poller in pollers.items():
                start = time.perf_counter()
                report = poller.poll()
                open_polls[key].append(time.perf_counter() - start)
                if report.examined or report.skipped:
                    raise RuntimeError(f"an idle poll did work: {report}")
    finally:
        for mb in mailboxes.values():
            mb.close()
    sql_store(app_full).dispose()
    sql_store(app_empty).dispose()
    return {
        "messages": exists,
        "first_poll_s": first,
        "own_connection_s": {k: median(v) for k, v in own.items()},
        "open_connection_s": {k: median(v) for k, v in open_polls.items()},
        "imap_login_select_s": {k: median(v) for k, v in select.items()},
        "imap_login_status_s": {k: median(v) for k, v in status.items()},
        "polls": polls,
    }


# -- the run ---------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_ints, default=[2000], help="request emails, e.g. 2000,10000")
    parser.add_argument(
        "--workers",
        type=_ints,
        default=[1, 2],
        help="reader processes ([limits] parse_workers), e.g. 1,2: 1 = one process",
    )
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, postgres or sqlite,postgres (a fresh one a pass)"
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="the whole matrix: --n 2000,10000 --workers 1,2 --db sqlite,postgres",
    )
    parser.add_argument("--idle", type=int, default=20_000, help="messages in the idle mailbox")
    parser.add_argument("--polls", type=int, default=20, help="idle polls to take the median of")
    parser.add_argument("--batch", type=int, default=25, help="reference FETCH batch (the bot's)")
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="profile a second bot poll (auto: only if the bot is slower than the limit)",
    )
    parser.add_argument("--profile-out", type=Path, help="write the raw profile (pstats) here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.matrix:
        args.n, args.workers, args.db = [2000, 10_000], [1, 2], "sqlite,postgres"
    databases = [d for d in args.db.split(",") if d]
    if "postgres" in databases and not (why := postgres_reachable())[0]:
        parser.error(why[1])

    figures: dict[str, Any] = {"machine": machine(), "idle": args.idle, "sizes": []}
    with (
        tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp,
        private_dovecot(users=USERS) as dc,
    ):
        targets = {user: ImapTarget(dc.host, dc.port, user, pw) for user, pw in USERS.items()}
        for n in args.n:
            figures["sizes"].append(_size(n, args, databases, targets, f"{tmp}/{n}"))
        if args.idle:
            with targets["archive"].client() as client:
                append_all(client, "INBOX", small_messages(args.idle))
            idle = in_child(
                idle_pass, targets["archive"], targets["empty"], f"{tmp}/idle", args.polls
            )
            for key in IDLE_ROWS:
                idle[key]["ratio"] = idle[key]["full"] / idle[key]["empty"]
            figures["idle_poll"] = idle

    _report(figures)
    if args.json:
        write_json(args.json, figures)
    return 1 if any(size["problems"] for size in figures["sizes"]) else 0


def _size(
    n: int,
    args: argparse.Namespace,
    databases: list[str],
    targets: dict[str, ImapTarget],
    tmp: str,
) -> dict[str, Any]:
    """One mailbox of `n` requests: the limit, then a poll for each database and worker count,
    then the limit again (the faster limit counts, so a warmer cache favours neither)."""
    start = time.perf_counter()
    corpus = build_corpus(n)
    figures: dict[str, Any] = {
        "n": n,
        "corpus": {
            **corpus.expected(),
            "docx": corpus.docx,
            "xlsx_single": corpus.xlsx_single,
            "xlsx_bulk": corpus.xlsx_bulk,
            "automated": corpus.automated,
            "no_form": corpus.no_form,
            "megabytes": corpus.size_bytes / 2**20,
            "build_s": time.perf_counter() - start,
        },
        "problems": [],
        "bots": [],
    }
    print(f"built {corpus.total} emails ({corpus.size_bytes / 2**20:.0f} MB)", file=sys.stderr)
    with targets["intake"].client() as client:
        client.select_folder("INBOX")
        old = client.search("ALL")
        if old:  # the previous size's mailbox
            client.delete_messages(old)
            client.expunge()
        figures["load_s"] = append_all(client, "INBOX", corpus.messages)
    total = corpus.total
    corpus.messages.clear()  # the counts stay; the bytes are in Dovecot now

    references = [in_child(reference_pass, targets["intake"], args.batch)]
    print(f"N={n} reference: {references[0]['rate']:.0f} msg/s", file=sys.stderr)
    for database in databases:
        for workers in args.workers:
            with contextlib.ExitStack() as stack:
                url = None
                if database == "postgres":
                    url = stack.enter_context(temporary_postgres_database())
                work = f"{tmp}/bot-{database}-{workers}"
                bot = in_child(
                    partial(bot_pass, workers=workers, database_url=url),
                    targets["intake"],
                    work,
                    0,
                )
            print(f"N={n} {database} x{workers}: {bot['rate']:.0f} msg/s", file=sys.stderr)
            problems = check_filed(bot["counts"], corpus)
            if bot["messages"] != total or bot["not_ours"] != corpus.other or bot["errors"]:
                problems.append(
                    f"poll report {bot['messages']} examined, {bot['not_ours']} not ours, "
                    f"{bot['errors']} errors"
                )
            figures["problems"] += [f"N={n} {database} x{workers}: {p}" for p in problems]
            figures["bots"].append(bot)
    references.append(in_child(reference_pass, targets["intake"], args.batch))
    reference = min(references, key=lambda r: r["seconds"])
    figures["reference"] = {"runs": references, "best": reference}
    for bot in figures["bots"]:
        bot["ratio"] = bot["rate"] / reference["rate"]
    slowest = min(figures["bots"], key=lambda b: b["rate"])
    if args.profile == "always" or (args.profile == "auto" and slowest["ratio"] < 1):
        out = str(args.profile_out.resolve()) if args.profile_out else None
        profiled = in_child(
            partial(bot_pass, workers=args.workers[0]), targets["intake"], f"{tmp}/prof", 30, out
        )
        figures["profile"] = profiled.pop("profile")
        figures["profiled_poll_s"] = profiled["seconds"]
    return figures


def _report(f: dict[str, Any]) -> None:
    m = f["machine"]
    print(
        f"\nintake-bot ingest benchmark, {m['date']}, {m['cpu_count']} CPUs (nproc {m['nproc']}, "
        f"load {m['load_average_at_start']:.1f}), Python {m['python']}"
    )
    for size in f["sizes"]:
        c, ref = size["corpus"], size["reference"]["best"]
        print_table(
            f"N = {size['n']}: {c['messages']} emails, {c['megabytes']:.0f} MB ({c['docx']} Word, "
            f"{c['xlsx_single']} + {c['xlsx_bulk']} bulk workbooks, {c['other']} other subjects, "
            f"{c['automated']} auto-replies, {c['no_form']} without a form)",
            [
                (
                    "limit: imapclient + email + python-docx/openpyxl",
                    f"{ref['rate']:7.1f} msg/s  {1000 / ref['rate']:6.2f} ms/msg  (runs "
                    + ", ".join(f"{r['seconds']:.1f}" for r in size["reference"]["runs"])
                    + f" s; peak RSS {ref['peak_rss_mb']:.0f} MB; {_busy(ref)})",
                ),
                *[_bot_row(bot) for bot in size["bots"]],
                (
                    "filed (counted in the database)",
                    f"expected {c['matching']} messages, {c['requests']} requests, "
                    f"{c['replies']} replies; statuses "
                    + ", ".join(
                        f"{k} {v}" for k, v in sorted(size["bots"][0]["counts"]["statuses"].items())
                    ),
                ),
                ("check", "; ".join(size["problems"]) or "every matching message filed once"),
            ],
        )
        if "profile" in size:
            print(f"\nProfile of a bot poll ({size['profiled_poll_s']:.1f} s under cProfile):")
            print(size["profile"])
    if "idle_poll" in f:
        _report_idle(f["idle_poll"])


def _bot_row(bot: dict[str, Any]) -> tuple[str, str]:
    label = f"bot: {bot['database']}, " + (
        "one process" if bot["workers"] == 1 else f"{bot['workers']} reader processes"
    )
    readers = bot["reader_peak_rss_mb"]
    memory = f"peak RSS {bot['peak_rss_mb']:.0f} MB" + (
        f" + readers {', '.join(f'{mb:.0f}' for mb in readers)} MB" if readers else ""
    )
    return (
        label,
        f"{bot['rate']:7.1f} msg/s  {1000 / bot['rate']:6.2f} ms/msg  {bot['ratio']:.2f}x "
        f"({bot['seconds']:.1f} s; {memory}; {_busy(bot)})",
    )


def _report_idle(idle: dict[str, Any]) -> None:
    rows = []
    for key, label in IDLE_ROWS.items():
        v = idle[key]
        goal = ""
        if not key.startswith("imap_"):
            verdict = "met" if v["ratio"] <= IDLE_GOAL else "MISSED"
            goal = f"  (goal <= {IDLE_GOAL:.0f}x: {verdict})"
        rows.append(
            (
                label,
                f"{v['full'] * 1000:7.2f} ms vs {v['empty'] * 1000:6.2f} ms empty = "
                f"{v['ratio']:.2f}x{goal}",
            )
        )
    first = idle["first_poll_s"]
    rows.append(
        (
            "first poll (own connection)",
            f"{first['full'] * 1000:7.2f} ms vs {first['empty'] * 1000:6.2f} ms empty",
        )
    )
    print_table(
        f"Idle poll: {idle['messages']} filed messages, nothing new, against an empty mailbox "
        f"(median of {idle['polls']})",
        rows,
    )


def _busy(run: dict[str, Any]) -> str:
    share = run.get("machine_busy")
    return "all CPUs busy: n/a" if share is None else f"all CPUs {share:.0%} busy"


if __name__ == "__main__":
    sys.exit(main())
