"""``techlead jobs``: list queued and dead-lettered jobs, re-drive dead ones, move them to Redis.

``list``, ``retry`` and ``prune`` act on whichever queue ``TECHLEAD_QUEUE_URL`` selects
(SQLite when it is unset); ``migrate --to redis://…`` moves the SQLite queue's unfinished
jobs to Redis, and copies the plans and execution runs there. Workers prune on their
own, a batch per heartbeat; ``prune`` finishes the job at once (after lowering the
retention, say).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime

from bot.context import SystemClock
from bot.errors import QueueError
from bot.features.execution.store import RunStore
from bot.jobs import Job, JobState, Retention
from bot.plans import PlanStore
from bot.queue import JobQueue, SqliteJobQueue
from bot.redis_queue import RedisDeliveries, RedisJobQueue
from bot.redis_state import RedisPlanStore, RedisRunStore
from bot.settings import QUEUE_URL_SCHEMES, Settings
from bot.state import copy_state
from bot.store import DB_NAME, Store

HELP = "list, inspect, re-drive and prune queued and dead-lettered jobs"
ROW = "{id:>6}  {state:<8} {attempts:>3}  {kind:<24} {run_at:<20} {delivery:<36} {error}"
HEADER = ROW.format(
    id="ID",
    state="STATE",
    attempts="TRY",
    kind="KIND",
    run_at="RUN AT (UTC)",
    delivery="DELIVERY",
    error="LAST ERROR",
)
MSG_RETRIED = "job {id} ({kind}) is pending again; it runs at the worker's next poll"
MSG_EMPTY = "no jobs"
MSG_NO_STORE = "no job store at {path}; is TECHLEAD_DATA_DIR the one techlead serve uses?"
MSG_MIGRATED = (
    "moved {count} jobs ({states}), {plans} plans and {runs} execution runs to {target}; "
    "start techlead with TECHLEAD_QUEUE_URL set to it"
)
MSG_NOT_REDIS = "--to must be a redis://, rediss:// or unix:// URL"
MSG_PRUNED = (
    "pruned {count} finished jobs (done before {done}, dead before {dead} UTC) "
    "and their dedupe keys"
)
PRUNE_BATCH = 1000
ERROR_WIDTH = 60
# Unfinished jobs: a running one moves pending (stop serve and its workers first).
MIGRATED_STATES = (JobState.PENDING, JobState.RUNNING, JobState.DEAD)
MIGRATE_LIMIT = 10_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list jobs, newest last")
    listing.add_argument("--dead", action="store_true", help="only dead-lettered jobs")
    listing.add_argument(
        "--state", choices=[state.value for state in JobState], action="append", default=[]
    )
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    retry = actions.add_parser("retry", help="re-drive a dead job (attempts start over)")
    retry.add_argument("id", type=int)
    actions.add_parser(
        "prune",
        help="delete jobs finished longer ago than the retention "
        "(TECHLEAD_JOB_RETENTION_DAYS, TECHLEAD_DEAD_JOB_RETENTION_DAYS)",
    )
    migrate = actions.add_parser(
        "migrate", help="move unfinished jobs from the SQLite queue to Redis (stop serve first)"
    )
    migrate.add_argument("--to", required=True, metavar="URL", help="redis://host:port/db")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    if settings.queue_url is not None and args.action != "migrate":
        redis_queue = RedisJobQueue.from_url(settings.queue_url, SystemClock())
        try:
            return act(args, redis_queue, settings)
        finally:
            redis_queue.close()
    if not (settings.data_dir / DB_NAME).exists():
        raise QueueError(MSG_NO_STORE.format(path=settings.data_dir / DB_NAME))
    store = Store.open(settings.data_dir)
    try:
        if args.action == "migrate":
            return migrate(store, args.to)
        return act(args, SqliteJobQueue(store, SystemClock()), settings)
    finally:
        store.close()


def act(args: argparse.Namespace, queue: JobQueue, settings: Settings) -> int:
    """``list``, ``retry`` or ``prune`` on either queue."""
    if args.action == "prune":
        return prune(queue, settings.retention, SystemClock().now())
    if args.action == "retry":
        job = queue.retry(args.id)
        print(MSG_RETRIED.format(id=job.id, kind=job.kind))
        return 0
    states = [JobState.DEAD] if args.dead else [JobState(value) for value in args.state]
    print_jobs(queue.list(states, args.limit), as_json=args.json)
    return 0


def prune(queue: JobQueue, retention: Retention, now: float) -> int:
    """Delete every job finished before the retention's cutoffs, a batch at a time."""
    done_before, dead_before = retention.cutoffs(now)
    count = 0
    while pruned := queue.prune(done_before, dead_before, PRUNE_BATCH):
        count += pruned
    print(MSG_PRUNED.format(count=count, done=_when(done_before), dead=_when(dead_before)))
    return 0


def migrate(store: Store, url: str) -> int:
    """Move pending, running and dead jobs (with their deliveries) to Redis, then drop them;
    copy the plans and execution runs, which live beside the queue on Redis.

    Idempotent: a job already moved keeps its first copy (its dedupe key), and a plan or
    run already in Redis is left alone, so a migration interrupted half-way is finished
    by running it again.
    """
    if not url.startswith(QUEUE_URL_SCHEMES):
        raise QueueError(MSG_NOT_REDIS)
    target = RedisJobQueue.from_url(url, SystemClock())
    try:
        jobs = SqliteJobQueue(store, SystemClock()).list(MIGRATED_STATES, MIGRATE_LIMIT)
        delivered = {job.delivery_id for job in jobs if job.delivery_id}
        deliveries = [store.get_delivery(delivery_id) for delivery_id in sorted(delivered)]
        RedisDeliveries(target.client).put_many([one for one in deliveries if one is not None])
        target.adopt_many(jobs)
        store.drop_jobs([job.id for job in jobs])
        plans, runs = copy_state(
            PlanStore(store),
            RunStore(store),
            RedisPlanStore(target.client),
            RedisRunStore(target.client),
        )
    finally:
        target.close()
    states = Counter(job.state.value for job in jobs)
    shown = ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "none"
    where = url.split("@")[-1]
    print(MSG_MIGRATED.format(count=len(jobs), states=shown, plans=plans, runs=runs, target=where))
    return 0


def print_jobs(jobs: list[Job], *, as_json: bool) -> None:
    if as_json:
        for job in jobs:
            print(json.dumps(asdict(job), sort_keys=True))
        return
    if not jobs:
        print(MSG_EMPTY)
        return
    print(HEADER)
    for job in jobs:
        print(row(job))


def row(job: Job) -> str:
    error = (job.last_error or "").replace("\n", " ")
    return ROW.format(
        id=job.id,
        state=job.state.value,
        attempts=job.attempts,
        kind=job.kind,
        run_at=_when(job.run_at),
        delivery=job.delivery_id or "-",
        error=error[:ERROR_WIDTH],
    )


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
