"""Benchmark of the job queue on Redis: scaling over worker processes, and fairness.

Two measurements on a redis-server started for the run (Debian's, on 127.0.0.1), each
printed with its target and PASS/FAIL:

1. Jobs per second with 1, 2 and 4 worker processes (``techlead``'s Worker over
   RedisJobQueue, one job at a time each). Every job sleeps ``--job-ms`` (work waiting
   on GitHub or git, as most jobs do) and then writes its effect once. Workers are up
   and idle before the jobs are queued, so start-up is not measured. Scaling
   efficiency = rate(n) / (n x rate(1)). Target: at least 0.8 with 4 workers.
2. One installation floods the queue with 10,000 jobs while 4 workers run them; then
   another installation queues a job every few job lengths. Each of its jobs records
   how long it waited between being queued and starting. Target: p99 of those waits
   under 2 x one job's duration (a job slot: its installation takes the next turn).
3. Priority: the same flood, of low-priority jobs (a bulk re-plan); the flooding
   installation itself then queues urgent jobs (a webhook to answer). Same target: an
   urgent job goes before the backlog, whoever queued it.

    .venv/bin/python bench/queue.py [--jobs 400] [--job-ms 20] [--flood 10000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's directory leads sys.path: it must go, or this file would
# stand in for the standard library's queue; the repository root must lead instead.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]

import argparse  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import replace  # noqa: E402

import redis  # noqa: E402

from bot.context import SystemClock  # noqa: E402
from bot.jobs import JobSpec, JobState, Priority  # noqa: E402
from bot.redis_queue import RedisJobQueue  # noqa: E402
from tests.queue_contract import redis_server  # noqa: E402
from tests.queue_contract.queue_worker import KIND, Keys  # noqa: E402

PREFIX = "{bench}:"
WORKER_COUNTS = (1, 2, 4)
FAIR_WORKERS = 4
EFFICIENCY_TARGET = 0.8
WAIT_TARGET_SLOTS = 2.0
MEASURED_JOBS = 60
SPACING_SLOTS = 3  # the measured installation queues one job every three job lengths
INSTALLATIONS = 10
POLL = 0.005
TIMEOUT = 300.0


@contextmanager
def workers(url: str, count: int, job_seconds: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    command = [sys.executable, "-m", "tests.queue_contract.queue_worker", url, PREFIX]
    started = [
        subprocess.Popen(
            [*command, str(job_seconds)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            assert process.stdin is not None
            process.stdin.close()
        for process in started:
            process.wait(30)


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("FAIL: the workers did not finish in time")
        time.sleep(POLL)


def fresh_queue(client: redis.Redis) -> RedisJobQueue:
    client.flushdb()
    return RedisJobQueue(client, SystemClock(), prefix=PREFIX)


def warm_up(client: redis.Redis, queue: RedisJobQueue, count: int) -> None:
    """One job per worker, so every process is up and polling before the clock starts."""
    queue.enqueue_many([JobSpec(KIND, {"key": f"warm{n}"}) for n in range(count)])
    wait_for(lambda: queue.stats().by_state[JobState.DONE] >= count)
    client.delete(Keys(PREFIX).runs)


def rate(client: redis.Redis, url: str, count: int, jobs: int, job_seconds: float) -> float:
    queue = fresh_queue(client)
    with workers(url, count, job_seconds):
        warm_up(client, queue, count)
        done_before = queue.stats().by_state[JobState.DONE]
        specs = [
            JobSpec(KIND, {"key": f"k{n}"}, installation_id=n % INSTALLATIONS) for n in range(jobs)
        ]
        started = time.perf_counter()
        queue.enqueue_many(specs)
        wait_for(lambda: queue.stats().by_state[JobState.DONE] >= done_before + jobs)
        elapsed = time.perf_counter() - started
    return jobs / elapsed


def waits_behind_a_flood(
    client: redis.Redis, url: str, flood: JobSpec, count: int, measured: JobSpec, job_seconds: float
) -> list[float]:
    """Waits (seconds) of ``measured`` jobs, one every few job lengths, behind ``count``
    ``flood`` jobs queued at once."""
    queue = fresh_queue(client)
    keys = Keys(PREFIX)
    with workers(url, FAIR_WORKERS, job_seconds):
        warm_up(client, queue, FAIR_WORKERS)
        queue.enqueue_many([replace(flood, payload={"key": f"f{n}"}) for n in range(count)])
        for n in range(MEASURED_JOBS):
            time.sleep(job_seconds * SPACING_SLOTS)
            queue.enqueue(replace(measured, payload={"key": f"q{n}", "measure": True}))
        wait_for(lambda: client.llen(keys.waits) >= MEASURED_JOBS)
        backlog = queue.stats().by_state[JobState.PENDING]
        print(f"  flood backlog still queued when the measured jobs were done: {backlog}")
        client.delete(*queue_keys(client))  # let the workers stop promptly
    return sorted(float(raw) for raw in client.lrange(keys.waits, 0, -1))


def queue_keys(client: redis.Redis) -> list[bytes]:
    """The queue's rings and per-installation lists (what a claim reads)."""
    patterns = ("ring:*", "fresh:*", "ready:*")
    return [key for pattern in patterns for key in client.scan_iter(PREFIX + pattern)] or [
        PREFIX.encode()
    ]


