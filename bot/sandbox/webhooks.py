"""Webhook deliveries: state events become signed HTTP POSTs, logged like GitHub's App hook.

Every recorded event is rendered at once (a snapshot, as GitHub's payloads are) and sent
to each App installed on the repository that subscribes to it, with that App's hook
(set with ``PATCH /app/hook/config`` or :meth:`Webhooks.configure`; the sandbox-wide
``PUT /_sandbox/webhook`` target is the default of every App). A repository with no App
gets the sandbox-wide target as a repository webhook (no ``installation``).

As on GitHub, each delivery is tried once, never retried; the log keeps status code,
duration and the redelivery flag, ``GET /app/hook/deliveries`` pages it with a cursor
and ``POST /app/hook/deliveries/{id}/attempts`` redelivers with the same
``X-GitHub-Delivery``. Deliveries leave from background threads (one lane per group of
repositories, so one repository's deliveries keep their order); :meth:`Webhooks.drain`
waits until every queued delivery is done.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
https://docs.github.com/en/rest/apps/webhooks
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from bot.errors import SandboxError
from bot.sandbox import builders, pulls
from bot.sandbox.clock import iso
from bot.sandbox.protocol import ApiError, Reply, not_found
from bot.sandbox.routing import Ctx, Router
from bot.sandbox.state import App, Event, Installation, Repo, State, User

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

router = Router()

SERVICE_KEY = "webhooks"
USER_AGENT = "GitHub-Hookshot/sandbox"
# GitHub gives a receiver 10 seconds to answer.
DELIVERY_TIMEOUT = 10.0
LANES = 4
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
_FALLBACK_URLS = builders.Urls.for_host("http://localhost")
# Sent to an App whatever events it subscribed to.
_ALWAYS = frozenset({"installation", "installation_repositories", "ping"})
# Only the App that owns the check suite or run hears about it.
_OWNED = {"check_suite": "check_suite", "check_run": "check_run"}
# Events on an issue that is a pull request are pull_request events on GitHub.
_PULL_ACTIONS = frozenset(
    {"edited", "closed", "reopened", "labeled", "unlabeled", "assigned", "unassigned"}
)


class Status:
    """What the delivery log says about an attempt."""

    OK = "OK"
    HTTP = "Invalid HTTP Response: {code}"
    CONNECT = "failed to connect to host"
    TIMEOUT = "timed out"
    FAILED = "delivery failed: {error}"


@dataclass
class HookConfig:
    url: str | None = None
    secret: str | None = field(default=None, repr=False)
    content_type: str = "json"
    insecure_ssl: str = "0"


@dataclass(frozen=True)
class Target:
    """One receiver of an event: an App's hook (with its installation) or a repo hook."""

    hook_id: int
    url: str
    secret: str | None
    app_id: int | None
    installation: Installation | None
    target_id: int
    target_type: str  # integration | repository


@dataclass
class Delivery:
    """One attempt, as the App delivery log records it."""

    id: int
    guid: str
    hook_id: int
    app_id: int | None
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    url: str
    body: bytes
    headers: dict[str, str]
    redelivery: bool
    delivered_at: float = 0.0
    duration: float = 0.0
    status: str = "pending"
    status_code: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    secret: str | None = field(default=None, repr=False)

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def sign(body: bytes, secret: str) -> tuple[str, str]:
    """(X-Hub-Signature-256, X-Hub-Signature) values of ``body``."""
    sha256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return f"sha256={sha256}", f"sha1={sha1}"


