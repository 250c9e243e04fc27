"""GitHub App manifests: the code a confirmed manifest yields, and its one-time conversion.

On GitHub a person posts a manifest to ``/settings/apps/new``, confirms, and is sent
back to the manifest's ``redirect_url`` with a ``code``; ``POST
/app-manifests/{code}/conversions`` (no authentication) then creates nothing new but
hands over the App GitHub made: its id, private key, client secret and webhook secret.
Codes work once and expire after an hour.
https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest

The operation is not in the sandbox's cut of the REST description, so it is served as
a raw route next to the API. :func:`confirm` stands in for the person's click.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.errors import SandboxError
from bot.sandbox.clock import iso
from bot.sandbox.dispatch import API_PREFIX
from bot.sandbox.routing import Router

if TYPE_CHECKING:
    from bot.sandbox.sandbox import Sandbox

SERVICE_KEY = "manifests"
CODE_SECONDS = 3600.0
CONVERSION_PATH = "/app-manifests/{code}/conversions"
_NOT_A_SLUG = re.compile(r"[^a-z0-9]+")

router = Router()  # no documented operation: see asgi_routes


@dataclass
class Pending:
    manifest: dict[str, Any]
    owner: str
    issued_at: float


@dataclass
class Manifests:
    """Codes handed out for confirmed manifests, each converted at most once."""

    pending: dict[str, Pending] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def install(sandbox: Sandbox) -> None:
    sandbox.services[SERVICE_KEY] = Manifests()


def confirm(sandbox: Sandbox, manifest: Mapping[str, Any], owner: str) -> str:
    """What a person's "Create GitHub App" click does: a code for ``redirect_url``."""
    code = secrets.token_hex(10)
    with _service(sandbox).lock:
        _service(sandbox).pending[code] = Pending(dict(manifest), owner, sandbox.state.now())
    return code


def convert(sandbox: Sandbox, code: str) -> dict[str, Any] | None:
    """The App made from the manifest behind ``code``; None when unknown, used or expired."""
    service = _service(sandbox)
    with service.lock:
        pending = service.pending.pop(code, None)
    if pending is None or pending.issued_at + CODE_SECONDS <= sandbox.state.now():
        return None
    manifest = pending.manifest
    name = str(manifest.get("name") or "app")
    app = sandbox.create_app(
        pending.owner,
        _slug(sandbox, name),
        name=name,
        permissions=dict(manifest.get("default_permissions") or {"metadata": "read"}),
        events=list(manifest.get("default_events") or []),
    )
    hook = manifest.get("hook_attributes") or {}
    webhook_secret = secrets.token_hex(20)
    if hook.get("url"):
        sandbox.set_app_webhook(app.id, str(hook["url"]), webhook_secret)
    return _conversion(sandbox, app.id, name, manifest, webhook_secret, app.private_key_pem)


def asgi_routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def endpoint(request: Request) -> Response:
        found = await run_in_threadpool(convert, sandbox, request.path_params["code"])
        if found is None:
            body = {"message": "Not Found", "documentation_url": _DOCS}
            return Response(json.dumps(body), 404, media_type="application/json")
        return Response(json.dumps(found), 201, media_type="application/json")

    return [Route(API_PREFIX + CONVERSION_PATH, endpoint, methods=["POST"])]


_DOCS = "https://docs.github.com/rest/apps/apps#create-a-github-app-from-a-manifest"


def _conversion(
    sandbox: Sandbox,
    app_id: int,
    name: str,
    manifest: Mapping[str, Any],
    webhook_secret: str,
    pem: str | None,
) -> dict[str, Any]:
    with sandbox.state.lock:
        app = sandbox.state.apps[app_id]
        owner = sandbox.state.users[app.owner_id]
        web = sandbox.base_url or ""
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": f"A_{app.id}",
            "client_id": app.client_id,
            "owner": {"login": owner.login, "id": owner.id, "type": owner.type},
            "name": name,
            "description": str(manifest.get("description") or ""),
            "external_url": str(manifest.get("url") or ""),
            "html_url": f"{web}/apps/{app.slug}",
            "created_at": iso(app.created_at),
            "updated_at": iso(app.created_at),
            "permissions": dict(app.permissions),
            "events": list(app.events),
            "client_secret": secrets.token_hex(20),
            "webhook_secret": webhook_secret,
            "pem": pem,
        }


def _slug(sandbox: Sandbox, name: str) -> str:
    base = _NOT_A_SLUG.sub("-", name.lower()).strip("-")[:30] or "app"
    with sandbox.state.lock:
        taken = {app.slug for app in sandbox.state.apps.values()}
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _service(sandbox: Sandbox) -> Manifests:
    found = sandbox.services.get(SERVICE_KEY)
    if not isinstance(found, Manifests):
        raise SandboxError("bot.sandbox.manifests is not among the sandbox's modules")
    return found