def report_waits(waits: list[float], job_seconds: float) -> bool:
    p50, p99 = percentile(waits, 0.5), percentile(waits, 0.99)
    limit = WAIT_TARGET_SLOTS * job_seconds
    shown = f"p50 {p50 * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms  max {waits[-1] * 1000:.1f} ms"
    print(f"  measured waits: {shown}")
    print(f"  target: p99 < {limit * 1000:.0f} ms (2 x one job): {verdict(p99 < limit)}")
    return p99 < limit


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(fraction * len(values)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--job-ms", type=float, default=20.0)
    parser.add_argument("--flood", type=int, default=10_000)
    args = parser.parse_args()
    if not redis_server.available():
        print(f"SKIP: {redis_server.MISSING}")
        return 0
    job_seconds = args.job_ms / 1000
    ok = True
    with (
        tempfile.TemporaryDirectory() as directory,
        redis_server.redis_server(Path(directory)) as url,
    ):
        client = redis.Redis.from_url(url)
        print(
            f"1. throughput: {args.jobs} jobs of {args.job_ms:g} ms, {INSTALLATIONS} installations"
        )
        rates = {count: rate(client, url, count, args.jobs, job_seconds) for count in WORKER_COUNTS}
        for count, value in rates.items():
            efficiency = value / (count * rates[1])
            print(f"  {count} worker(s): {value:8.1f} jobs/s  scaling efficiency {efficiency:.2f}")
        last = WORKER_COUNTS[-1]
        efficiency = rates[last] / (last * rates[1])
        passed = efficiency >= EFFICIENCY_TARGET
        ok &= passed
        print(f"  target: efficiency >= {EFFICIENCY_TARGET} with {last} workers: {verdict(passed)}")
        print(
            f"2. fairness: installation 1 floods {args.flood} jobs, installation 2 queues "
            f"{MEASURED_JOBS}, {FAIR_WORKERS} workers"
        )
        flood = JobSpec(KIND, installation_id=1)
        quiet = JobSpec(KIND, installation_id=2)
        ok &= report_waits(
            waits_behind_a_flood(client, url, flood, args.flood, quiet, job_seconds), job_seconds
        )
        print(
            f"3. priority: installation 1 floods {args.flood} low-priority jobs, then queues "
            f"{MEASURED_JOBS} urgent ones itself, {FAIR_WORKERS} workers"
        )
        bulk = replace(flood, priority=Priority.LOW)
        urgent = replace(flood, priority=Priority.URGENT)
        ok &= report_waits(
            waits_behind_a_flood(client, url, bulk, args.flood, urgent, job_seconds), job_seconds
        )
        client.close()
    print(verdict(ok))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
