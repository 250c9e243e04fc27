"""The GitHub rate-limit budget last seen per identity, kept in the store for the dashboard.

The GitHub client reports every response's ``X-RateLimit-*`` headers; jobs run in
several worker processes, so the figures are written to the shared SQLite store,
where the server's dashboard and ``techlead status`` read them. Writes are sparse:
at most one per identity every :data:`WRITE_INTERVAL` seconds, plus every change
that matters (the budget ran out, or a new window began).
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.context import Clock
from bot.errors import QueueError
from bot.log import get_logger
from bot.store import Store

WRITE_INTERVAL = 5.0
SCHEMA = """CREATE TABLE IF NOT EXISTS rate_limits (
    identity  TEXT PRIMARY KEY,
    remaining INTEGER NOT NULL,
    quota     INTEGER,
    reset_at  REAL,
    seen_at   REAL NOT NULL
)"""
_UPSERT = (
    "INSERT INTO rate_limits (identity, remaining, quota, reset_at, seen_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (identity) DO UPDATE SET "
    "remaining = excluded.remaining, quota = excluded.quota, "
    "reset_at = excluded.reset_at, seen_at = excluded.seen_at"
)


@dataclass(frozen=True)
class Budget:
    """One identity's budget (``installation:42``, ``token``, ``app``) as last seen."""

    identity: str
    remaining: int
    limit: int | None = None
    reset_at: float | None = None
    seen_at: float = 0.0


class RateLimitBook:
    """Records budgets in ``store``; cheap to call on every GitHub response."""

    def __init__(self, store: Store, clock: Clock, interval: float = WRITE_INTERVAL) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._written: dict[str, Budget] = {}
        self._lock = threading.Lock()
        with store.transaction() as conn:
            conn.execute(SCHEMA)

    def note(
        self, identity: str, remaining: int, limit: int | None = None, reset_at: float | None = None
    ) -> None:
        budget = Budget(identity, remaining, limit, reset_at, self._clock.now())
        with self._lock:
            if not worth_writing(self._written.get(identity), budget, self._interval):
                return
            self._written[identity] = budget
        try:
            with self._store.transaction() as conn:
                conn.execute(_UPSERT, (identity, remaining, limit, reset_at, budget.seen_at))
        except QueueError:
            # Only the dashboard reads this; a busy store must not fail the job.
            get_logger().warning("rate_limit_not_recorded", identity=identity)


def worth_writing(last: Budget | None, seen: Budget, interval: float) -> bool:
    """Write the first sight, a new window, an exhausted budget, or after ``interval``."""
    if last is None or last.reset_at != seen.reset_at or last.limit != seen.limit:
        return True
    if seen.remaining == 0 and last.remaining != 0:
        return True
    return seen.seen_at - last.seen_at >= interval


def read_budgets(store: Store) -> list[Budget]:
    """Every recorded budget, by identity (none before the first GitHub response)."""
    with store.reading() as conn:
        found = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'rate_limits'"
        ).fetchone()
        if found is None:
            return []
        rows = conn.execute(
            "SELECT identity, remaining, quota, reset_at, seen_at FROM rate_limits "
            "ORDER BY identity"
        ).fetchall()
    return [Budget(str(i), int(r), q, s, float(seen)) for i, r, q, s, seen in rows]
