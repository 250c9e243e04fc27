"""The scripting surface over HTTP: ``/_sandbox/...`` JSON endpoints over the Sandbox API.

Every endpoint takes and returns JSON objects (204 when there is nothing to say;
400 with {"message"} when the request is wrong):

- POST /_sandbox/users {login, name?, email?} -> {id, login, token}
- POST /_sandbox/users/{login}/tokens -> {token}
- POST /_sandbox/apps {owner, slug, name?, public_key_pem?, permissions?, events?}
  -> {id, slug, client_id, bot_login, private_key_pem}
- POST /_sandbox/installations {app_id, account, permissions?, repositories?, events?}
  -> {id, app_id, account}
- POST /_sandbox/installations/{id}/tokens -> {token}
- POST /_sandbox/repos {owner, name, source?, files?, private?, default_branch?, description?}
  -> {id, full_name, default_branch, git_path, head_sha}
- PUT /_sandbox/repos/{owner}/{name}/roles/{login} {role}
- PUT /_sandbox/rate_limits/{key} {limit, remaining?, reset_in?} -> rate-limit headers
- POST /_sandbox/faults {kind: error|secondary_limit|latency, path, method?, count?,
  status?, retry_after?, seconds?} -> {id};  GET /_sandbox/faults;  DELETE /_sandbox/faults
- POST /_sandbox/clock/advance {seconds} -> {now}
- GET /_sandbox/events, GET /_sandbox/violations, POST /_sandbox/reset
- PUT /_sandbox/webhook {url, secret}
- PUT /_sandbox/apps/{app_id}/webhook {url, secret}   (one App's hook)
- POST /_sandbox/webhooks/wait {timeout?} -> {drained, pending}   (deliveries done?)
- GET /_sandbox/webhooks/deliveries -> [{id, guid, event, action, status_code, ...}]
- POST /_sandbox/repos/{owner}/{name}/pulls/{number}/ready {login?}
- POST /_sandbox/repos/{owner}/{name}/pulls/{number}/draft {login?}
- POST /_sandbox/repos/{owner}/{name}/check-runs/{check_run_id}/requested_action
  {identifier, login}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.errors import SandboxError
from bot.sandbox import builders
from bot.sandbox.faults import Fault
from bot.sandbox.sandbox import Sandbox

Action = Callable[[Sandbox, dict[str, Any], dict[str, Any]], Any]


def _endpoint(
    sandbox: Sandbox, action: Action, status: int = 200
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise SandboxError("the request body must be a JSON object")
            result = await run_in_threadpool(action, sandbox, dict(request.path_params), body)
        except (SandboxError, KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"message": f"{type(exc).__name__}: {exc}"}, status_code=400)
        if result is None:
            return Response(status_code=204)
        return JSONResponse(result, status_code=status)

    return endpoint


def _user(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    user = sb.create_user(body["login"], name=body.get("name"), email=body.get("email"))
    return {"id": user.id, "login": user.login, "token": user.token}


def _token(sb: Sandbox, params: dict[str, Any], _: dict[str, Any]) -> Any:
    return {"token": sb.create_token(params["login"])}


def _app(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    app = sb.create_app(
        body["owner"],
        body["slug"],
        name=body.get("name"),
        public_key_pem=body.get("public_key_pem"),
        permissions=body.get("permissions"),
        events=body.get("events"),
    )
    return dataclasses.asdict(app)


def _installation(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    installation = sb.install_app(
        int(body["app_id"]),
        body["account"],
        permissions=body.get("permissions"),
        repositories=body.get("repositories"),
        events=body.get("events"),
    )
    return dataclasses.asdict(installation)


def _installation_token(sb: Sandbox, params: dict[str, Any], _: dict[str, Any]) -> Any:
    return {"token": sb.installation_token(int(params["installation_id"]))}


def _repo(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    repo = sb.create_repo(
        body["owner"],
        body["name"],
        source=Path(body["source"]) if body.get("source") else None,
        files=body.get("files"),
        private=bool(body.get("private", False)),
        default_branch=body.get("default_branch", "main"),
        description=body.get("description"),
    )
    return {
        "id": repo.id,
        "full_name": repo.full_name,
        "default_branch": repo.default_branch,
        "git_path": str(repo.git_path),
        "head_sha": repo.head_sha,
    }


def _role(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    sb.set_role(f"{params['owner']}/{params['name']}", params["login"], body["role"])


def _rate_limit(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    budget = sb.limiter.configure(
        params["key"], int(body["limit"]), remaining=body.get("remaining")
    )
    return budget.headers()


def _fault(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    kind, path, method = body["kind"], body["path"], body.get("method", "*")
    count = body.get("count", 1)
    fault: Fault
    if kind == "error":
        fault = sb.faults.error(
            path, status=int(body.get("status", 502)), count=count, method=method
        )
    elif kind == "secondary_limit":
        retry = int(body.get("retry_after", 60))
        fault = sb.faults.secondary_limit(path, retry_after=retry, count=count, method=method)
    elif kind == "latency":
        fault = sb.faults.latency(
            path, float(body["seconds"]), count=body.get("count"), method=method
        )
    else:
        raise SandboxError(f"unknown fault kind {kind!r} (error, secondary_limit, latency)")
    return {"id": fault.id}


def _faults(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    return [dataclasses.asdict(f) for f in sb.faults.active()]


def _clear_faults(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    sb.faults.clear()


def _advance(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    advance = getattr(sb.clock, "advance", None)
    if advance is None:
        raise SandboxError("this sandbox runs on the system clock; start it with a manual clock")
    advance(float(body["seconds"]))
    return {"now": sb.clock.now()}


def _events(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    urls = sb.urls
    with sb.state.lock:
        return [
            {
                "seq": e.seq,
                "event": e.name,
                "action": e.action,
                "payload": builders.event_payload(urls, sb.state, e),
            }
            for e in sb.state.events
        ]


def _violations(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    return [str(v) for v in sb.violations]


def _reset(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    sb.reset()


def _webhook(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    sb.set_webhook(body.get("url"), body.get("secret"))


def _app_webhook(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    sb.set_app_webhook(int(params["app_id"]), body.get("url"), body.get("secret"))


def _wait_deliveries(sb: Sandbox, _: dict[str, Any], body: dict[str, Any]) -> Any:
    from bot.sandbox import webhooks

    drained = sb.wait_for_deliveries(float(body.get("timeout", 10.0)))
    return {"drained": drained, "pending": webhooks.service_of(sb.services).pending}


def _deliveries(sb: Sandbox, _: dict[str, Any], __: dict[str, Any]) -> Any:
    from bot.sandbox import webhooks

    return [webhooks.delivery_item(d) | {"url": d.url} for d in sb.webhook_deliveries()]


def _ready(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    full_name = f"{params['owner']}/{params['name']}"
    sb.mark_ready_for_review(full_name, int(params["number"]), body.get("login"))


def _draft(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    full_name = f"{params['owner']}/{params['name']}"
    sb.convert_to_draft(full_name, int(params["number"]), body.get("login"))


def _requested_action(sb: Sandbox, params: dict[str, Any], body: dict[str, Any]) -> Any:
    full_name = f"{params['owner']}/{params['name']}"
    run_id = int(params["check_run_id"])
    sb.request_check_run_action(full_name, run_id, body["identifier"], body["login"])


def routes(sandbox: Sandbox) -> list[Route]:
    def route(path: str, action: Action, method: str, status: int = 200) -> Route:
        return Route(path, _endpoint(sandbox, action, status), methods=[method])

    return [
        route("/users", _user, "POST", 201),
        route("/users/{login}/tokens", _token, "POST", 201),
        route("/apps", _app, "POST", 201),
        route("/installations", _installation, "POST", 201),
        route("/installations/{installation_id}/tokens", _installation_token, "POST", 201),
        route("/repos", _repo, "POST", 201),
        route("/repos/{owner}/{name}/roles/{login}", _role, "PUT"),
        route("/rate_limits/{key}", _rate_limit, "PUT"),
        route("/faults", _fault, "POST", 201),
        route("/faults", _faults, "GET"),
        route("/faults", _clear_faults, "DELETE"),
        route("/clock/advance", _advance, "POST"),
        route("/events", _events, "GET"),
        route("/violations", _violations, "GET"),
        route("/reset", _reset, "POST"),
        route("/webhook", _webhook, "PUT"),
        route("/apps/{app_id}/webhook", _app_webhook, "PUT"),
        route("/webhooks/wait", _wait_deliveries, "POST"),
        route("/webhooks/deliveries", _deliveries, "GET"),
        route("/repos/{owner}/{name}/pulls/{number}/ready", _ready, "POST"),
        route("/repos/{owner}/{name}/pulls/{number}/draft", _draft, "POST"),
        route(
            "/repos/{owner}/{name}/check-runs/{check_run_id}/requested_action",
            _requested_action,
            "POST",
        ),
    ]
