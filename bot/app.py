"""The FastAPI app factory: webhook intake, health and metrics routes over the services."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot import intake
from bot.context import Clock, GitHubFactory, SystemClock, no_github
from bot.errors import PayloadError, QueueError, WebhookError
from bot.features import compose
from bot.intake import MSG_NOT_STORABLE, Delivery
from bot.jobs import JobRegistry, JobSpec
from bot.log import bound, get_logger
from bot.metrics import CONTENT_TYPE, Metrics
from bot.queue import SqliteJobQueue
from bot.router import ROUTE_KIND, Router, routing_jobs
from bot.settings import Settings
from bot.store import Accepted, DeliveryWriter, Durability, NotStorable, Store
from bot.worker import Runner, Worker, WorkerConfig

PING_EVENT = "ping"
STORE_FAILED = "store_unavailable"
MSG_STORE_FAILED = "the delivery could not be stored; redeliver it later"


@dataclass
class Services:
    """Everything the routes and the worker share; built once per app."""

    settings: Settings
    clock: Clock
    store: Store
    queue: SqliteJobQueue
    worker: Worker
    metrics: Metrics
    new_id: Callable[[], str]
    writer: DeliveryWriter
    # What runs the jobs: ``worker`` on threads of this process, or worker processes.
    runner: Runner

    def close(self) -> None:
        """Flush pending deliveries and close the store (after the worker stopped)."""
        self.writer.close()
        self.store.close()


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
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
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
    queue = SqliteJobQueue(store, clock, new_id)
    metrics = metrics or Metrics()
    metrics.watch_queue(queue.stats)
    registry = JobRegistry.compose(routing_jobs(router, store), jobs)
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
    return Services(
        settings, clock, store, queue, worker, metrics, new_id, DeliveryWriter(store), worker
    )


def create_app(
    settings: Settings, services: Services | None = None, *, start_worker: bool = True
) -> FastAPI:
    """The ASGI app. The lifespan starts the job runner and, on shutdown, stops it gracefully.

    ``services`` defaults to :func:`build_services` on ``settings`` (features only); the
    runner is ``services.runner`` (worker threads here, or worker processes).
    """
    shared = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            await run_in_threadpool(shared.runner.start)
        yield
        if start_worker:
            await run_in_threadpool(shared.runner.stop)

    app = FastAPI(title="TechLead", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = shared

    async def webhook(request: Request) -> Response:
        with shared.runner.deferring():
            return await receive(request, shared)

    # A plain Starlette route: the body is read raw for the signature, so FastAPI's
    # parameter parsing would only add work to the hot path.
    app.add_route("/webhook", webhook, methods=["POST"], include_in_schema=False)

    @app.get("/healthz")
    async def healthz() -> Response:
        return await run_in_threadpool(health, shared)

    @app.get("/metrics")
    async def metrics() -> Response:
        body = await run_in_threadpool(shared.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    return app


async def receive(request: Request, services: Services) -> Response:
    """Verify, persist, acknowledge: the route is only this adapter over ``bot.intake``."""
    started = time.perf_counter()
    settings = services.settings
    try:
        intake.check_declared_size(
            request.headers.get("content-length"), settings.max_payload_bytes
        )
        body = await read_body(request, settings.max_payload_bytes)
        delivery = intake.verify(
            request.headers, body, settings.webhook_secrets, max_bytes=settings.max_payload_bytes
        )
    except WebhookError as exc:
        return reject(exc, services)
    try:
        accepted = await accept(services, delivery)
    except NotStorable as exc:
        get_logger(delivery_id=delivery.delivery_id).warning("delivery_not_storable")
        return reject(PayloadError(MSG_NOT_STORABLE.format(reason=exc)), services)
    except QueueError:
        get_logger(delivery_id=delivery.delivery_id).exception("delivery_not_stored")
        return JSONResponse({"error": STORE_FAILED, "message": MSG_STORE_FAILED}, status_code=503)
    services.metrics.observe_answer(time.perf_counter() - started)
    return acknowledge(delivery, accepted)


async def read_body(request: Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes, whatever Content-Length claimed."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        intake.check_size(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def route_spec(delivery: Delivery, trace_id: str) -> JobSpec:
    """The job that routes a delivery; its dedupe key makes storing it idempotent."""
    return JobSpec(
        kind=ROUTE_KIND,
        payload={"delivery_id": delivery.delivery_id},
        dedupe_key=f"{ROUTE_KIND}:{delivery.delivery_id}",
        installation_id=delivery.envelope.installation_id,
        delivery_id=delivery.delivery_id,
        trace_id=trace_id,
    )


async def accept(services: Services, delivery: Delivery) -> Accepted:
    """Store the delivery and its routing job durably (group commit), then wake the worker."""
    route = route_spec(delivery, services.new_id())
    future = services.writer.submit(delivery, route, services.clock.now())
    accepted = await asyncio.wrap_future(future)
    if accepted.new:
        services.runner.wake()
    outcome = "accepted" if accepted.new else "duplicate"
    services.metrics.record_delivery(delivery.event, delivery.envelope.action, outcome)
    with bound(delivery_id=delivery.delivery_id, trace_id=accepted.trace_id):
        get_logger().info(
            "delivery_" + outcome,
            github_event=delivery.event,
            action=delivery.envelope.action,
        )
    return accepted


def acknowledge(delivery: Delivery, accepted: Accepted) -> Response:
    body = {
        "delivery_id": delivery.delivery_id,
        "trace_id": accepted.trace_id,
        "status": "accepted" if accepted.new else "duplicate",
    }
    # GitHub's ping checks the hook works; it gets a plain 200.
    status = 200 if delivery.event == PING_EVENT else 202
    return JSONResponse(body, status_code=status)


def reject(exc: WebhookError, services: Services) -> Response:
    code = intake.rejection(exc)
    # Labels of rejected deliveries stay fixed: unsigned headers must not grow the metric.
    services.metrics.record_delivery("", None, code.value)
    get_logger().warning("delivery_rejected", error=code.value, reason=str(exc))
    return JSONResponse({"error": code.value, "message": str(exc)}, status_code=exc.status)


def health(services: Services) -> Response:
    checks = {
        "store": _store_state(services.store),
        "intake_writer": "ok" if services.writer.alive() else "not running",
        "worker": _worker_state(services.runner),
    }
    healthy = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if healthy else "failing", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _store_state(store: Store) -> str:
    try:
        store.ping()
    except QueueError as exc:
        return f"failing: {exc}"
    return "ok"


def _worker_state(worker: Runner) -> str:
    return "ok" if worker.alive() else "not running"
