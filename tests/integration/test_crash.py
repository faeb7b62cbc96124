"""SIGKILL the worker at random points and start it again: nothing lost, nothing filed twice,
no good message quarantined, and at most one resend per kill (DESIGN invariants 1-3).

The kill points are drawn over the whole run, filing and sending alike: each worker is killed
once the work done (messages filed plus emails the SMTP server received) passes a random mark,
after a random few milliseconds more, so that kills land mid-batch, mid-commit and mid-send.
`INTAKE_BOT_TEST_SEED` replays a run.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter as Tally
from pathlib import Path

import pytest

from tests.integration.worker_procs import (
    Counter,
    append_requests,
    database,
    kill,
    log_tail,
    run_once,
    start,
    starts,
    wait_for,
    worker_env,
    write_config,
)
from tests.servers import DovecotServer, SmtpServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
N = 300
KILLS = 25


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_sigkill_at_random_points_loses_nothing_and_quarantines_nothing(
    kind: str, tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    seed = int(os.environ.get("INTAKE_BOT_TEST_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    dovecot.reset()
    append_requests(dovecot, N)
    with database(kind, tmp_path) as url:
        count = Counter(url)
        try:
            cfg = write_config(tmp_path / "crash.toml", url, dovecot, smtp.port)
            env = worker_env(dovecot, smtp)
            kills = _kill_at_random_points(cfg, env, count, smtp, rng)
            time.sleep(6.5)  # the killed sender's claims lapse (claim_seconds)
            for _ in range(3):  # let it finish: poll what is left, then send what is due
                run_once(cfg, env)
            _assert_all_filed_once_and_answered(count, smtp, dovecot, kills, seed)
        finally:
            count.close()


def _kill_at_random_points(
    cfg: Path, env: dict[str, str], count: Counter, smtp: SmtpServer, rng: random.Random
) -> int:
    def done() -> int:
        return count("SELECT count(*) FROM inbound_message") + len(smtp.messages())

    marks = sorted(rng.sample(range(1, 2 * N), KILLS))
    for mark in marks:
        before = starts(cfg)
        proc = start(cfg, env)
        wait_for(lambda b=before: starts(cfg) > b, 60, "the worker's start", cfg)  # type: ignore[misc]
        deadline = time.monotonic() + 30
        while done() < mark and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.03))
        assert proc.poll() is None, f"the worker exited by itself:\n{log_tail(cfg)}"
        kill(proc)
    return len(marks)


def _assert_all_filed_once_and_answered(
    count: Counter, smtp: SmtpServer, dovecot: DovecotServer, kills: int, seed: int
) -> None:
    replay = f"(INTAKE_BOT_TEST_SEED={seed})"
    assert count("SELECT count(*) FROM inbound_message") == N, replay
    assert count("SELECT count(*) FROM inbound_message WHERE outcome = 'quarantined'") == 0, replay
    assert count("SELECT count(*) FROM request") == N, replay
    assert count("SELECT count(DISTINCT dedupe_key) FROM inbound_message") == N, replay
    assert count("SELECT count(*) FROM outbox") == N, replay
    assert count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0, replay
    expected = {str(row[0]) for row in count.rows("SELECT message_id FROM outbox")}
    received = Tally((m.message_id or "").strip() for m in smtp.messages())
    assert set(received) == expected, replay  # every acknowledgement arrived
    resent = sum(n - 1 for n in received.values())
    assert resent <= kills, f"{resent} resent for {kills} kills {replay}"
    with dovecot.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("ALL") == [], replay
        client.select_folder("Processed", readonly=True)
        assert len(client.search("ALL")) == N, replay
