"""Prometheus metrics on an app-owned registry: deliveries, queue, jobs, GitHub requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.errors import QueueError
from bot.queue import QueueStats
from bot.rate_limits import RateLimitBook

CONTENT_TYPE = CONTENT_TYPE_LATEST
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
ANSWER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)


class Metrics:
    """Every metric TechLead exports; one instance per app, never the global registry.

    The GitHub port calls :meth:`record_github_request` with the *templated* route
    (``"GET /repos/{owner}/{repo}/pulls/{pull_number}"``), never a concrete URL, so
    the label set stays small.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Where budgets are also kept for the dashboard (set by ``bot.app.build_services``).
        self.budgets: RateLimitBook | None = None
        self._deliveries = Counter(
            "techlead_deliveries",
            "Webhook deliveries answered, by event, action and outcome.",
            ["event", "action", "outcome"],
            registry=self.registry,
        )
        self._answer = Histogram(
            "techlead_webhook_answer_seconds",
            "Time from reading a delivery to answering it.",
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self._jobs = Histogram(
            "techlead_job_duration_seconds",
            "Job run time, by kind and outcome.",
            ["kind", "outcome"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self._github = Counter(
            "techlead_github_requests",
            "GitHub API requests, by templated route and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
        self._remaining = Gauge(
            "techlead_github_rate_limit_remaining",
            "X-RateLimit-Remaining last seen, by installation.",
            ["installation"],
            registry=self.registry,
        )

    def record_delivery(self, event: str, action: str | None, outcome: str) -> None:
        self._deliveries.labels(event, action or "", outcome).inc()

    def observe_answer(self, seconds: float) -> None:
        self._answer.observe(seconds)

    def observe_job(self, kind: str, outcome: str, seconds: float) -> None:
        self._jobs.labels(kind, outcome).observe(seconds)

    def record_github_request(self, route: str, status: int | str) -> None:
        self._github.labels(route, str(status)).inc()

    def set_rate_limit_remaining(
        self,
        installation: int | str | None,
        remaining: int,
        limit: int | None = None,
        reset_at: float | None = None,
    ) -> None:
        identity = "" if installation is None else str(installation)
        self._remaining.labels(identity).set(remaining)
        if self.budgets is not None:
            self.budgets.note(identity, remaining, limit, reset_at)

    def watch_queue(self, stats: Callable[[], QueueStats]) -> None:
        """Report queue depth and the oldest due job's age at every scrape."""
        self.registry.register(_QueueCollector(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    def __init__(self, stats: Callable[[], QueueStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self._stats()
        except QueueError:
            return
        depth = GaugeMetricFamily("techlead_queue_jobs", "Jobs by state.", labels=["state"])
        for state, count in stats.by_state.items():
            depth.add_metric([state.value], count)
        yield depth
        yield GaugeMetricFamily(
            "techlead_queue_oldest_ready_seconds",
            "How long the oldest due pending job has waited.",
            value=stats.oldest_ready_age,
        )
