"""The request pipeline every API call goes through, whatever resource it touches.

faults -> operation match (404) -> authentication (401) -> rate limit (403) ->
caller kind -> repository visibility and permission (404/403) -> parameter and body
validation (400/422) -> handler -> ETag/304 -> response validation (strict mode).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.auth import Kind, Principal, authenticate, authorize_repo, check_caller
from bot.sandbox.builders import Urls
from bot.sandbox.conformance import Match, Operation, Spec, Violation
from bot.sandbox.faults import Faults
from bot.sandbox.protocol import (
    DOCS_URL,
    RATE_LIMIT_DOCS_URL,
    ApiError,
    Msg,
    Reply,
)
from bot.sandbox.ratelimit import Budget, RateLimiter
from bot.sandbox.routing import Ctx, Route
from bot.sandbox.state import State

API_PREFIX = "/api/v3"


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # without the /api/v3 prefix, still percent-encoded
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    urls: Urls
    client: str = "127.0.0.1"


@dataclass
class Wire:
    """A reply ready for HTTP: bytes and headers."""

    status: int
    headers: dict[str, str]
    content: bytes = b""


@dataclass
class Violations:
    """Responses that broke GitHub's description (recorded in strict mode)."""

    items: list[Violation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, violation: Violation) -> None:
        with self.lock:
            self.items.append(violation)

    def snapshot(self) -> list[Violation]:
        with self.lock:
            return list(self.items)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


class Dispatcher:
    def __init__(
        self,
        state: State,
        spec: Spec,
        routes: Mapping[tuple[str, str], Route],
        limiter: RateLimiter,
        faults: Faults,
        violations: Violations,
        *,
        strict: bool,
        services: dict[str, Any],
    ) -> None:
        self.state = state
        self.spec = spec
        self.routes = routes
        self.limiter = limiter
        self.faults = faults
        self.violations = violations
        self.strict = strict
        self.services = services

    def handle(self, request: ApiRequest) -> Wire:
        request_id = secrets.token_hex(8).upper()
        outcome = self.faults.take(request.method, request.path, request_id)
        if outcome.delay:
            time.sleep(outcome.delay)
        if outcome.error is not None:
            return _wire(outcome.error.reply(), request_id)
        match = self.spec.match(request.method, request.path)
        if match is None:
            return _wire(
                ApiError(404, Msg.NOT_FOUND, documentation_url=DOCS_URL).reply(), request_id
            )
        with self.state.lock:
            reply = self._answer(request, match, request_id)
        return self._finish(request, match.operation, reply, request_id)

    # --- the pipeline -----------------------------------------------------------------

    def _answer(self, request: ApiRequest, match: Match, request_id: str) -> Reply:
        op = match.operation
        try:
            principal = authenticate(self.state, request.headers.get("authorization"))
        except ApiError as error:
            return error.reply()
        allowed, budget = self.limiter.charge(principal.rate_key)
        if not allowed:
            return _rate_limited(principal, budget, request, request_id)
        try:
            reply = self._run(request, match, principal, request_id)
        except ApiError as error:
            if error.status in (403, 422) and error.documentation_url == DOCS_URL:
                error.documentation_url = op.docs_url
            reply = error.reply()
        if reply.status == 200 and request.method == "GET" and reply.body is not None:
            reply = self._conditional(request, reply, principal)
        budget = self.limiter.peek(principal.rate_key)
        reply.headers = budget.headers() | reply.headers
        return reply

    def _run(
        self, request: ApiRequest, match: Match, principal: Principal, request_id: str
    ) -> Reply:
        op = match.operation
        params = self.spec.coerce_path_params(op, match.path_params)
        route = self.routes.get(op.key)
        if route is None:
            raise ApiError(404, Msg.NOT_IMPLEMENTED)
        check_caller(principal, op)
        repo = None
        if "owner" in params and "repo" in params:
            repo = self.state.repo_by_name(params["owner"], params["repo"])
            if repo is None:
                raise ApiError(404, Msg.NOT_FOUND)
            if principal.kind is not Kind.APP:
                authorize_repo(self.state, principal, op, repo)
        query = self.spec.coerce_query(op, request.query)
        body, present = _parse_body(request.body, op)
        self.spec.validate_body(op, body, present)
        ctx = Ctx(
            state=self.state,
            op=op,
            principal=principal,
            urls=request.urls,
            params=params,
            query=query,
            raw_query=request.query,
            body=body,
            headers=request.headers,
            request_id=request_id,
            path=request.path,
            repo_or_none=repo,
            services=self.services,
        )
        result = route.handler(ctx)
        return result if isinstance(result, Reply) else Reply(200, result)

    def _conditional(self, request: ApiRequest, reply: Reply, principal: Principal) -> Reply:
        etag = '"' + hashlib.sha256(_dump(reply.body)).hexdigest()[:40] + '"'
        reply.headers["ETag"] = etag
        wanted = request.headers.get("if-none-match", "")
        tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",") if tag.strip()}
        if etag in tags or "*" in tags:
            # A 304 costs no rate limit: give the request back.
            self.limiter.refund(principal.rate_key)
            return Reply(304, None, {"ETag": etag, **_keep_link(reply.headers)})
        return reply

    def _finish(self, request: ApiRequest, op: Operation, reply: Reply, request_id: str) -> Wire:
        if self.strict and reply.status != 304:
            problems = self.spec.response_problems(op, reply.status, reply.body)
            if problems:
                self.violations.add(
                    Violation(
                        request.method, request.path, op.operation_id, reply.status, tuple(problems)
                    )
                )
        return _wire(reply, request_id)


def _keep_link(headers: Mapping[str, str]) -> dict[str, str]:
    return {"Link": headers["Link"]} if "Link" in headers else {}


def _parse_body(raw: bytes, op: Operation) -> tuple[Any, bool]:
    if not raw.strip():
        return None, False
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, Msg.PROBLEMS_PARSING_JSON) from exc
    if op.body_pointer is not None and not isinstance(body, dict | list):
        raise ApiError(400, Msg.BODY_NOT_OBJECT)
    return body, True


def _rate_limited(
    principal: Principal, budget: Budget, request: ApiRequest, request_id: str
) -> Reply:
    if principal.kind is Kind.INSTALLATION and principal.installation:
        message = Msg.RATE_LIMITED_INSTALLATION.format(
            id=principal.installation.id, request_id=request_id
        )
    elif principal.user is not None:
        message = Msg.RATE_LIMITED_USER.format(id=principal.user.id, request_id=request_id)
    elif principal.app is not None:
        message = Msg.RATE_LIMITED_USER.format(id=principal.app.id, request_id=request_id)
    else:
        message = Msg.RATE_LIMITED_ANONYMOUS.format(ip=request.client)
    reply = ApiError(403, message, documentation_url=RATE_LIMIT_DOCS_URL).reply()
    reply.headers = budget.headers() | reply.headers
    return reply


def _dump(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _wire(reply: Reply, request_id: str) -> Wire:
    headers = {
        "X-GitHub-Request-Id": request_id,
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Api-Version-Selected": "2022-11-28",
        **reply.headers,
    }
    if reply.body is None:
        return Wire(reply.status, headers)
    headers["Content-Type"] = "application/json; charset=utf-8"
    return Wire(reply.status, headers, _dump(reply.body))
