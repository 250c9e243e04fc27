"""Declared routing: handlers registered per event (and action) decide which jobs to run.

    router = Router()

    @router.register("issues", action="labeled")
    def on_labeled(event: Event, ctx: JobContext) -> list[JobSpec]: ...

A handler only decides and schedules: it returns job specs; long work runs as jobs.
Events sent by bots (TechLead's own included) reach only handlers registered with
``allow_bots=True``, so the bot never answers itself.

Handlers read payloads through the views of :mod:`bot.events`. A payload missing a
field they need (or holding another type there) raises
:class:`~bot.errors.MalformedEvent`; retrying cannot change a stored payload, so that
handler's event is logged (field path, never the value) and skipped, and the routing job
completes. Any other failure still fails the routing job, which the queue retries.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.context import JobContext
from bot.errors import MalformedEvent, QueueError
from bot.intake import Envelope, envelope
from bot.jobs import Job, JobRegistry, JobSpec

ROUTE_KIND = "delivery.route"
BOT_TYPE = "Bot"
BOT_SUFFIX = "[bot]"


class RouteOutcome(enum.StrEnum):
    """What routing did with a delivery (stored on the delivery, logged)."""

    SCHEDULED = "scheduled"
    NOTHING_TO_DO = "nothing to do"
    MALFORMED = "skipped (malformed)"
    IGNORED_BOT = "ignored (bot)"
    NO_HANDLER = "no handler"


@dataclass(frozen=True)
class Event:
    """A delivery as handlers see it. Event names stay strings: GitHub adds new ones."""

    name: str
    delivery_id: str
    payload: Mapping[str, Any]
    trace_id: str = ""
    action: str | None = None
    installation_id: int | None = None
    repo: str | None = None
    sender_login: str | None = None
    sender_type: str | None = None

    @classmethod
    def from_payload(
        cls, name: str, delivery_id: str, payload: Mapping[str, Any], trace_id: str = ""
    ) -> Event:
        facts: Envelope = envelope(payload)
        return cls(
            name=name,
            delivery_id=delivery_id,
            payload=payload,
            trace_id=trace_id,
            action=facts.action,
            installation_id=facts.installation_id,
            repo=facts.repo,
            sender_login=facts.sender_login,
            sender_type=facts.sender_type,
        )

    def from_bot(self, bot_login: str | None) -> bool:
        """True for any bot sender: ``type == "Bot"``, a ``[bot]`` login, or our own login."""
        login = (self.sender_login or "").lower()
        return (
            self.sender_type == BOT_TYPE
            or login.endswith(BOT_SUFFIX)
            or (bool(bot_login) and login == (bot_login or "").lower())
        )


Handler = Callable[[Event, JobContext], "list[JobSpec] | None"]


@dataclass(frozen=True)
class Route:
    event: str
    action: str | None
    handler: Handler
    allow_bots: bool = False

    @property
    def name(self) -> str:
        return getattr(self.handler, "__qualname__", repr(self.handler))

    def matches(self, event: Event, bot_login: str | None) -> bool:
        if self.event != event.name:
            return False
        if self.action is not None and self.action != event.action:
            return False
        return self.allow_bots or not event.from_bot(bot_login)


class Router:
    """Handlers by event name and optional action; composable across feature modules."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def register(
        self, event: str, *, action: str | None = None, allow_bots: bool = False
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self._routes.append(Route(event, action, handler, allow_bots))
            return handler

        return decorate

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    @classmethod
    def compose(cls, *routers: Router) -> Router:
        composed = cls()
        for router in routers:
            composed._routes.extend(router._routes)
        return composed

    def matching(self, event: Event, bot_login: str | None) -> list[Route]:
        return [route for route in self._routes if route.matches(event, bot_login)]


class DeliveryLog(Protocol):
    """The part of the store routing needs."""

    def get_delivery(self, delivery_id: str) -> Any: ...

    def mark_routed(self, delivery_id: str, outcome: str, now: float) -> None: ...


class RouteCounter(Protocol):
    """Where routing outcomes are counted, by event and action (the app's metrics)."""

    def record_route(self, event: str, action: str | None, outcome: str) -> None: ...


