"""Backlog benchmark on PostgreSQL: one worker against several, polling and then sending.

A large backlog (--n request emails plus 5% noise; a quarter of the requests with the form
attached, the rest typed into the body) waits in a private Dovecot.

1. Poll: for each count in --pollers, a fresh PostgreSQL database and that many worker
   processes polling the same mailbox (flag-only mode, so every run sees the same backlog).
   The per-mailbox database lease lets one of them poll at a time; the others are told to wait
   and try again (here at once, in a tight loop, rather than at the next interval).
2. Send: the acknowledgements the poll queued go out to a real SMTP server on loopback, for
   each count in --senders, by that many processes claiming outbox rows with
   FOR UPDATE SKIP LOCKED, each sending until nothing is due. Every row must arrive exactly once.

Each process reports its throughput share and its peak resident memory, which must stay under
--max-rss MB.

Usage: python bench/backlog.py [--n 10000] [--pollers 1,3] [--senders 1,3] [--json out.json]
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from _common import (
    append_all,
    build_corpus,
    check_filed,
    cpu_jiffies,
    imap_url,
    machine,
    machine_busy,
    make_settings,
    new_app,
    peak_rss_mb,
    print_table,
    quiet_logging,
    rss_mb,
    sql_store,
    table_counts,
    write_json,
)
from sqlalchemy import text

from intake_bot.bootstrap import App
from intake_bot.worker import Worker
from tests.servers import (
    postgres_reachable,
    private_dovecot,
    running_smtp_server,
    temporary_postgres_database,
)

IMAP_USER, IMAP_PASSWORD = "intake", "intake-secret"
SMTP_USER, SMTP_PASSWORD = "mailer", "mailer-secret"
RETRY_SECONDS = 0.1  # a worker told that another one holds the mailbox tries again this soon
MAX_JOB_ERRORS = 20
MAX_RSS_MB = 300  # the peak resident memory a worker process may reach


@dataclass(frozen=True)
class Servers:
    database_url: str
    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    workdir: str

    def app(self, name: str, *, migrate_schema: bool = False) -> App:
        work = Path(self.workdir) / name
        work.mkdir(parents=True, exist_ok=True)
        settings = make_settings(
            database_url=self.database_url,
            mailbox_url=imap_url(self.imap_host, self.imap_port, IMAP_USER),
            mailbox_password=IMAP_PASSWORD,
            outgoing_url=f"smtp://{SMTP_USER}@{self.smtp_host}:{self.smtp_port}?tls=none",
            outgoing_password=SMTP_PASSWORD,
            processed_folder="",  # flag only: the next run finds the same backlog
        )
        return new_app(settings, migrate_schema=migrate_schema)


# -- the worker processes --------------------------------------------------------------------


def poll_worker(servers: Servers, name: str, ready: Queue[Any], go: Event, out: Queue[Any]) -> None:
    """Poll until the mailbox holds nothing new, as a worker that polls without pause would."""
    quiet_logging(Path(servers.workdir) / f"{name}.log")
    app = servers.app(name)
    worker = Worker(app)
    before = rss_mb()
    ready.put(name)
    go.wait()
    start, cpu = time.perf_counter(), time.process_time()
    examined = filed = skipped = polls = errors = 0
    busy = 0.0
    job_errors: list[str] = []
    while True:
        poll_start = time.perf_counter()
        try:
            report = worker.poll()
        except Exception as exc:  # the scheduler logs a job that raises and runs it again
            job_errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            if len(job_errors) > MAX_JOB_ERRORS:
                raise
            time.sleep(RETRY_SECONDS)
            continue
        polls += 1
        if report is None:
            raise RuntimeError(f"{name}: a poll failed (see {name}.log)")
        if report.skipped:
            skipped += 1
            time.sleep(RETRY_SECONDS)
            continue
        busy += time.perf_counter() - poll_start
        examined += report.examined
        filed += report.filed
        errors += report.errors  # messages whose filing raised: left for the next poll
        if report.examined == 0:
            break
    sql_store(app).dispose()
    out.put(
        {
            "name": name,
            "examined": examined,
            "filed": filed,
            "polls": polls,
            "skipped": skipped,
            "errors": errors,
            "job_errors": job_errors,
            "polling_s": busy,
            "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu,
            "rss_before_mb": before,
            "peak_rss_mb": peak_rss_mb(),
        }
    )


def send_worker(servers: Servers, name: str, ready: Queue[Any], go: Event, out: Queue[Any]) -> None:
    """Send what is due, as the sender job does on each tick, until a run finds nothing due.

    One run (`send_due`) drains the outbox; the loop is for the senders that found it taken.
    """
    quiet_logging(Path(servers.workdir) / f"{name}.log")
    app = servers.app(name)
    worker = Worker(app)
    before = rss_mb()
    ready.put(name)
    go.wait()
    start, cpu = time.perf_counter(), time.process_time()
    sent = deferred = failed = runs = 0
    while True:
        report = worker.send()
        if report is None:
            raise RuntimeError(f"{name}: sending failed (see {name}.log)")
        if not (report.sent or report.deferred or report.failed):
            break  # the outbox is empty: this run is not counted
        runs += 1
        sent, deferred, failed = (
            sent + report.sent,
            deferred + report.deferred,
            failed + report.failed,
        )
    sql_store(app).dispose()
    out.put(
        {
            "name": name,
            "sent": sent,
            "deferred": deferred,
            "failed": failed,
            "runs": runs,
            "seconds": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu,
            "rss_before_mb": before,
            "peak_rss_mb": peak_rss_mb(),
        }
    )


def run_together(target: Any, servers: Servers, count: int, prefix: str) -> dict[str, Any]:
    """Start `count` processes, let them begin at the same moment, and gather their reports."""
    ctx = get_context("spawn")
    ready: Queue[Any] = ctx.Queue()
    out: Queue[Any] = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=target, args=(servers, f"{prefix}-{i + 1}", ready, go, out))
        for i in range(count)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    start, cpu, jiffies = time.perf_counter(), time.process_time(), cpu_jiffies()
    go.set()
    reports: list[dict[str, Any]] = []
    while len(reports) < count:
        try:
            reports.append(out.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                for proc in procs:
                    proc.kill()
                raise RuntimeError(f"a {prefix} process failed (exit code {dead[0]})") from None
    elapsed = time.perf_counter() - start
    busy = machine_busy(jiffies, cpu_jiffies())
    # This process only waits meanwhile, but the SMTP server runs in one of its threads.
    here_cpu = time.process_time() - cpu
    for proc in procs:
        proc.join(timeout=60)
        if proc.exitcode != 0:
            raise RuntimeError(f"a {prefix} process exited with {proc.exitcode}")
    return {
        "processes": count,
        "seconds": elapsed,
        "smtp_server_cpu_s": here_cpu,
        "machine_busy": busy,
        "workers": sorted(reports, key=lambda r: r["name"]),
    }


# -- the run ---------------------------------------------------------------------------------


def reset_outbox(app: App) -> int:
    """Everything queued back to pending and due, as the poll left it."""
    with sql_store(app).engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE outbox SET status = 'pending', attempts = 0, sent_at = NULL,"
                " last_error = '', next_attempt_at = created_at"
            )
        )
        return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())


def outbox_ids(app: App) -> Counter[str]:
    with sql_store(app).engine.connect() as conn:
        return Counter(str(r[0]) for r in conn.execute(text("SELECT message_id FROM outbox")))


def over_memory(figures: dict[str, Any], limit_mb: float) -> list[str]:
    """Every worker process whose peak resident memory passed `limit_mb`."""
    return [
        f"{w['name']}: peak RSS {w['peak_rss_mb']:.0f} MB, over {limit_mb:.0f} MB"
        for run in figures["polls"] + figures["sends"]
        for w in run["workers"]
        if w["peak_rss_mb"] > limit_mb
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="request emails (default 10000)")
    parser.add_argument(
        "--attached", type=float, default=0.25, help="share of requests with a file (0.25)"
    )
    parser.add_argument("--pollers", default="1,3", help="worker processes per poll run")
    parser.add_argument("--senders", default="1,3", help="sender processes per send run")
    parser.add_argument(
        "--max-rss", type=float, default=MAX_RSS_MB, help="peak MB allowed per process (300)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    pollers = [int(p) for p in args.pollers.split(",")]
    senders = [int(s) for s in args.senders.split(",")]
    quiet_logging()  # the SMTP server runs in this process and logs every session
    reachable, why = postgres_reachable()
    if not reachable:
        print(f"PostgreSQL is needed: {why}", file=sys.stderr)
        return 2

    figures: dict[str, Any] = {"machine": machine(), "n": args.n, "polls": [], "sends": []}
    problems: list[str] = []  # what breaks a promise: lost, filed twice, sent twice
    notes: list[str] = []  # what a scheduler would log and retry
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="intake-bench-"))
        dovecot = stack.enter_context(private_dovecot(users={IMAP_USER: IMAP_PASSWORD}))
        smtp = stack.enter_context(running_smtp_server(user=SMTP_USER, password=SMTP_PASSWORD))

        corpus = build_corpus(args.n, attached=args.attached)
        size_mb = corpus.size_bytes / 2**20
        with dovecot.client(timeout=300) as client:
            load_s = append_all(client, "INBOX", corpus.messages)
        figures["corpus"] = {**corpus.expected(), "megabytes": size_mb, "load_s": load_s}
        total = corpus.total
        corpus.messages.clear()
        print(f"loaded {total} emails ({size_mb:.0f} MB) in {load_s:.1f} s", file=sys.stderr)

        app: App | None = None
        servers: Servers | None = None
        for count in pollers:
            url = stack.enter_context(temporary_postgres_database())
            servers = Servers(url, dovecot.host, dovecot.port, smtp.host, smtp.port, tmp)
            if app is not None:
                sql_store(app).dispose()
            app = servers.app(f"setup-{count}", migrate_schema=True)
            run = run_together(poll_worker, servers, count, f"poll{count}")
            run["counts"] = counts = table_counts(app)
            run["rate"] = total / run["seconds"]
            figures["polls"].append(run)
            problems += [f"{count} poller(s): {p}" for p in check_filed(counts, corpus)]
            for w in run["workers"]:
                notes += [f"{w['name']}: the poll job raised {e}" for e in w["job_errors"]]
                if w["errors"]:
                    problems.append(f"{w['name']}: filing raised {w['errors']} times (see its log)")
            examined = sum(w["examined"] for w in run["workers"])
            if examined != total:
                problems.append(f"{count} poller(s): {examined} examined, expected {total}")
            print(f"poll, {count} process(es): {run['rate']:.0f} msg/s", file=sys.stderr)

        assert app is not None and servers is not None
        for count in senders:
            queued = reset_outbox(app)
            smtp.clear()
            run = run_together(send_worker, servers, count, f"send{count}")
            received = Counter(m.message_id for m in smtp.messages())
            run["queued"] = queued
            run["received"] = sum(received.values())
            run["twice"] = sum(1 for n in received.values() if n > 1)
            run["rate"] = queued / run["seconds"]
            figures["sends"].append(run)
            if received != outbox_ids(app):
                problems.append(
                    f"{count} sender(s): {run['received']} received for {queued} queued, "
                    f"{run['twice']} more than once"
                )
            if table_counts(app)["outbox_sent"] != queued:
                problems.append(f"{count} sender(s): not every outbox row is marked sent")
            print(f"send, {count} process(es): {run['rate']:.0f} emails/s", file=sys.stderr)
        sql_store(app).dispose()
    problems += over_memory(figures, args.max_rss)
    figures["max_rss_mb"] = args.max_rss
    figures["problems"] = problems
    figures["notes"] = notes
    _report(figures)
    if args.json:
        write_json(args.json, figures)
    return 1 if problems else 0


def _report(f: dict[str, Any]) -> None:
    m, c = f["machine"], f["corpus"]
    print_table(
        f"intake-bot backlog benchmark (PostgreSQL), {m['date']}, {m['cpu_count']} CPUs "
        f"(nproc {m['nproc']}, load {m['load_average_at_start']:.1f}), Python {m['python']}",
        [
            (
                "backlog",
                f"{c['messages']} emails ({c['megabytes']:.0f} MB), {c['matching']} on the "
                f"subject, {c['requests']} requests, {c['replies']} replies to send",
            ),
            ("loading (not counted)", f"{c['load_s']:.1f} s MULTIAPPEND"),
        ],
    )
    rows: list[tuple[str, str]] = []
    base = f["polls"][0]["rate"] if f["polls"] else 0.0
    for run in f["polls"]:
        rows.append(
            (
                f"{run['processes']} process(es)",
                f"{run['rate']:6.1f} msg/s  ({run['seconds']:.1f} s, "
                f"{run['rate'] / base:.2f}x one; {_busy(run)})",
            )
        )
        for w in run["workers"]:
            rows.append(
                (
                    f"  {w['name']}",
                    f"{w['examined']} examined, told to wait {w['skipped']} times, "
                    f"{len(w['job_errors'])} poll(s) raised, {w['errors']} filing error(s); "
                    f"CPU {w['cpu_s']:.1f} s; peak RSS {w['peak_rss_mb']:.0f} MB",
                )
            )
    print_table("Poll: the backlog filed into PostgreSQL (one poller at a time: a lease)", rows)
    rows = []
    base = f["sends"][0]["rate"] if f["sends"] else 0.0
    for run in f["sends"]:
        rows.append(
            (
                f"{run['processes']} process(es)",
                f"{run['rate']:6.1f} emails/s  ({run['seconds']:.1f} s, "
                f"{run['rate'] / base:.2f}x one; {run['received']} received, "
                f"{run['twice']} twice; SMTP server CPU {run['smtp_server_cpu_s']:.1f} s; "
                f"{_busy(run)})",
            )
        )
        for w in run["workers"]:
            rows.append(
                (
                    f"  {w['name']}",
                    f"{w['sent']} sent in {w['runs']} send run(s) that found mail due; "
                    f"CPU {w['cpu_s']:.1f} s; peak RSS {w['peak_rss_mb']:.0f} MB",
                )
            )
    print_table("Send: the outbox over SMTP, rows claimed with FOR UPDATE SKIP LOCKED", rows)
    peak = max(
        (w["peak_rss_mb"] for run in f["polls"] + f["sends"] for w in run["workers"]), default=0.0
    )
    rows = [("result", "; ".join(f["problems"]) or "every email filed once and sent once")]
    rows.append(
        ("memory", f"highest peak RSS of a process {peak:.0f} MB (limit {f['max_rss_mb']:.0f} MB)")
    )
    rows += [("note", note) for note in f["notes"]]
    print_table("Check", rows)


def _busy(run: dict[str, Any]) -> str:
    share = run.get("machine_busy")
    return "all CPUs busy: n/a" if share is None else f"all CPUs {share:.0%} busy"


if __name__ == "__main__":
    sys.exit(main())
