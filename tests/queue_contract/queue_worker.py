"""A worker process on the Redis queue running one idempotent job kind (crash tests, bench).

``python -m tests.queue_contract.queue_worker URL PREFIX JOB_SECONDS``: runs ``effect.record``
jobs with the real :class:`bot.worker.Worker` until its stdin ends. Each job writes its
effect once (``SET NX`` on the job's key and the effect in one Lua script, as a handler's
marked comment is one write) and logs every run, so a test sees re-runs and duplicate effects apart.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import redis

from bot.context import JobContext, SystemClock
from bot.jobs import Job, JobRegistry
from bot.metrics import Metrics
from bot.redis_queue import RedisJobQueue
from bot.settings import Settings
from bot.worker import Worker, WorkerConfig

KIND = "effect.record"
CONFIG = WorkerConfig(
    threads=1, lease_seconds=2.0, heartbeat_seconds=0.5, poll_seconds=0.02, grace_seconds=5.0
)


@dataclass(frozen=True)
class Keys:
    """Where the jobs record what they did, next to the queue's own keys."""

    prefix: str

    @property
    def effects(self) -> str:
        return self.prefix + "test:effects"  # a set: one member per effect

    @property
    def written(self) -> str:
        return self.prefix + "test:written"  # counts effect writes: duplicates show here

    @property
    def runs(self) -> str:
        return self.prefix + "test:runs"  # one entry per handler run: "pid"

    @property
    def waits(self) -> str:
        return self.prefix + "test:waits"  # seconds from enqueue to start, measured jobs


# The effect and its marker in one step, as a handler's marked comment is one write: a
# worker killed between a marker and its effect would leave a marker with no effect.
WRITE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX') then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[3])
end
"""


def registry(client: redis.Redis, keys: Keys, job_seconds: float) -> JobRegistry:
    jobs = JobRegistry()
    write_once = client.register_script(WRITE_ONCE)

    @jobs.register(KIND)
    def record(job: Job, ctx: JobContext) -> None:
        started = time.time()
        if job.payload.get("measure"):
            client.rpush(keys.waits, repr(started - job.created_at))
        client.rpush(keys.runs, str(os.getpid()))
        time.sleep(job_seconds)
        marker = f"{keys.prefix}test:effect:{job.payload['key']}"
        write_once([marker, keys.effects, keys.written], [job.payload["key"]])

    return jobs


def main(url: str, prefix: str, job_seconds: float) -> int:
    client = redis.Redis.from_url(url)
    queue = RedisJobQueue(client, SystemClock(), prefix=prefix)
    worker = Worker(
        queue, registry(client, Keys(prefix), job_seconds), Settings(), SystemClock(), Metrics(),
        config=CONFIG,
    )  # fmt: skip
    worker.start()
    sys.stdin.buffer.read()  # until the parent closes our stdin
    worker.stop()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
