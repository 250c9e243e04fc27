"""Jobs as a crashing process leaves them: leases held by workers that died, attempts spent."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from bot.jobs import Job, JobSpec
from bot.queue import SqliteJobQueue
from bot.store import Store

HOUR = 3600.0


@dataclass(frozen=True)
class FixedClock:
    t: float

    def now(self) -> float:
        return self.t


def crash_looped(queue: SqliteJobQueue, store: Store, spec: JobSpec, deaths: int) -> Job:
    """Schedule ``spec`` as if ``deaths`` workers had each claimed it and died holding it.

    The job is scheduled an hour ahead, so the running workers leave it alone; workers
    on a clock two hours ahead claim it ``deaths`` times with leases that ran out an
    hour ago by the real clock, so the next claim (any worker's) finds it abandoned.
    Call it while no other job is due: those workers would claim the oldest due job.
    """
    job = queue.enqueue(replace(spec, delay=HOUR))
    later = SqliteJobQueue(store, FixedClock(time.time() + 2 * HOUR))
    for death in range(deaths):
        claimed = later.claim(f"gone-host:{death + 1}:crashed", lease_seconds=-3 * HOUR)
        assert claimed is not None and claimed.id == job.id, f"claimed {claimed} instead"
    stored = queue.get(job.id)
    assert stored is not None and stored.attempts == deaths
    return stored
