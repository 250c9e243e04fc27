"""The ASGI app factory: webhook intake, health and metrics routes over the services."""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot import app_setup, dashboard, intake, telemetry
from bot.context import Clock, GitHubFactory, SystemClock, no_github
from bot.errors import PayloadError, QueueError, WebhookError
from bot.features import compose
from bot.intake import MSG_NOT_STORABLE, Checked, Delivery
from bot.intake_writer import Tally, WriterProcess, route_spec
from bot.jobs import JobRegistry
from bot.log import get_logger, info_lines
from bot.metrics import CONTENT_TYPE, Metrics
from bot.queue import SqliteJobQueue
from bot.rate_limits import RateLimitBook
from bot.redis_queue import DeliveryRelay, RedisDeliveries, RedisJobQueue
from bot.router import DeliveryLog, Router, routing_jobs
from bot.settings import Settings
from bot.store import Accepted, DeliveryWriter, Durability, NotStorable, Store
from bot.worker import Runner, Worker, WorkerConfig

WEBHOOK_PATH = "/webhook"
PING_EVENT = "ping"
STORE_FAILED = "store_unavailable"
MSG_STORE_FAILED = "the delivery could not be stored; redeliver it later"


@dataclass
class Services:
    """Everything the routes and the worker share; built once per app."""

    settings: Settings
    clock: Clock
    store: Store
    queue: SqliteJobQueue | RedisJobQueue
    worker: Worker
    metrics: Metrics
    new_id: Callable[[], str]
    writer: DeliveryWriter
    # What runs the jobs: ``worker`` on threads of this process, or worker processes.
    runner: Runner
    # ``serve`` parses and stores deliveries in a child process instead of ``writer``.
    writer_process: WriterProcess | None = None

    def delivery_stored(self, stored: list[tuple[Delivery, Accepted]]) -> None:
        """After each group commit, on the writer thread: wake the runner, count, log.

        Runs before the requests are answered, so a 202 is always counted and logged.
        """
        if any(accepted.new for _, accepted in stored):
            self.runner.wake()
        lines = []
        for delivery, accepted in stored:
            outcome = "accepted" if accepted.new else "duplicate"
            self.metrics.record_delivery(delivery.event, delivery.envelope.action, outcome)
            fields = {
                "delivery_id": delivery.delivery_id,
                "trace_id": accepted.trace_id,
                "github_event": delivery.event,
                "action": delivery.envelope.action,
            }
            lines.append(("delivery_" + outcome, fields))
        info_lines(lines)

    def process_stored(self, tallies: list[Tally], any_new: bool) -> None:
        """After each group commit of the writer process: wake the runner, count.

        The writer process logs the deliveries it stored; this runs on the event loop
        before their answers, so a 202 is always counted.
        """
        if any_new:
            self.runner.wake()
        for event, action, outcome in tallies:
            self.metrics.record_delivery(event, action, outcome)

    def use_writer_process(self, env: Mapping[str, str]) -> None:
        """Store deliveries in a child process (started with the app's lifespan)."""
        self.writer_process = WriterProcess(env, on_stored=self.process_stored)

    def close(self) -> None:
        """Flush pending deliveries and close the store (after the worker stopped)."""
        if self.writer_process is not None:
            self.writer_process.close()
        self.writer.close()
        self.store.close()
        if isinstance(self.queue, RedisJobQueue):
            self.queue.close()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    github_factory: GitHubFactory = no_github,
    router: Router | None = None,
    jobs: JobRegistry | None = None,
    rand: Callable[[], float] = random.random,
    worker_config: WorkerConfig | None = None,
    durability: Durability = Durability.FULL,
    new_id: Callable[[], str] = lambda: secrets.token_hex(16),
    metrics: Metrics | None = None,
    checkpoints: bool = True,
) -> Services:
    """Store, queue, worker and metrics. Pass ``metrics`` when the GitHub port built by
    ``github_factory`` reports to it too (see ``bot.features.github_factory``)."""
    clock = clock or SystemClock()
    if router is None or jobs is None:
        composed = compose()
        router = composed.router if router is None else router
        jobs = composed.jobs if jobs is None else jobs
    store = Store.open(settings.data_dir, durability)
    if checkpoints:
        store.start_checkpoints()
    queue, deliveries, relay = _queue_for(settings, store, clock, new_id)
    metrics = metrics or Metrics()
    metrics.watch_queue(queue.stats)
    if metrics.budgets is None:  # the GitHub budgets the dashboard shows
        metrics.budgets = RateLimitBook(store, clock)
    # Imported here: it reads the execution feature's records, which compose() loads.
    from bot.run_metrics import collector_for

    metrics.registry.register(collector_for(store, settings))
    registry = telemetry.traced(JobRegistry.compose(routing_jobs(router, deliveries), jobs))
    worker = Worker(
        queue,
        registry,
        settings,
        clock,
        metrics,
        github_factory=github_factory,
        rand=rand,
        config=worker_config,
    )
    services = Services(
        settings, clock, store, queue, worker, metrics, new_id, DeliveryWriter(store), worker
    )
    services.writer.on_stored = services.delivery_stored
    if relay is not None:
        relay.sweep()  # routing jobs a crash left in the store before they reached Redis
        services.writer.relay = relay.sweep
    return services


