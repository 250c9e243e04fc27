"""How resource modules declare operations, and the per-request context handlers receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from bot.sandbox.auth import Kind, Principal
from bot.sandbox.builders import Urls
from bot.sandbox.conformance import Operation
from bot.sandbox.protocol import ApiError, Msg, Reply
from bot.sandbox.state import Event, Payload, Repo, State, User

T = TypeVar("T")
Handler = Callable[["Ctx"], "Reply | dict[str, Any] | list[Any]"]

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.template)


class Router:
    """One per resource module: ``@router.get("/repos/{owner}/{repo}/labels")``.

    Templates are the path keys of rest-api.json exactly; composing the sandbox fails
    when a module declares an operation GitHub does not document.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def _add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, handler))
            return handler

        return register

    def get(self, template: str) -> Callable[[Handler], Handler]:
        return self._add("GET", template)

    def post(self, template: str) -> Callable[[Handler], Handler]:
        return self._add("POST", template)

    def put(self, template: str) -> Callable[[Handler], Handler]:
        return self._add("PUT", template)

    def patch(self, template: str) -> Callable[[Handler], Handler]:
        return self._add("PATCH", template)

    def delete(self, template: str) -> Callable[[Handler], Handler]:
        return self._add("DELETE", template)


@dataclass
class Ctx:
    """Everything a handler may use; handlers run under ``state.lock``."""

    state: State
    op: Operation
    principal: Principal
    urls: Urls
    params: dict[str, Any]
    query: dict[str, Any]
    raw_query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]
    request_id: str
    path: str
    repo_or_none: Repo | None = None
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def repo(self) -> Repo:
        if self.repo_or_none is None:
            raise ApiError(404, Msg.NOT_FOUND)
        return self.repo_or_none

    @property
    def now(self) -> float:
        return self.state.now()

    @property
    def actor(self) -> User:
        """The acting account: the person, or the App's bot user for installation tokens."""
        if self.principal.user is None:
            raise ApiError(401, Msg.REQUIRES_AUTH)
        return self.principal.user

    @property
    def app_id(self) -> int | None:
        """The App acting through an installation token (``performed_via_github_app``)."""
        if self.principal.kind is Kind.INSTALLATION and self.principal.app:
            return self.principal.app.id
        return None

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def emit(self, event: str, action: str | None, payload: Payload) -> Event:
        """Record a webhook-worthy change on the current repository by the current actor."""
        return self.state.emit(
            event, action, payload, repo=self.repo_or_none, sender=self.principal.user
        )

    def paginate(
        self,
        items: Sequence[T],
        render: Callable[[T], Any],
        *,
        wrap: str | None = None,
    ) -> Reply:
        """One page of ``items`` with GitHub's ``Link`` header (first/prev/next/last).

        With ``wrap`` the page is ``{"total_count": N, wrap: [...]}`` (check runs, suites).
        """
        per_page = min(max(int(self.query.get("per_page") or DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        page = max(int(self.query.get("page") or 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = [render(item) for item in items[(page - 1) * per_page : page * per_page]]
        body: Any = {"total_count": len(items), wrap: chunk} if wrap else chunk
        headers = {}
        link = self._link_header(page, last, per_page)
        if link:
            headers["Link"] = link
        return Reply(200, body, headers)

    def _link_header(self, page: int, last: int, per_page: int) -> str:
        def url(number: int) -> str:
            query = dict(self.raw_query) | {"per_page": str(per_page), "page": str(number)}
            return f"{self.urls.api}{self.path}?{urlencode(query)}"

        relations = []
        if page > 1:
            relations += [(min(page - 1, last), "prev")]
        if page < last:
            relations += [(page + 1, "next"), (last, "last")]
        if page > 1:
            relations += [(1, "first")]
        return ", ".join(f'<{url(number)}>; rel="{rel}"' for number, rel in relations)


def created(body: Any, *, headers: dict[str, str] | None = None) -> Reply:
    return Reply(201, body, headers or {})


def no_content() -> Reply:
    return Reply(204, None)
