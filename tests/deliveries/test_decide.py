"""The pure rule of the sweep: which of the App's deliveries to ask GitHub for again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.deliveries import decide_redeliveries
from bot.ports import HookDelivery

NOW = 1_800_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR


def attempt(
    delivery_id: int, guid: str, status: int, ago: float, *, redelivery: bool = False
) -> HookDelivery:
    when = datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return HookDelivery(delivery_id, guid, "issues", "opened", status, redelivery, when)


@dataclass(frozen=True)
class Case:
    id: str
    deliveries: list[HookDelivery]
    expected: list[int]
    known: set[str] = field(default_factory=set)
    window: float = DAY


CASES = [
    Case("failed-and-unknown", [attempt(1, "a", 500, HOUR)], [1]),
    Case("connection-refused-counts-as-failed", [attempt(1, "a", 0, HOUR)], [1]),
    Case("a-redirect-is-not-a-success", [attempt(1, "a", 302, HOUR)], [1]),
    Case("succeeded", [attempt(1, "a", 200, HOUR)], []),
    Case("accepted-202-is-a-success", [attempt(1, "a", 202, HOUR)], []),
    Case("failed-but-stored-by-techlead", [attempt(1, "a", 504, HOUR)], [], known={"a"}),
    Case(
        "failed-then-redelivered-fine",
        [attempt(2, "a", 200, HOUR, redelivery=True), attempt(1, "a", 500, 2 * HOUR)],
        [],
    ),
    Case(
        "several-failed-attempts-count-once-newest-is-asked",
        [
            attempt(3, "a", 0, HOUR, redelivery=True),
            attempt(2, "a", 500, 2 * HOUR, redelivery=True),
            attempt(1, "a", 500, 3 * HOUR),
        ],
        [3],
    ),
    Case("outside-the-window", [attempt(1, "a", 500, 2 * DAY)], []),
    Case(
        "an-old-failure-retried-recently-is-in-the-window",
        [attempt(2, "a", 500, HOUR, redelivery=True), attempt(1, "a", 500, 2 * DAY)],
        [2],
    ),
    Case(
        "window-is-capped-at-githubs-three-days",
        [attempt(1, "a", 500, 4 * DAY)],
        [],
        window=10 * DAY,
    ),
    Case(
        "oldest-first-across-deliveries",
        [attempt(7, "new", 500, HOUR), attempt(5, "old", 500, 5 * HOUR)],
        [5, 7],
    ),
    Case(
        "only-the-unknown-failures",
        [
            attempt(4, "d", 200, HOUR),
            attempt(3, "c", 500, 2 * HOUR),
            attempt(2, "b", 500, 3 * HOUR),
            attempt(1, "a", 500, 4 * HOUR),
        ],
        [1, 3],
        known={"b"},
    ),
    Case(
        "unreadable-timestamp-is-skipped",
        [HookDelivery(1, "a", "issues", "opened", 500, False, "yesterday")],
        [],
    ),
    Case("nothing-in-the-log", [], []),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_decide_redeliveries(case: Case) -> None:
    assert decide_redeliveries(case.deliveries, case.known, NOW, case.window) == case.expected
