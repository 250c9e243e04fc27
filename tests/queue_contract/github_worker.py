"""A worker process whose jobs write to GitHub (the sandbox) the way TechLead's features do.

``python -m tests.queue_contract.github_worker REDIS_URL PREFIX API_URL TOKEN REPO``: runs
``comment.upsert`` jobs with the real :class:`bot.worker.Worker` on the Redis queue until
its stdin ends. Each job applies an :class:`bot.actions.UpsertComment` through the
executor and :mod:`bot.github`: the comment carrying the job's hidden marker is found
first and created only if missing, so a job run twice (its worker killed after the
write, before ``complete``) still leaves one comment. Every handler run is logged in
Redis (``test:runs``), so a test tells re-runs from duplicate effects.
"""

from __future__ import annotations

import os
import sys

import redis

from bot.actions import UpsertComment
from bot.context import JobContext, SystemClock
from bot.executor import Executor
from bot.github import GitHubClient
from bot.jobs import Job, JobRegistry
from bot.metrics import Metrics
from bot.redis_queue import RedisJobQueue
from bot.settings import Settings
from bot.worker import Worker, WorkerConfig

KIND = "comment.upsert"
CONFIG = WorkerConfig(
    threads=1, lease_seconds=2.0, heartbeat_seconds=0.5, poll_seconds=0.02, grace_seconds=5.0
)


def marker(key: str) -> str:
    return f"<!-- techlead:crash-test:{key} -->"


def registry(client: redis.Redis, prefix: str, repo: str) -> JobRegistry:
    jobs = JobRegistry()

    @jobs.register(KIND)
    def upsert(job: Job, ctx: JobContext) -> None:
        client.rpush(prefix + "test:runs", str(os.getpid()))
        key = job.payload["key"]
        action = UpsertComment(repo, job.payload["issue"], marker(key), f"{marker(key)}\n{key}")
        Executor(ctx.github).apply_one(action)

    return jobs


def main(url: str, prefix: str, api_url: str, token: str, repo: str) -> int:
    client = redis.Redis.from_url(url)
    settings = Settings(api_url=api_url, github_token=token, write_interval=0.0)
    github = GitHubClient(settings)
    queue = RedisJobQueue(client, SystemClock(), prefix=prefix)
    worker = Worker(
        queue, registry(client, prefix, repo), settings, SystemClock(), Metrics(),
        github_factory=github.port, config=CONFIG,
    )  # fmt: skip
    worker.start()
    sys.stdin.buffer.read()  # until the parent closes our stdin
    worker.stop()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:6]))