class Webhooks:
    """Per-sandbox delivery service: targets, lanes, the log and the drain barrier."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        new_guid: Callable[[], str] = lambda: str(uuid.uuid4()),
        timeout: float = DELIVERY_TIMEOUT,
    ) -> None:
        self.sandbox = sandbox
        self.state: State = sandbox.state
        self.new_guid = new_guid
        self.timeout = timeout
        self.configs: dict[int, HookConfig] = {}
        self._hook_ids: dict[int | None, int] = {}
        self._log: list[Delivery] = []
        self._log_lock = threading.Lock()
        # The state's event list (replaced on reset) and how much of it is handled.
        self._events: list[Event] | None = None
        self._next_event = 0
        self._pending = 0
        self._idle = threading.Condition()
        self._lanes: list[queue.Queue[Delivery]] = []
        self._lanes_lock = threading.Lock()

    # --- configuration ----------------------------------------------------------------

    def configure(self, app_id: int, url: str | None, secret: str | None) -> None:
        """Set an App's webhook (None url: fall back to the sandbox-wide target)."""
        with self.state.lock:
            if app_id not in self.state.apps:
                raise SandboxError(f"no App {app_id}")
            self.configs[app_id] = HookConfig(url, secret)

    def config_for(self, app_id: int | None) -> HookConfig:
        own = self.configs.get(app_id) if app_id is not None else None
        if own is not None and own.url:
            return own
        return HookConfig(self.state.webhook.url, self.state.webhook.secret)

    def hook_id(self, app_id: int | None) -> int:
        with self.state.lock:
            if app_id not in self._hook_ids:
                self._hook_ids[app_id] = self.state.next_id()
            return self._hook_ids[app_id]

    # --- from events to deliveries ----------------------------------------------------

    def on_event(self, _: Event) -> None:
        """State listener: queue deliveries for every event not handled yet, in order."""
        with self.state.lock:
            events = self.state.events
            if events is not self._events:  # a new sandbox state (first event or a reset)
                if self._events is not None:
                    self.reset()
                self._events, self._next_event = events, 0
            fresh = events[self._next_event :]
            self._next_event = len(events)
            for event in fresh:
                for delivery in self._deliveries_for(event):
                    self._enqueue(delivery)

    def _deliveries_for(self, event: Event) -> list[Delivery]:
        urls = self.sandbox.urls if self.sandbox.base_url else _FALLBACK_URLS
        repo = self.state.repos.get(event.repo_id) if event.repo_id is not None else None
        if not self._anyone_listens(repo):
            return []  # nothing to render: no hook could receive it
        name, body = self._render(urls, event, repo)
        found = []
        for target in self._targets(event, name, body, repo):
            found.append(self._delivery(event, name, body, target, urls))
        return found

    def _anyone_listens(self, repo: Repo | None) -> bool:
        if self.state.webhook.url:
            return True
        if repo is None:
            return any(c.url for c in self.configs.values())
        return any(
            self.configs.get(i.app_id, HookConfig()).url
            for i in self.state.installations.values()
            if repo in self.state.installation_repos(i)
        )

    def _render(self, urls: builders.Urls, event: Event, repo: Repo | None) -> tuple[str, Any]:
        body = builders.event_payload(urls, self.state, event)
        name = event.name
        if name == "issues" and event.action in _PULL_ACTIONS and repo is not None:
            number = body.get("issue", {}).get("number")
            if number in pulls.pulls_of(repo):
                name = "pull_request"
                service = pulls.service_of(self.sandbox.services)
                part = pulls.pull_payload(self.state, service, repo, number)(urls)
                body = {k: v for k, v in body.items() if k != "issue"} | part
        return name, body

    def _targets(
        self, event: Event, name: str, body: dict[str, Any], repo: Repo | None
    ) -> list[Target]:
        if repo is None:
            return self._app_targets_without_repo(name, body)
        found = []
        installed = False
        for installation in list(self.state.installations.values()):
            if installation.suspended_at is not None:
                continue
            if repo not in self.state.installation_repos(installation):
                continue
            installed = True
            target = self._app_target(installation, name, body)
            if target is not None:
                found.append(target)
        if not installed:
            config = self.config_for(None)
            if config.url:
                hook = self.hook_id(None)
                found.append(
                    Target(hook, config.url, config.secret, None, None, repo.id, "repository")
                )
        return found

    def _app_target(
        self, installation: Installation, name: str, body: dict[str, Any]
    ) -> Target | None:
        app: App = self.state.apps[installation.app_id]
        if name not in installation.events and name not in _ALWAYS:
            return None
        owned = _OWNED.get(name)
        if owned and body.get(owned, {}).get("app", {}).get("id") != app.id:
            return None
        config = self.config_for(app.id)
        if not config.url:
            return None
        return Target(
            self.hook_id(app.id),
            config.url,
            config.secret,
            app.id,
            installation,
            app.id,
            "integration",
        )

    def _app_targets_without_repo(self, name: str, body: dict[str, Any]) -> list[Target]:
        installation_id = body.get("installation", {}).get("id")
        installation = self.state.installations.get(installation_id)
        if name not in _ALWAYS or installation is None:
            return []
        target = self._app_target(installation, name, body)
        return [target] if target is not None else []

    def _delivery(
        self, event: Event, name: str, body: dict[str, Any], target: Target, urls: builders.Urls
    ) -> Delivery:
        payload = dict(body)
        if target.installation is not None and "installation" not in _FULL_INSTALLATION.get(
            name, ()
        ):
            payload["installation"] = {
                "id": target.installation.id,
                "node_id": builders.node_id("Installation", target.installation.id),
            }
        owner = self._owner_of(event)
        if owner is not None and owner.type == "Organization":
            payload["organization"] = builders.hook_organization(urls, owner)
        payload = builders.webhook_body(name, payload, self._run_of(event, payload, urls))
        raw = json.dumps(payload, separators=(",", ":")).encode()
        guid = self.new_guid()
        delivery = Delivery(
            id=self.state.next_id(),
            guid=guid,
            hook_id=target.hook_id,
            app_id=target.app_id,
            event=name,
            action=event.action,
            installation_id=target.installation.id if target.installation else None,
            repository_id=event.repo_id,
            url=target.url,
            body=raw,
            headers=_headers(name, guid, target),
            redelivery=False,
            secret=target.secret,
        )
        return delivery

    def _owner_of(self, event: Event) -> User | None:
        """The account the event happened in: the repository's owner."""
        repo = self.state.repos.get(event.repo_id) if event.repo_id is not None else None
        return self.state.users.get(repo.owner_id) if repo is not None else None

    def _run_of(
        self, event: Event, body: dict[str, Any], urls: builders.Urls
    ) -> tuple[dict[str, Any], str] | None:
        """The suite and creation time a ``check_run`` payload needs."""
        found = body.get("check_run")
        repo = self.state.repos.get(event.repo_id) if event.repo_id is not None else None
        if not isinstance(found, dict) or repo is None:
            return None
        run = repo.check_runs.get(int(found.get("id") or 0))
        if run is None or run.suite_id not in repo.check_suites:
            return None
        suite = builders.check_suite(urls, self.state, repo, repo.check_suites[run.suite_id])
        return suite, iso(run.created_at)

    # --- sending ----------------------------------------------------------------------

    def _enqueue(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        self._lane(delivery.repository_id or 0).put(delivery)

    def _lane(self, key: int) -> queue.Queue[Delivery]:
        with self._lanes_lock:
            if not self._lanes:
                for number in range(LANES):
                    lane: queue.Queue[Delivery] = queue.Queue()
                    worker = threading.Thread(
                        target=self._work, args=(lane,), name=f"webhooks-{number}", daemon=True
                    )
                    worker.start()
                    self._lanes.append(lane)
            return self._lanes[key % LANES]

    def _work(self, lane: queue.Queue[Delivery]) -> None:
        while True:
            delivery = lane.get()
            try:
                self._send(delivery)
            except Exception as exc:  # a lane must outlive any one bad delivery (e.g. URL)
                delivery.status, delivery.status_code = Status.FAILED.format(error=exc), 0
            finally:
                with self._log_lock:
                    self._log.append(delivery)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _send(self, delivery: Delivery) -> None:
        headers = dict(delivery.headers)
        if delivery.secret:
            sha256, sha1 = sign(delivery.body, delivery.secret)
            headers["X-Hub-Signature-256"] = sha256
            headers["X-Hub-Signature"] = sha1
        delivery.headers = headers
        delivery.delivered_at = self.state.now()
        started = time.monotonic()
        try:
            with httpx.Client(timeout=self.timeout) as client:
                answer = client.post(delivery.url, content=delivery.body, headers=headers)
        except httpx.TimeoutException:
            delivery.status, delivery.status_code = Status.TIMEOUT, 0
        except httpx.HTTPError:
            delivery.status, delivery.status_code = Status.CONNECT, 0
        else:
            delivery.status_code = answer.status_code
            delivery.status = (
                Status.OK if delivery.ok else Status.HTTP.format(code=answer.status_code)
            )
            delivery.response_headers = dict(answer.headers)
            delivery.response_body = answer.text
        delivery.duration = round(time.monotonic() - started, 3)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery has been attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @property
    def pending(self) -> int:
        with self._idle:
            return self._pending

    # --- the log ----------------------------------------------------------------------

    def _forget_if_reset(self) -> None:
        with self.state.lock:
            if self._events is not None and self.state.events is not self._events:
                self.reset()
                self._events, self._next_event = self.state.events, 0

    def deliveries(self, app_id: int | None = None) -> list[Delivery]:
        """Finished attempts, oldest first (every hook, or one App's)."""
        self._forget_if_reset()
        with self._log_lock:
            found = list(self._log)
        found.sort(key=lambda d: d.id)
        return [d for d in found if app_id is None or d.app_id == app_id]

    def find(self, delivery_id: int) -> Delivery | None:
        self._forget_if_reset()
        with self._log_lock:
            return next((d for d in self._log if d.id == delivery_id), None)

    def redeliver(self, delivery_id: int, app_id: int | None = None) -> Delivery:
        """A new attempt of a logged delivery: same guid, event and body; redelivery=true."""
        original = self.find(delivery_id)
        if original is None or (app_id is not None and original.app_id != app_id):
            raise SandboxError(f"no delivery {delivery_id}")
        config = self.config_for(original.app_id)
        again = Delivery(
            id=self.state.next_id(),
            guid=original.guid,
            hook_id=original.hook_id,
            app_id=original.app_id,
            event=original.event,
            action=original.action,
            installation_id=original.installation_id,
            repository_id=original.repository_id,
            url=config.url or original.url,
            body=original.body,
            headers={k: v for k, v in original.headers.items() if not k.startswith("X-Hub-")},
            redelivery=True,
            secret=config.secret,
        )
        self._enqueue(again)
        return again

    def reset(self) -> None:
        with self._log_lock:
            self._log.clear()
        self.configs.clear()
        self._hook_ids.clear()


# Events whose payload already carries the whole installation object.
_FULL_INSTALLATION = {"installation": ("installation",)}


def _headers(name: str, guid: str, target: Target) -> dict[str, str]:
    return {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Event": name,
        "X-GitHub-Hook-ID": str(target.hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(target.target_id),
        "X-GitHub-Hook-Installation-Target-Type": target.target_type,
    }


# --- module hooks (see bot/sandbox/app.py) ----------------------------------------------


def install(sandbox: Sandbox) -> None:
    service = Webhooks(sandbox)
    sandbox.services[SERVICE_KEY] = service
    sandbox.state.subscribe(service.on_event)


def service_of(services: dict[str, Any]) -> Webhooks:
    found = services.get(SERVICE_KEY)
    if not isinstance(found, Webhooks):
        raise SandboxError("bot.sandbox.webhooks is not among the sandbox's modules")
    return found


# --- the App's hook: configuration and delivery log -----------------------------------


def _app(ctx: Ctx) -> App:
    if ctx.principal.app is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    return ctx.principal.app


def _render_config(service: Webhooks, app_id: int) -> dict[str, Any]:
    config = service.config_for(app_id)
    return {
        "url": config.url or "",
        "content_type": config.content_type,
        "secret": "********" if config.secret else None,  # GitHub masks it
        "insecure_ssl": config.insecure_ssl,
    }


@router.get("/app/hook/config")
def get_config(ctx: Ctx) -> dict[str, Any]:
    return _render_config(service_of(ctx.services), _app(ctx).id)


@router.patch("/app/hook/config")
def update_config(ctx: Ctx) -> dict[str, Any]:
    service = service_of(ctx.services)
    app = _app(ctx)
    current = service.configs.get(app.id) or service.config_for(app.id)
    service.configs[app.id] = HookConfig(
        url=ctx.field("url", current.url),
        secret=ctx.field("secret", current.secret),
        content_type=ctx.field("content_type", current.content_type),
        insecure_ssl=str(ctx.field("insecure_ssl", current.insecure_ssl)),
    )
    return _render_config(service, app.id)


def delivery_item(delivery: Delivery) -> dict[str, Any]:
    """A delivery as ``GET /app/hook/deliveries`` lists it."""
    return {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": iso(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": delivery.duration,
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": None,
    }


def delivery_detail(delivery: Delivery) -> dict[str, Any]:
    return delivery_item(delivery) | {
        "url": delivery.url,
        "request": {"headers": dict(delivery.headers), "payload": delivery.payload},
        "response": {
            "headers": dict(delivery.response_headers),
            "payload": delivery.response_body,
        },
    }


def _cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    digits = raw.removeprefix("v1_")
    if not digits.isdigit():
        raise ApiError(400, "Invalid cursor")
    return int(digits)


def _status_filter(wanted: str | None) -> Callable[[Delivery], bool]:
    if wanted == "success":
        return lambda d: 200 <= d.status_code < 400
    if wanted == "failure":
        return lambda d: 400 <= d.status_code < 600
    return lambda d: True


@router.get("/app/hook/deliveries")
def list_deliveries(ctx: Ctx) -> Reply:
    """Newest first; the ``Link`` header's ``cursor`` pages on, as on GitHub."""
    service = service_of(ctx.services)
    keep = _status_filter(ctx.query.get("status"))
    found = [d for d in reversed(service.deliveries(_app(ctx).id)) if keep(d)]
    start = _cursor(ctx.query.get("cursor"))
    if start is not None:
        found = [d for d in found if d.id <= start]
    per_page = min(max(int(ctx.query.get("per_page") or DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page, rest = found[:per_page], found[per_page:]
    headers = {}
    if rest:
        query = {k: v for k, v in ctx.raw_query.items() if k != "cursor"}
        query |= {"per_page": str(per_page), "cursor": f"v1_{rest[0].id}"}
        link = f"{ctx.urls.api}{ctx.path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        headers["Link"] = f'<{link}>; rel="next"'
    return Reply(200, [delivery_item(d) for d in page], headers)


def _own_delivery(ctx: Ctx) -> Delivery:
    delivery = service_of(ctx.services).find(ctx.params["delivery_id"])
    if delivery is None or delivery.app_id != _app(ctx).id:
        raise not_found()
    return delivery


@router.get("/app/hook/deliveries/{delivery_id}")
def get_delivery(ctx: Ctx) -> dict[str, Any]:
    return delivery_detail(_own_delivery(ctx))


@router.post("/app/hook/deliveries/{delivery_id}/attempts")
def redeliver(ctx: Ctx) -> Reply:
    delivery = _own_delivery(ctx)
    service_of(ctx.services).redeliver(delivery.id, delivery.app_id)
    return Reply(202, {})


# --- events only people cause -------------------------------------------------------------


def request_action(
    sandbox: Sandbox, full_name: str, check_run_id: int, identifier: str, login: str
) -> None:
    """Someone pressed one of a check run's ``actions``: ``check_run.requested_action``."""
    state = sandbox.state
    with state.lock:
        repo = sandbox.repo(full_name)
        run = repo.check_runs.get(check_run_id)
        if run is None:
            raise SandboxError(f"no check run {check_run_id} in {full_name}")
        if not any(action.get("identifier") == identifier for action in run.actions):
            raise SandboxError(f"check run {check_run_id} offers no action {identifier!r}")
        user = state.user_by_login(login)
        if user is None:
            raise SandboxError(f"no user {login!r}")

        def payload(urls: builders.Urls) -> dict[str, Any]:
            return {
                "check_run": builders.check_run(urls, state, repo, run),
                "requested_action": {"identifier": identifier},
            }

        state.emit("check_run", "requested_action", payload, repo=repo, sender=user)
