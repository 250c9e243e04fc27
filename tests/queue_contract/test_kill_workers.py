"""Three worker processes on one Redis, one killed with SIGKILL mid-run: every job's effect once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bot.context import SystemClock
from bot.jobs import JobSpec, JobState
from bot.redis_queue import RedisJobQueue
from tests.queue_contract.queue_worker import KIND, Keys

JOBS = 2000
WORKERS = 3
JOB_SECONDS = 0.002
DEADLINE_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "{crash}:"


def start_worker(url: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.queue_contract.queue_worker", url, PREFIX]
    return subprocess.Popen(
        [*command, str(JOB_SECONDS)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(done: object, deadline: float) -> None:
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the workers did not finish in time"
        time.sleep(0.05)


def leased_by(client: redis.Redis, pid: int, prefix: str = PREFIX) -> list[int]:
    """The jobs a worker process holds a lease on (its owner id is ``host:pid:token``)."""
    owners = [owner.decode() for owner in client.smembers(prefix + "owners")]
    mine = [owner for owner in owners if owner.split(":")[1] == str(pid)]
    return [int(job_id) for owner in mine for job_id in client.smembers(prefix + "owner:" + owner)]


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_job_and_duplicates_no_effect(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    queue = RedisJobQueue(client, SystemClock(), prefix=PREFIX)
    keys = Keys(PREFIX)
    specs = [JobSpec(KIND, {"key": f"k{n}"}, installation_id=n % 7) for n in range(JOBS)]
    queue.enqueue_many(specs)
    deadline = time.monotonic() + DEADLINE_SECONDS
    workers = [start_worker(redis_url) for _ in range(WORKERS)]
    try:
        victim = workers[0]
        wait_until(
            lambda: client.lrange(keys.runs, 0, -1).count(b"%d" % victim.pid) >= 50, deadline
        )
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        orphans = leased_by(client, victim.pid)
        wait_until(lambda: queue.stats().by_state[JobState.DONE] == JOBS, deadline)
    finally:
        for worker in workers:
            worker.stdin.close()  # type: ignore[union-attr]
            worker.wait(10)
    stats = queue.stats().by_state
    assert (stats[JobState.PENDING], stats[JobState.RUNNING], stats[JobState.DEAD]) == (0, 0, 0)
    assert client.scard(keys.effects) == JOBS, "every job had its effect"
    assert int(client.get(keys.written) or 0) == JOBS, "no effect was written twice"
    runs = client.lrange(keys.runs, 0, -1)
    by_pid = {worker.pid: runs.count(b"%d" % worker.pid) for worker in workers}
    assert all(by_pid.values()), f"every worker ran jobs: {by_pid}"
    assert len(runs) >= JOBS
    for job_id in orphans:  # what the killed worker held ran again elsewhere, after its lease
        job = queue.get(job_id)
        assert job is not None and job.state is JobState.DONE and job.attempts >= 2
    client.close()
