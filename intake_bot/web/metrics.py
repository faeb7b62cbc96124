"""`/metrics` for Prometheus: figures read from the database at each scrape (the worker is
another process), so any console process gives the same answer. Aggregates only: no
reference, address or subject is ever a label."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from intake_bot.domain.metrics import Metrics
from intake_bot.web.auth import application


def families(m: Metrics) -> Iterator[Metric]:
    yield _by(m.messages, "messages", "Messages taken from the mailboxes, by outcome", "outcome")
    yield _by(m.queues, "queue_size", "Open requests and messages waiting, by queue", "queue")
    yield _by(m.outbox, "outbox_emails", "Outgoing emails by status (sent, pending...)", "status")
    age = GaugeMetricFamily(
        "intake_bot_last_poll_age_seconds",
        "Seconds since each mailbox's last poll",
        labels=["mailbox"],
    )
    ok = GaugeMetricFamily(
        "intake_bot_last_poll_ok", "1 when a mailbox's last poll worked", labels=["mailbox"]
    )
    took = GaugeMetricFamily(
        "intake_bot_last_poll_duration_seconds",
        "How long each mailbox's last poll took",
        labels=["mailbox"],
    )
    for box in m.mailboxes:
        if box.last is not None:
            age.add_metric([box.name], (m.now - box.last.polled_at).total_seconds())
            ok.add_metric([box.name], 1.0 if box.last.ok else 0.0)
            if box.last.seconds is not None:
                took.add_metric([box.name], box.last.seconds)
    yield age
    yield ok
    yield took


def _by(counts: dict[str, int], name: str, help_text: str, label: str) -> Metric:
    family = GaugeMetricFamily(f"intake_bot_{name}", help_text, labels=[label])
    for key, n in sorted(counts.items()):
        family.add_metric([key], n)
    return family


class _Scrape:
    """A collector over one `Metrics` reading."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return families(self.metrics)


def metrics(request: Request) -> Response:  # sync: Starlette runs it in a thread
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(application(request).operations.metrics()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
