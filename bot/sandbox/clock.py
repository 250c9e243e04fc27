"""The sandbox's sense of time: a real clock, or one tests can move forward."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now()`` returning epoch seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """Real time shifted by an offset that tests move with :meth:`advance`.

    With ``frozen=True`` time stands still between ``advance`` calls (pure unit tests);
    otherwise it keeps ticking, so clients that sign JWTs with their own clock still
    agree with the sandbox until a test moves time on purpose.
    """

    def __init__(
        self,
        start: float | None = None,
        *,
        frozen: bool = False,
        source: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._frozen_at: float | None = None
        self._offset = 0.0 if start is None else start - source()
        if frozen:
            self._frozen_at = source() + self._offset

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    @property
    def offset(self) -> float:
        """Seconds this clock runs ahead of its source (0 for an unmoved clock)."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else None
            if base is not None:
                return base - self._source()
            return self._offset

    def rewind_to_source(self) -> None:
        """Forget every :meth:`advance`: agree with the source clock again."""
        with self._lock:
            self._offset = 0.0
            if self._frozen_at is not None:
                self._frozen_at = self._source()


def iso(epoch: float) -> str:
    """GitHub's timestamp format: ``2011-04-14T16:00:49Z``."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Epoch seconds from an ISO 8601 timestamp (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
