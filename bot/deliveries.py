"""Missed webhook deliveries: ask GitHub again for those that failed and TechLead never stored.

GitHub tries each delivery once and never redelivers by itself; it keeps the App's
delivery log for three days, and an App may redeliver any attempt from it
(``POST /app/hook/deliveries/{id}/attempts``, same ``X-GitHub-Delivery``).
https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries

:func:`decide_redeliveries` is the pure rule; :func:`sweep` is the adapter that reads
the log through the GitHub port, asks the durable store which deliveries it has, and
redelivers the rest. ``serve`` may call :func:`sweep` periodically.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.context import Clock
from bot.errors import GitHubError
from bot.ports import HookDelivery, HookDeliveryLog

# GitHub keeps deliveries (and lets an App redeliver them) for three days.
REDELIVERY_WINDOW = 3 * 24 * 3600.0
DEFAULT_WINDOW = REDELIVERY_WINDOW


class KnownDeliveries(Protocol):
    """TechLead's durable store: a delivery it accepted is there under its guid."""

    def get_delivery(self, delivery_id: str) -> object | None: ...


@dataclass(frozen=True)
class SweepReport:
    """What one sweep saw and did."""

    listed: int  # attempts in the window
    failed: tuple[str, ...]  # guids whose every attempt failed
    known: tuple[str, ...]  # ... of which TechLead already has the delivery
    redelivered: tuple[int, ...]  # delivery ids GitHub was asked to redeliver
    errors: tuple[str, ...] = ()  # redeliveries GitHub refused (id: reason)


def succeeded(delivery: HookDelivery) -> bool:
    return 200 <= delivery.status_code < 300


def delivered_at(delivery: HookDelivery) -> float | None:
    """The attempt's time in epoch seconds, None when the log's value is unreadable."""
    try:
        return datetime.fromisoformat(delivery.delivered_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _in_window(delivery: HookDelivery, now: float, window: float) -> bool:
    when = delivered_at(delivery)
    return when is not None and now - window <= when <= now + 60  # 60 s of clock drift


def by_guid(deliveries: Iterable[HookDelivery]) -> dict[str, list[HookDelivery]]:
    """Attempts grouped by delivery guid (a redelivery keeps its guid)."""
    groups: dict[str, list[HookDelivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.guid, []).append(delivery)
    return groups


def failed_guids(deliveries: Iterable[HookDelivery], now: float, window: float) -> list[str]:
    """Guids with an attempt in the window and no successful attempt at all."""
    return [
        guid
        for guid, attempts in by_guid(deliveries).items()
        if not any(succeeded(a) for a in attempts)
        and any(_in_window(a, now, window) for a in attempts)
    ]


def decide_redeliveries(
    deliveries: Sequence[HookDelivery], known_guids: Collection[str], now: float, window: float
) -> list[int]:
    """Delivery ids to redeliver, oldest first: one per guid that failed and is unknown.

    Several attempts of one guid count as one delivery; any successful attempt, or the
    guid being in TechLead's store, means nothing was lost. The newest attempt is the
    one redelivered. ``window`` is capped at GitHub's three days.
    """
    window = min(window, REDELIVERY_WINDOW)
    groups = by_guid(deliveries)
    chosen = []
    for guid in failed_guids(deliveries, now, window):
        if guid in known_guids:
            continue
        newest = max(groups[guid], key=lambda a: (delivered_at(a) or 0.0, a.id))
        chosen.append(newest)
    chosen.sort(key=lambda a: (min(delivered_at(x) or 0.0 for x in groups[a.guid]), a.id))
    return [attempt.id for attempt in chosen]


def sweep(
    port: HookDeliveryLog, store: KnownDeliveries, clock: Clock, window: float = DEFAULT_WINDOW
) -> SweepReport:
    """Read the App's recent delivery log and redeliver what TechLead missed."""
    now = clock.now()
    window = min(window, REDELIVERY_WINDOW)
    deliveries = port.hook_deliveries_since(now - window)
    failed = failed_guids(deliveries, now, window)
    known = [guid for guid in failed if store.get_delivery(guid) is not None]
    ids = decide_redeliveries(deliveries, known, now, window)
    done, errors = _redeliver(port, ids)
    return SweepReport(len(deliveries), tuple(failed), tuple(known), tuple(done), tuple(errors))


def log_fields(report: SweepReport) -> dict[str, object]:
    """The report as log fields (``serve`` logs each periodic sweep with these)."""
    return {
        "listed": report.listed,
        "failed": len(report.failed),
        "known": len(report.known),
        "redelivered": list(report.redelivered),
        "errors": list(report.errors),
    }


def _redeliver(port: HookDeliveryLog, ids: Sequence[int]) -> tuple[list[int], list[str]]:
    """Ask for each redelivery; one refusal does not stop the others."""
    done: list[int] = []
    errors: list[str] = []
    for delivery_id in ids:
        try:
            port.redeliver(delivery_id)
        except GitHubError as exc:
            errors.append(f"{delivery_id}: {exc}")
            continue
        done.append(delivery_id)
    return done, errors


class PeriodicSweep:
    """Sweeps at start and then every ``interval`` seconds, on a daemon thread.

    Each sweep looks back three intervals (capped at GitHub's three days), so a sweep
    that fails, for example while GitHub is unavailable, is covered by the next one.
    A failed sweep is logged and never stops the loop.
    """

    def __init__(
        self,
        port: HookDeliveryLog,
        store: KnownDeliveries,
        clock: Clock,
        interval: float,
        log: Any,
    ) -> None:
        self._port = port
        self._store = store
        self._clock = clock
        self._interval = interval
        self._window = min(3 * interval, REDELIVERY_WINDOW)
        self._log = log
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="delivery-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self) -> SweepReport | None:
        try:
            report = sweep(self._port, self._store, self._clock, self._window)
        except GitHubError as exc:
            self._log.warning("delivery_sweep_failed", error=str(exc))
            return None
        self._log.info("delivery_sweep", **log_fields(report))
        return report

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self._interval)