def _queue_for(
    settings: Settings, store: Store, clock: Clock, new_id: Callable[[], str]
) -> tuple[SqliteJobQueue | RedisJobQueue, DeliveryLog, DeliveryRelay | None]:
    """The SQLite queue in the store, or (``TECHLEAD_QUEUE_URL``) Redis with its relay."""
    if settings.queue_url is None:
        return SqliteJobQueue(store, clock, new_id), store, None
    queue = RedisJobQueue.from_url(settings.queue_url, clock, new_id)
    deliveries = RedisDeliveries(queue.client)
    return queue, deliveries, DeliveryRelay(store, queue, deliveries)


class TechLeadApp(FastAPI):
    """FastAPI for health and metrics; a ``POST /webhook`` goes straight to its endpoint.

    The webhook is the one route under load, and FastAPI's middleware stack (error
    pages, telemetry, body limits, exit stacks) would cost it as much CPU as verifying
    and storing the delivery; the endpoint handles its own errors.
    """

    webhook: WebhookEndpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings, services: Services | None = None, *, start_worker: bool = True
) -> TechLeadApp:
    """The ASGI app. The lifespan starts the job runner and, on shutdown, stops it gracefully.

    ``services`` defaults to :func:`build_services` on ``settings`` (features only); the
    runner is ``services.runner`` (worker threads here, or worker processes).
    """
    shared = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if shared.writer_process is not None:
            await shared.writer_process.start()
        if start_worker:
            await run_in_threadpool(shared.runner.start)
        yield
        if start_worker:
            await run_in_threadpool(shared.runner.stop)
        if shared.writer_process is not None:
            await shared.writer_process.stop()

    app = TechLeadApp(title="TechLead", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = shared
    app.webhook = WebhookEndpoint(shared)
    # Also a route, so other methods are answered 405 like any other route's.
    app.router.routes.append(
        Route(WEBHOOK_PATH, app.webhook, methods=["POST"], include_in_schema=False)
    )

    @app.get("/healthz")
    async def healthz() -> Response:
        return await run_in_threadpool(health, shared)

    @app.get("/metrics")
    async def metrics() -> Response:
        body = await run_in_threadpool(shared.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    app_setup.add_routes(app, settings.data_dir, settings.app_id, app_setup.SetupStates())
    source = dashboard.DashboardSource(shared.store, shared.queue, shared.clock, settings)
    dashboard.add_routes(app, source, settings)

    return app


class WebhookEndpoint:
    """``POST /webhook`` as a bare ASGI app: verify, persist, acknowledge.

    Only an adapter over :mod:`bot.intake` (pure checks) and the delivery writer
    (durable group commit); the answer is built from plain data.
    """

    def __init__(self, services: Services) -> None:
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        with self._services.runner.deferring():
            answered = await answer(self._services, headers, receive)
        if answered is not None:  # None: the sender hung up; nothing was stored
            await send_json(send, *answered)


Answer = tuple[int, dict[str, str]]
Acknowledged = Checked | Delivery


async def answer(services: Services, headers: Mapping[str, str], receive: Receive) -> Answer | None:
    """Verify, persist, acknowledge: the status and JSON body of the answer to a delivery."""
    started = time.perf_counter()
    settings = services.settings
    try:
        intake.check_declared_size(headers.get("content-length"), settings.max_payload_bytes)
        body = await read_body(receive, settings.max_payload_bytes)
        if body is None:
            return None
        # ASGI servers name headers in lower case.
        checked = intake.check(
            headers, body, settings.webhook_secrets, max_bytes=settings.max_payload_bytes
        )
        accepted = await store_delivery(services, checked)
    except NotStorable as exc:
        get_logger(delivery_id=checked.delivery_id).warning("delivery_not_storable")
        return reject(PayloadError(MSG_NOT_STORABLE.format(reason=exc)), services)
    except QueueError:
        get_logger(delivery_id=checked.delivery_id).exception("delivery_not_stored")
        return 503, {"error": STORE_FAILED, "message": MSG_STORE_FAILED}
    except WebhookError as exc:
        return reject(exc, services)
    services.metrics.observe_answer(time.perf_counter() - started)
    return acknowledge(checked, accepted)


async def store_delivery(services: Services, checked: Checked) -> Accepted:
    """Parse and store in the writer process, or parse here and store on the writer thread."""
    if services.writer_process is not None:
        return await services.writer_process.accept(checked, services.clock.now())
    delivery = intake.parse_for_storage(checked)
    route = route_spec(delivery, services.new_id())
    return await services.writer.accept(delivery, route, services.clock.now())


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes, whatever Content-Length claimed; None on a hang-up."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        intake.check_size(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(send: Send, status: int, body: Mapping[str, str]) -> None:
    """The answer as ``JSONResponse`` would render it, without building one."""
    raw = _ANSWER_JSON.encode(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


# JSONResponse's rendering; one encoder, as ``json.dumps`` with options builds one per call.
_ANSWER_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def acknowledge(delivery: Acknowledged, accepted: Accepted) -> Answer:
    body = {
        "delivery_id": delivery.delivery_id,
        "trace_id": accepted.trace_id,
        "status": "accepted" if accepted.new else "duplicate",
    }
    # GitHub's ping checks the hook works; it gets a plain 200.
    return (200 if delivery.event == PING_EVENT else 202), body


def reject(exc: WebhookError, services: Services) -> Answer:
    code = intake.rejection(exc)
    # Labels of rejected deliveries stay fixed: unsigned headers must not grow the metric.
    services.metrics.record_delivery("", None, code.value)
    get_logger().warning("delivery_rejected", error=code.value, reason=str(exc))
    return exc.status, {"error": code.value, "message": str(exc)}


def health(services: Services) -> Response:
    checks = {
        "store": _store_state(services.store),
        **_queue_state(services.queue),
        "intake_writer": "ok" if _writer_alive(services) else "not running",
        "worker": _worker_state(services.runner),
    }
    healthy = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if healthy else "failing", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _writer_alive(services: Services) -> bool:
    if services.writer_process is not None:
        return services.writer_process.alive()
    return services.writer.alive()


def _store_state(store: Store) -> str:
    try:
        store.ping()
    except QueueError as exc:
        return f"failing: {exc}"
    return "ok"


def _queue_state(queue: SqliteJobQueue | RedisJobQueue) -> dict[str, str]:
    """Redis answers, when the queue is there (the SQLite queue is the store)."""
    if not isinstance(queue, RedisJobQueue):
        return {}
    try:
        queue.ping()
    except QueueError as exc:
        return {"queue": f"failing: {exc}"}
    return {"queue": "ok"}


def _worker_state(worker: Runner) -> str:
    return "ok" if worker.alive() else "not running"
