"""Injected failures, off by default: 5xx answers, secondary rate limits, added latency."""

from __future__ import annotations

import enum
import fnmatch
import itertools
import threading
from dataclasses import dataclass, field

from bot.sandbox.protocol import SECONDARY_RATE_LIMIT_DOCS_URL, ApiError, Msg


class FaultKind(enum.StrEnum):
    ERROR = "error"
    SECONDARY_LIMIT = "secondary_limit"
    LATENCY = "latency"


@dataclass
class Fault:
    """Applies to requests whose method and API path (without /api/v3) match.

    ``path`` is a glob (``/repos/*/issues*``); ``method`` is a verb or ``*``;
    ``remaining`` counts the requests still to hit (None: every request until cleared).
    """

    id: int
    kind: FaultKind
    path: str
    method: str = "*"
    remaining: int | None = 1
    status: int = 502
    retry_after: int = 60
    delay: float = 0.0
    hits: int = field(default=0)

    def matches(self, method: str, path: str) -> bool:
        verb_ok = self.method == "*" or self.method.upper() == method.upper()
        return verb_ok and fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Outcome:
    delay: float = 0.0
    error: ApiError | None = None


class Faults:
    """The active faults; :meth:`take` consumes the ones a request triggers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def error(
        self, path: str, *, status: int = 502, count: int | None = 1, method: str = "*"
    ) -> Fault:
        """The next ``count`` matching requests answer ``status`` (a 5xx by default)."""
        return self._add(FaultKind.ERROR, path, method, count, status=status)

    def secondary_limit(
        self, path: str, *, retry_after: int = 60, count: int | None = 1, method: str = "*"
    ) -> Fault:
        """The next ``count`` matching requests hit a secondary rate limit (403 + Retry-After)."""
        return self._add(FaultKind.SECONDARY_LIMIT, path, method, count, retry_after=retry_after)

    def latency(
        self, path: str, seconds: float, *, count: int | None = None, method: str = "*"
    ) -> Fault:
        """Matching requests are answered ``seconds`` later."""
        return self._add(FaultKind.LATENCY, path, method, count, delay=seconds)

    def _add(
        self, kind: FaultKind, path: str, method: str, count: int | None, **extra: object
    ) -> Fault:
        fault = Fault(next(self._ids), kind, path, method, count, **extra)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, request_id: str) -> Outcome:
        """Latency to add and the error to answer with (if any) for this request."""
        delay, error = 0.0, None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                if fault.kind is FaultKind.LATENCY:
                    delay += fault.delay
                elif error is None:
                    error = _error_for(fault, request_id)
                else:
                    continue
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        return Outcome(delay, error)


def _error_for(fault: Fault, request_id: str) -> ApiError:
    if fault.kind is FaultKind.SECONDARY_LIMIT:
        return ApiError(
            403,
            Msg.SECONDARY_RATE_LIMIT.format(request_id=request_id),
            documentation_url=SECONDARY_RATE_LIMIT_DOCS_URL,
            headers={"Retry-After": str(fault.retry_after)},
        )
    return ApiError(fault.status, Msg.INJECTED_FAULT)
