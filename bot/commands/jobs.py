"""``techlead jobs``: list queued and dead-lettered jobs, and re-drive dead ones."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime

from bot.context import SystemClock
from bot.errors import QueueError
from bot.jobs import Job, JobState
from bot.queue import SqliteJobQueue
from bot.settings import Settings
from bot.store import DB_NAME, Store

HELP = "list, inspect and re-drive queued and dead-lettered jobs"
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
ERROR_WIDTH = 60


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


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    if not (settings.data_dir / DB_NAME).exists():
        raise QueueError(MSG_NO_STORE.format(path=settings.data_dir / DB_NAME))
    store = Store.open(settings.data_dir)
    try:
        queue = SqliteJobQueue(store, SystemClock())
        if args.action == "retry":
            job = queue.retry(args.id)
            print(MSG_RETRIED.format(id=job.id, kind=job.kind))
            return 0
        states = [JobState.DEAD] if args.dead else [JobState(value) for value in args.state]
        print_jobs(queue.list(states, args.limit), as_json=args.json)
        return 0
    finally:
        store.close()


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
