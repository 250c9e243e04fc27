"""Serving the dashboard: reading a snapshot from the store, who may see it, and the routes.

:class:`DashboardSource` reads plans, runs, queue and budgets (from Redis when the queue
is there); :func:`access` lets in loopback peers, or anyone with the configured token;
:func:`add_routes` serves ``/dashboard`` and ``/dashboard.json`` on the app.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
from collections.abc import Mapping

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from bot.context import Clock
from bot.dashboard.render import escape, render_html
from bot.dashboard.view import (
    DASHBOARD_PATH,
    DAY,
    JSON_PATH,
    REFRESH_SECONDS,
    DashboardView,
    FinishedJob,
    Snapshot,
    dashboard_view,
)
from bot.errors import QueueError
from bot.features.execution.model import Run
from bot.jobs import JobState
from bot.log import Redactor, get_logger, secrets_of
from bot.queue import JobQueue, SqliteJobQueue
from bot.rate_limits import read_budgets
from bot.settings import Settings
from bot.state import plans_beside, runs_beside
from bot.store import Store

# --------------------------------------------------------------------------- reading

MAX_JOBS = 20_000
_FINISHED_JOBS = (
    "SELECT id, kind, state, run_at, updated_at, delivery_id, last_error FROM jobs "
    "WHERE state IN ('done', 'dead') AND updated_at >= ? ORDER BY updated_at DESC LIMIT ?"
)


class DashboardSource:
    """Reads a :class:`Snapshot`: plans, runs and budgets from the store, jobs from the queue."""

    def __init__(
        self, store: Store, queue: JobQueue, clock: Clock, settings: Settings | None = None
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        # Plans and runs live in Redis with the queue when TECHLEAD_QUEUE_URL is set.
        self._plans = plans_beside(store, settings)
        self._runs = runs_beside(store, settings)

    def snapshot(self) -> Snapshot:
        now = self._clock.now()
        records = self._plans.records()
        return Snapshot(
            now=now,
            plans=[(r.repo, r.issue, r.plan) for r in records if r.plan is not None],
            runs=self.runs(),
            queue=self._queue.stats(),
            jobs=self.finished_jobs(now - DAY),
            budgets=read_budgets(self._store),
        )

    def runs(self) -> list[Run]:
        """Every execution run (the execution feature's table, read only)."""
        return self._runs.runs()

    def finished_jobs(self, since: float) -> list[FinishedJob]:
        """Jobs done or dead since ``since``, newest first (from the store when it holds them)."""
        if isinstance(self._queue, SqliteJobQueue):
            with self._store.reading() as conn:
                rows = conn.execute(_FINISHED_JOBS, (since, MAX_JOBS)).fetchall()
            return [
                FinishedJob(int(i), str(k), JobState(s), float(due), float(end), d, e)
                for i, k, s, due, end, d, e in rows
            ]
        ended = self._queue.list((JobState.DONE, JobState.DEAD), limit=MAX_JOBS)
        found = [
            FinishedJob(j.id, j.kind, j.state, j.run_at, j.updated_at, j.delivery_id, j.last_error)
            for j in ended
            if j.updated_at >= since
        ]
        return sorted(found, key=lambda job: -job.finished_at)


# ---------------------------------------------------------------------------- access


class Access(enum.StrEnum):
    LOCAL = "local"
    TOKEN = "token"  # noqa: S105 - how access was granted, not a secret
    REFUSED = "refused"


# A request that passed through a proxy: its loopback peer says nothing about the sender.
FORWARDING_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-real-ip"})
MSG_REFUSED = (
    "The TechLead dashboard answers requests from this machine only (127.0.0.1 or ::1, "
    "not through a proxy), or requests carrying the configured token: set "
    "TECHLEAD_DASHBOARD_TOKEN and send it as 'Authorization: Bearer <token>' or '?token=<token>'.\n"
)


def access(
    peer: str | None, headers: Mapping[str, str], query_token: str | None, token: str | None
) -> Access:
    """Whether to show the dashboard: the configured token, or a direct loopback peer.

    ``X-Forwarded-For`` and friends are never trusted to prove locality; their
    presence only takes it away.
    """
    names = {name.lower() for name in headers}
    if token:
        given = _bearer(headers) or query_token or ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return Access.TOKEN
    if is_loopback(peer) and not names & FORWARDING_HEADERS:
        return Access.LOCAL
    return Access.REFUSED


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" and credential.strip() else None


def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


# ---------------------------------------------------------------------------- routes


def add_routes(app: FastAPI, source: DashboardSource, settings: Settings) -> None:
    """``GET /dashboard`` (HTML) and ``GET /dashboard.json`` (the view), behind :func:`access`."""
    redact = Redactor(secrets_of(settings)).text

    def allowed(request: Request) -> bool:
        peer = request.client.host if request.client else None
        query = request.query_params.get("token")
        return access(peer, request.headers, query, settings.dashboard_token) is not Access.REFUSED

    def view() -> DashboardView | str:
        """The view, or why the store (or Redis) could not be read."""
        try:
            return dashboard_view(source.snapshot(), redact)
        except QueueError as exc:
            get_logger().warning("dashboard_unavailable", error=str(exc))
            return redact(str(exc))

    @app.get(DASHBOARD_PATH, include_in_schema=False)
    async def dashboard_page(request: Request) -> Response:
        if not allowed(request):
            return PlainTextResponse(MSG_REFUSED, status_code=403)
        shown = await run_in_threadpool(view)
        if isinstance(shown, str):
            page = UNAVAILABLE_PAGE.format(refresh=REFRESH_SECONDS, reason=escape(shown))
            return HTMLResponse(page, status_code=503, headers=NO_STORE)
        return HTMLResponse(render_html(shown), headers=NO_STORE)

    @app.get(JSON_PATH, include_in_schema=False)
    async def dashboard_json(request: Request) -> Response:
        if not allowed(request):
            return JSONResponse({"error": "forbidden", "message": MSG_REFUSED.strip()}, 403)
        shown = await run_in_threadpool(view)
        if isinstance(shown, str):
            return JSONResponse({"error": "unavailable", "message": shown}, 503, NO_STORE)
        return JSONResponse(shown.to_dict(), headers=NO_STORE)


NO_STORE = {"cache-control": "no-store"}
UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}">
<title>TechLead dashboard</title>
</head>
<body>
<h1>TechLead dashboard</h1>
<p>The dashboard could not read TechLead's state: {reason}. It tries again every {refresh} s.</p>
</body>
</html>
"""
