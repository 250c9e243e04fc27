"""Primary rate limits: an hourly request budget per installation, user, App and anonymous caller.

GitHub: 5,000 requests per hour for users and installations, 60 for anonymous callers;
a ``304 Not Modified`` answer to a conditional request costs nothing.
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from bot.sandbox.clock import Clock

WINDOW_SECONDS = 3600
DEFAULT_LIMITS = {"installation": 5000, "user": 5000, "app": 5000, "anonymous": 60}


@dataclass
class Budget:
    limit: int
    used: int
    reset_at: float

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }


class RateLimiter:
    """Budgets keyed like ``installation:42``; each resets an hour after its first use."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}
        self._limits: dict[str, int] = {}

    def _current(self, key: str) -> Budget:
        now = self._clock.now()
        budget = self._budgets.get(key)
        if budget is None or now >= budget.reset_at:
            budget = Budget(self._limit_for(key), 0, now + WINDOW_SECONDS)
            self._budgets[key] = budget
        return budget

    def _limit_for(self, key: str) -> int:
        return self._limits.get(key, DEFAULT_LIMITS.get(key.split(":")[0], 5000))

    def charge(self, key: str) -> tuple[bool, Budget]:
        """Spend one request; ``(False, budget)`` when the budget is already exhausted."""
        with self._lock:
            budget = self._current(key)
            if budget.remaining == 0:
                return False, Budget(budget.limit, budget.used, budget.reset_at)
            budget.used += 1
            return True, Budget(budget.limit, budget.used, budget.reset_at)

    def refund(self, key: str) -> Budget:
        with self._lock:
            budget = self._current(key)
            budget.used = max(0, budget.used - 1)
            return Budget(budget.limit, budget.used, budget.reset_at)

    def peek(self, key: str) -> Budget:
        with self._lock:
            budget = self._current(key)
            return Budget(budget.limit, budget.used, budget.reset_at)

    def configure(
        self,
        key: str,
        limit: int,
        *,
        remaining: int | None = None,
        reset_in: float | None = None,
    ) -> Budget:
        """Set a caller's hourly limit, optionally what is left and when the window resets."""
        with self._lock:
            self._limits[key] = limit
            budget = self._current(key)
            budget.limit = limit
            if remaining is not None:
                budget.used = max(0, limit - remaining)
            if reset_in is not None:
                budget.reset_at = self._clock.now() + reset_in
            return Budget(budget.limit, budget.used, budget.reset_at)

    def reset(self) -> None:
        with self._lock:
            self._budgets.clear()
            self._limits.clear()
