"""Composes the sandbox: the resource modules, the admin surface and the API dispatcher.

``RESOURCE_MODULES`` is the one list of resource modules. Each module exposes
``router`` (a :class:`bot.sandbox.routing.Router`) and may expose
``install(sandbox)`` (called once, e.g. to subscribe to events) and
``asgi_routes(sandbox)`` (extra raw HTTP routes, e.g. git's smart HTTP protocol).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from bot.errors import SandboxError
from bot.sandbox import (
    apps,
    branches,
    checks,
    collaborators,
    comments,
    commits,
    contents,
    forks,
    git_data,
    git_http,
    issues,
    labels,
    manifests,
    pulls,
    rate_limit,
    reactions,
    repos,
    reviews,
    statuses,
    users,
    webhooks,
)
from bot.sandbox.builders import Urls
from bot.sandbox.conformance import Spec
from bot.sandbox.dispatch import API_PREFIX, ApiRequest
from bot.sandbox.routing import Route as ApiRoute

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

RESOURCE_MODULES: tuple[ModuleType, ...] = (
    users,
    apps,
    rate_limit,
    repos,
    branches,
    collaborators,
    issues,
    comments,
    labels,
    reactions,
    contents,
    git_data,
    commits,
    statuses,
    checks,
    webhooks,
    pulls,
    forks,
    reviews,
    git_http,
    manifests,
)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def collect_routes(modules: Iterable[ModuleType], spec: Spec) -> dict[tuple[str, str], ApiRoute]:
    """Every module's routes by (method, template); each must be a documented operation."""
    table: dict[tuple[str, str], ApiRoute] = {}
    for module in modules:
        for route in module.router.routes:
            if route.key not in spec.by_key:
                raise SandboxError(
                    f"{module.__name__}: {route.method} {route.template} is not an operation "
                    "of GitHub's REST API description"
                )
            if route.key in table:
                raise SandboxError(f"{module.__name__}: {route.method} {route.template} twice")
            table[route.key] = route
    return table


def build_asgi(sandbox: Sandbox, modules: Sequence[ModuleType]) -> Starlette:
    from bot.sandbox import admin

    extra: list[BaseRoute] = []
    for module in modules:
        if hasattr(module, "asgi_routes"):
            extra.extend(module.asgi_routes(sandbox))

    async def api(request: Request) -> Response:
        body = await request.body()
        api_request = _api_request(request, body)
        if sandbox.base_url is None:
            sandbox.base_url = api_request.urls.web
        wire = await run_in_threadpool(sandbox.dispatcher.handle, api_request)
        return Response(wire.content, status_code=wire.status, headers=wire.headers)

    routes: list[BaseRoute] = [
        Mount("/_sandbox", routes=admin.routes(sandbox)),
        *extra,
        Route(API_PREFIX + "/{rest:path}", api, methods=_METHODS),
    ]
    return Starlette(routes=routes)


def _api_request(request: Request, body: bytes) -> ApiRequest:
    raw_path: Any = request.scope.get("raw_path") or request.url.path.encode()
    path = raw_path.decode("latin-1").split("?", 1)[0].removeprefix(API_PREFIX) or "/"
    root = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return ApiRequest(
        method=request.method,
        path=path,
        query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        urls=Urls.for_host(root),
        client=request.client.host if request.client else "127.0.0.1",
    )