@dataclass(frozen=True)
class Dispatched:
    """What dispatching one event did: the jobs scheduled, the payload faults skipped."""

    jobs: tuple[Job, ...] = ()
    malformed: tuple[MalformedEvent, ...] = ()


def dispatch(router: Router, event: Event, ctx: JobContext) -> Dispatched:
    """Run every matching handler and schedule what each returns.

    One failing handler does not stop the others. A malformed payload is logged and
    skipped (:func:`skip_malformed`); any other failure fails the routing job once every
    handler ran, so it is retried, and dedupe keys keep the already scheduled jobs from
    doubling.
    """
    scheduled: list[Job] = []
    malformed: list[MalformedEvent] = []
    errors: list[BaseException] = []
    for route in router.matching(event, ctx.settings.bot_login):
        try:
            specs = route.handler(event, ctx) or []
        except MalformedEvent as exc:
            skip_malformed(ctx, event, route, exc)
            malformed.append(exc)
            continue
        except Exception as exc:
            ctx.log.exception("handler_failed", handler=route.name)
            errors.append(exc)
            continue
        scheduled.extend(ctx.enqueue(_keyed(spec, event, route, i)) for i, spec in enumerate(specs))
    if errors:
        raise errors[0]
    return Dispatched(tuple(scheduled), tuple(malformed))


def skip_malformed(ctx: JobContext, event: Event, route: Route, exc: MalformedEvent) -> None:
    """One warning naming the delivery, the handler and the field; no traceback, no value.

    The payload stays in the store (``techlead deliveries``) for whoever investigates;
    a log line must not carry people's text or anything secret that came with it.
    """
    ctx.log.warning(
        "event_malformed",
        delivery_id=event.delivery_id,
        handler=route.name,
        github_event=exc.event,
        action=exc.action,
        field=exc.field,
        reason=exc.reason,
    )


def _keyed(spec: JobSpec, event: Event, route: Route, index: int) -> JobSpec:
    """Give a spec without a dedupe key one that is stable across re-runs of routing."""
    if spec.dedupe_key:
        return spec
    return replace(spec, dedupe_key=f"{spec.kind}:{event.delivery_id}:{route.name}:{index}")


def routing_jobs(
    router: Router, deliveries: DeliveryLog, counter: RouteCounter | None = None
) -> JobRegistry:
    """The ``delivery.route`` job kind: load a stored delivery, dispatch it, record the outcome.

    ``counter`` (the app's metrics) counts each outcome, so skipped malformed deliveries
    show on a dashboard and not only in the log.
    """
    jobs = JobRegistry()

    @jobs.register(ROUTE_KIND)
    def route_delivery(job: Job, ctx: JobContext) -> None:
        delivery_id = job.payload["delivery_id"]
        stored = deliveries.get_delivery(delivery_id)
        if stored is None:
            raise QueueError(f"delivery {delivery_id} is not in the store")
        event = Event.from_payload(stored.event, delivery_id, stored.payload(), job.trace_id)
        dispatched = dispatch(router, event, ctx)
        outcome = _outcome(event, router, ctx.settings.bot_login, dispatched)
        deliveries.mark_routed(delivery_id, outcome.value, ctx.now())
        if counter is not None:
            counter.record_route(event.name, event.action, outcome.value)
        scheduled = [child.id for child in dispatched.jobs]
        ctx.log.info("delivery_routed", outcome=outcome.value, jobs=scheduled)

    return jobs


def _outcome(
    event: Event, router: Router, bot_login: str | None, dispatched: Dispatched
) -> RouteOutcome:
    if dispatched.jobs:
        return RouteOutcome.SCHEDULED
    if dispatched.malformed:
        return RouteOutcome.MALFORMED
    if router.matching(event, bot_login):
        return RouteOutcome.NOTHING_TO_DO
    if any(route.event == event.name for route in router.routes) and event.from_bot(bot_login):
        return RouteOutcome.IGNORED_BOT
    return RouteOutcome.NO_HANDLER
