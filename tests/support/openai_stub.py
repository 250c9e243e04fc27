"""A local OpenAI-compatible model server for tests: chat completions over real HTTP.

It speaks the wire protocol the ``openai`` client uses (``GET /v1/models``,
``POST /v1/chat/completions`` with ``tools`` and ``response_format``), answers from a
script pushed by the test, and records every request it received::

    stub = OpenAIStub(api_key="sk-test")
    stub.push(json_reply({"tasks": []}), rate_limited(retry_after=1), tool("read_file", path="a"))
    with stub.serve() as base_url:   # http://127.0.0.1:PORT/v1
        ...

Script items are :class:`Scripted` answers or callables ``(request body) -> Scripted``
(for answers that depend on what the model was sent). With the script empty the stub
answers ``echo:<sha256 of the last user message>``, a pure function of the request.
A wrong key gets OpenAI's 401, which quotes the key back, as the real service does.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.sandbox.server import free_port

HOST = "127.0.0.1"
MODEL = "stub-model"


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: content and/or tool calls, or an HTTP error."""

    content: str | None = None
    tool_calls: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    status: int = 200
    error: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str | None = None


ScriptItem = Scripted | Callable[[dict[str, Any]], Scripted]


def reply(content: str) -> Scripted:
    return Scripted(content=content)


def json_reply(value: Any) -> Scripted:
    return Scripted(content=json.dumps(value))


def tool(name: str, **arguments: Any) -> Scripted:
    return Scripted(tool_calls=((name, arguments),))


def rate_limited(retry_after: float | None = 1, *, millis: float | None = None) -> Scripted:
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    if millis is not None:
        headers["retry-after-ms"] = f"{millis:g}"
    return Scripted(status=429, error="Rate limit reached for requests", headers=headers)


def server_error(status: int = 500) -> Scripted:
    return Scripted(status=status, error="The server had an error while processing your request")


def slow(seconds: float, answer: Scripted | None = None) -> Scripted:
    return replace(answer or reply("late"), delay=seconds)


class OpenAIStub:
    """A scripted OpenAI-compatible server; ``requests`` holds what it was sent."""

    def __init__(self, api_key: str | None = None, model: str = MODEL) -> None:
        self.api_key = api_key
        self.model = model
        self.script: deque[ScriptItem] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()

    def push(self, *items: ScriptItem) -> None:
        self.script.extend(items)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free port of 127.0.0.1; yields the base URL (``.../v1``)."""
        port = free_port(HOST)
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="openai-stub", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the stub did not start"
            time.sleep(0.01)
        try:
            yield f"http://{HOST}:{port}/v1"
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    # -------------------------------------------------------------------------- protocol

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models(request: Request) -> JSONResponse:
            if (refused := self._refuse(request)) is not None:
                return refused
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "tests"}
            return JSONResponse({"object": "list", "data": [model]})

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.requests.append(body)
                self.headers.append(dict(request.headers))
            if (refused := self._refuse(request)) is not None:
                return refused
            if problem := invalid_request(body):
                return _error(400, problem, {}, kind="invalid_request_error")
            answer = self._next(body)
            if answer.delay and await _gone_within(request, answer.delay):
                return _error(499, "client closed the request", {})
            if answer.status != 200:
                return _error(answer.status, answer.error, answer.headers)
            return JSONResponse(self._completion(body, answer), headers=dict(answer.headers))

        return app

    def _refuse(self, request: Request) -> JSONResponse | None:
        if self.api_key is None:
            return None
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if given == self.api_key:
            return None
        message = f"Incorrect API key provided: {given}."
        return _error(401, message, {}, kind="invalid_request_error", code="invalid_api_key")

    def _next(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            item = self.script.popleft() if self.script else None
        if item is None:
            return reply("echo:" + hashlib.sha256(_last_user(body).encode()).hexdigest()[:12])
        return item(body) if callable(item) else item

    def _completion(self, body: dict[str, Any], answer: Scripted) -> dict[str, Any]:
        calls = [
            {
                "id": f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(dict(arguments))},
            }
            for name, arguments in answer.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if calls:
            message["tool_calls"] = calls
        finish = answer.finish_reason or ("tool_calls" if calls else "stop")
        prompt = sum(len(json.dumps(m)) for m in body.get("messages", [])) // 4
        completion = len(json.dumps(message)) // 4
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


def _error(
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    kind: str = "server_error",
    code: str | None = None,
) -> JSONResponse:
    if status == 429:
        kind = "requests"
    error = {"message": message, "type": kind, "param": None, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers))


def invalid_request(body: dict[str, Any]) -> str | None:
    """What the real service would refuse in a request (400), or None.

    Tool results must answer the tool calls of the assistant turn before them, every
    call answered; a strict ``json_schema`` must list every property as required and
    forbid others, at every level.
    """
    pending: set[str] = set()
    for message in body.get("messages", []):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return "messages with role 'tool' must answer a preceding 'tool_calls' entry"
            pending.discard(message["tool_call_id"])
            continue
        if pending:
            return "an assistant message with 'tool_calls' must be followed by tool messages"
        if role == "assistant":
            pending = {call["id"] for call in message.get("tool_calls") or []}
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema" and fmt["json_schema"].get("strict"):
        return _strict_problem(fmt["json_schema"].get("schema", {}))
    return None


def _strict_problem(schema: Mapping[str, Any]) -> str | None:
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return "strict schemas must set additionalProperties to false"
        if set(schema.get("required", [])) != set(properties):
            return "strict schemas must list every property in required"
        for child in properties.values():
            if problem := _strict_problem(child):
                return problem
    if schema.get("type") == "array":
        return _strict_problem(schema.get("items", {}))
    return None


async def _gone_within(request: Request, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as the client hangs up (a timed-out request)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(0.02)
    return False


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""
