"""Web console benchmark: 50,000 requests in PostgreSQL, 10 staff at once.

A fresh PostgreSQL database gets --n requests (a realistic spread over the four regional
offices, every kind, about a tenth overdue) written straight into its tables, one staff
account, and the console served on loopback as `intake-bot web --workers N` (--workers). Then
--users threads, each signed in as a North caseworker, fetch in turn the queues page, a queue
page, a filtered queue page, a search and a request page, --rounds times each, pausing --think
seconds on average after each page as a person reading it would (0: no pause, the console
saturated: then the figures measure the queue for two CPUs, the load generator's share
included, more than the console). The figure is the
console's own time per response (its Server-Timing header), p50 and p95 per kind of page; the
wall time seen by the client is shown beside it.

Usage: python bench/web.py [--n 50000] [--users 10] [--rounds 30] [--workers 2] [--json F]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from _common import machine, make_settings, new_app, print_table, sql_store, write_json

from intake_bot.samples import new_request
from tests.servers import free_port, postgres_reachable, temporary_postgres_database

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "a benchmark password"
USER = "casey.north@nhs.net"
OFFICES = ("North", "Midlands and East", "London", "South")
KINDS = ("new", "change", "end", "incomplete", "verification")
PAGES = ("queues", "queue", "filtered queue", "search", "request")
GOAL_MS = 150.0


def fill(url: str, n: int) -> None:
    """`n` open requests, written with SQL in batches (filing 50,000 emails is another
    benchmark's job); one inbound message that they all came from."""
    from sqlalchemy import insert, text
    from sqlmodel import col

    from intake_bot.store.request_queries import search_text
    from intake_bot.store.tables import InboundMessageRow, RequestRow

    app = new_app(_settings(url))
    store = sql_store(app)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    rng = random.Random(7)
    with store.engine.begin() as conn:
        (inbound,) = conn.execute(
            insert(InboundMessageRow).returning(col(InboundMessageRow.id)),
            [
                {
                    "dedupe_key": "bench",
                    "mailbox": "bench",
                    "location": "1",
                    "sha256": "0" * 64,
                    "size": 1,
                    "raw": b"x",
                    "filed_at": now,
                    "outcome": "filed",
                }
            ],
        ).one()
        for start in range(0, n, 5000):
            rows: list[dict[str, Any]] = []
            for i in range(start, min(n, start + 5000)):
                values = new_request(i)
                office, kind = OFFICES[i % 4], KINDS[rng.randrange(5)]
                created = now - timedelta(minutes=i)
                rows.append(
                    {
                        "inbound_id": inbound,
                        "source": "bench",
                        "request_type": "new",
                        "status": "triaged",
                        "queue": f"{office.lower().replace(' ', '-')}/{kind}",
                        "dscro": office,
                        "values": values,
                        "problems": [],
                        "flags": [],
                        "requester_email": values["requester_email"],
                        "sender_email": values["requester_email"],
                        "commissioner_ods": values["commissioner_ods"],
                        "due_on": (created + timedelta(days=rng.randrange(-3, 30))).date(),
                        "created_at": created,
                        "updated_at": created,
                        "search_text": search_text(values, values["requester_email"]),
                        "office": office.lower().replace(" ", "-"),
                    }
                )
            conn.execute(insert(RequestRow), rows)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE request"))  # as autovacuum would, after a bulk load
    app.staff.add(
        USER, name="Casey", offices=["North"], role="caseworker", password=PASSWORD, actor="bench"
    )
    store.dispose()


# The console never polls or sends here; the settings only need somewhere to point.
SCRATCH = Path(tempfile.gettempdir()) / "intake-bot-bench-web"


def _settings(url: str) -> Any:
    return make_settings(
        database_url=url,
        mailbox_url=f"maildir:{SCRATCH / 'mail'}",
        mailbox_password="x",
        outgoing_url=f"file:{SCRATCH / 'outbox'}",
    )


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """The console as an operator starts it: `intake-bot web --workers N`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_BOT_")}
    env.update(
        INTAKE_BOT_DATABASE_URL=url,
        INTAKE_BOT_MAILBOX_URL=f"maildir:{SCRATCH / 'mail'}",
        INTAKE_BOT_OUTGOING_URL=f"file:{SCRATCH / 'outbox'}",
        INTAKE_BOT_WEB_SECRET="b" * 48,
        INTAKE_BOT_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "intake_bot", "web", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--workers", str(workers)], cwd=REPO, env=env, stdout=subprocess.DEVNULL
    )


class Client:
    """One signed-in member of staff, with their own cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[float, float, str]:
        """(server ms, wall ms, body)."""
        started = time.perf_counter()
        with self.opener.open(self.base + path, timeout=30) as response:
            body = response.read().decode()
            timing = response.headers.get("Server-Timing", "app;dur=0")
        wall = (time.perf_counter() - started) * 1000
        return float(timing.split("dur=")[1]), wall, body

    def sign_in(self) -> None:
        _, _, page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        data = urllib.parse.urlencode({"email": USER, "password": PASSWORD, "csrf": token})
        self.opener.open(self.base + "/login", data.encode(), timeout=30).read()


def run_users(
    base: str, users: int, rounds: int, references: list[str], think: float
) -> dict[str, Any]:
    timings: dict[str, list[tuple[float, float]]] = defaultdict(list)
    lock = threading.Lock()
    clients = [Client(base) for _ in range(users)]
    for client in clients:
        client.sign_in()
    paths: dict[str, Callable[[int], str]] = {
        "queues": lambda r: "/queues",
        "queue": lambda r: "/queues/north/new",
        "filtered queue": lambda r: "/queues/north/new?q=Leeds&sort=due",
        "search": lambda r: "/search?q=" + ("Darlington", "02V", "aisha")[r % 3],
        "request": lambda r: f"/requests/{references[r % len(references)]}",
    }

    def work(client: Client, seed: int) -> None:
        pause = random.Random(seed)
        for r in range(rounds):
            for page in PAGES:
                server, wall, _ = client.get(paths[page](seed * rounds + r))
                with lock:
                    timings[page].append((server, wall))
                if think:  # a person reads the page before the next click
                    time.sleep(pause.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=work, args=(c, i)) for i, c in enumerate(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": round(elapsed, 1), "pages": {}}
    for page in PAGES:
        server = sorted(s for s, _ in timings[page])
        wall = sorted(w for _, w in timings[page])
        result["pages"][page] = {
            "count": len(server),
            "server_p50_ms": round(statistics.median(server), 1),
            "server_p95_ms": round(server[int(0.95 * (len(server) - 1))], 1),
            "wall_p95_ms": round(wall[int(0.95 * (len(wall) - 1))], 1),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="requests (default 50000)")
    parser.add_argument("--users", type=int, default=10, help="staff at once (default 10)")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of the five pages each")
    parser.add_argument("--workers", type=int, default=2, help="console processes (default 2)")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds each user reads a page before the next (0: no pause, saturation)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    reachable, why = postgres_reachable()
    if not reachable:
        print(f"PostgreSQL is needed: {why}", file=sys.stderr)
        return 2
    with temporary_postgres_database() as url:
        started = time.perf_counter()
        fill(url, args.n)
        loaded = time.perf_counter() - started
        port = free_port()
        server = serve(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        north = [f"LR-{i + 1:06d}" for i in range(0, args.n, 4)][:500]
        try:
            figures = run_users(base, args.users, args.rounds, north, args.think)
        finally:
            server.terminate()
            server.wait(20)
    rows = [
        ("requests", f"{args.n:,} in PostgreSQL (loaded in {loaded:.1f} s)"),
        (
            "load",
            f"{args.users} signed-in caseworkers at once against {args.workers} console"
            f" process(es), {args.rounds} rounds of the five pages each, reading each page"
            f" {args.think:g} s on average ({figures['seconds']} s)",
        ),
    ]
    met = True
    for page, f in figures["pages"].items():
        ok = f["server_p95_ms"] < GOAL_MS
        met = met and ok
        rows.append(
            (
                page,
                f"server p50 {f['server_p50_ms']:6.1f} ms, p95 {f['server_p95_ms']:6.1f}"
                f" ms ({'met' if ok else 'MISSED'}: < {GOAL_MS:.0f}); client p95"
                f" {f['wall_p95_ms']:.1f} ms; {f['count']} responses",
            )
        )
    m = machine()
    title = f"intake-bot web benchmark, {date.today()}, {m['nproc']} CPUs, Python {m['python']}"
    print_table(title, rows)
    if args.json:
        run = {"n": args.n, "users": args.users, "workers": args.workers, "think": args.think}
        write_json(args.json, {**run, "machine": machine(), **figures})
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
