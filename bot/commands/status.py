"""``techlead status``: the dashboard as plain text, from the data dir or from a running server.

Without ``--url`` it reads the store ``TECHLEAD_DATA_DIR`` names (and the Redis queue
when ``TECHLEAD_QUEUE_URL`` is set), as ``/dashboard`` does; with ``--url`` it asks a
running ``techlead serve`` for ``/dashboard.json`` (sending ``TECHLEAD_DASHBOARD_TOKEN``
when set). Plain lines, no colour or cursor control: fine in a pipe or a log.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from bot.context import SystemClock
from bot.dashboard import JSON_PATH, DashboardSource, DashboardView, dashboard_view, render_text
from bot.errors import QueueError
from bot.log import Redactor, secrets_of
from bot.queue import JobQueue, SqliteJobQueue
from bot.redis_queue import RedisJobQueue
from bot.settings import Settings
from bot.store import DB_NAME, Store

HELP = "print the dashboard (plans, queue, success rates, failures, rate limits) as text"
TIMEOUT = 10.0
MSG_NO_STORE = "no TechLead store at {path}; is TECHLEAD_DATA_DIR the one techlead serve uses?"
MSG_UNREACHABLE = "techlead status: cannot read {url}: {reason}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help="a running server (http://127.0.0.1:8000): read its /dashboard.json instead",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="the store to read (default TECHLEAD_DATA_DIR)"
    )
    parser.add_argument("--json", action="store_true", help="print the view as JSON")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    if args.url:
        try:
            data = fetch(args.url, settings.dashboard_token)
        except (httpx.HTTPError, ValueError) as exc:
            print(MSG_UNREACHABLE.format(url=args.url, reason=exc), file=sys.stderr)
            return 1
        view = DashboardView.from_dict(data)
    else:
        view = local_view(settings, args.data_dir or settings.data_dir)
    if args.json:
        print(json.dumps(view.to_dict(), indent=2, sort_keys=True))
    else:
        sys.stdout.write(render_text(view))
    return 0


def dashboard_json_url(url: str) -> str:
    """``http://host:port``, ``…/dashboard`` or ``…/dashboard.json`` → the JSON's URL."""
    base = url.rstrip("/")
    if base.endswith(JSON_PATH):
        return base
    return base.removesuffix("/dashboard") + JSON_PATH


def fetch(url: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(dashboard_json_url(url), headers=headers, timeout=TIMEOUT)
    if answer.status_code == httpx.codes.FORBIDDEN:
        raise ValueError(answer.json().get("message", "forbidden"))
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def local_view(settings: Settings, data_dir: Path) -> DashboardView:
    if not (data_dir / DB_NAME).exists():
        raise QueueError(MSG_NO_STORE.format(path=data_dir / DB_NAME))
    clock = SystemClock()
    store = Store.open(data_dir)
    queue: JobQueue = SqliteJobQueue(store, clock)
    if settings.queue_url is not None:
        queue = RedisJobQueue.from_url(settings.queue_url, clock)
    try:
        snapshot = DashboardSource(store, queue, clock, settings).snapshot()
    finally:
        if isinstance(queue, RedisJobQueue):
            queue.close()
        store.close()
    return dashboard_view(snapshot, Redactor(secrets_of(settings)).text)
