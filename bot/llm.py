"""The one module that talks to an OpenAI-compatible model endpoint (the ``openai`` client).

Everything else asks a :class:`ModelClient` for a :class:`Reply` and never imports
``openai``. Each call returns its cost (:class:`Usage`: tokens, seconds, retries) with
the answer, so the planner and the llm executor can show what a plan or a task cost.

Retries are ours, not the library's (``max_retries=0`` on the client), so they are
bounded by the call's own time limit: a 429 waits what its ``Retry-After`` says (never
past the deadline), a 5xx or a dropped connection waits a short exponential backoff.
The API key lives only inside the ``openai`` client; it is kept out of ``repr`` and
every error message TechLead raises is scrubbed of it (servers echo rejected keys).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import openai

from bot.errors import (
    ModelError,
    ModelRateLimited,
    ModelReplyError,
    ModelTimeout,
    ModelUnavailable,
)
from bot.log import get_logger
from bot.settings import Settings

# Local servers (llama.cpp, vLLM, Ollama) accept any key; the client insists on one.
NO_KEY = "unused"
# The first wait after a 5xx or a dropped connection; doubled per retry.
BACKOFF_SECONDS = 0.5
# A Retry-After longer than this is not waited for: the endpoint is out of quota.
MAX_RETRY_AFTER = 60.0
REDACTED = "***"

Message = Mapping[str, Any]


@dataclass(frozen=True)
class ModelConfig:
    """Where the model is and how long to wait for it. The key never shows in ``repr``."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelConfig | None:
        """The model the environment configures, or None when none is."""
        if not (settings.llm_base_url and settings.llm_model):
            return None
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )


@dataclass(frozen=True)
class Usage:
    """What calls to the model cost: tokens, wall-clock seconds, calls and retries."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0
    retries: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            round(self.seconds + other.seconds, 4),
            self.calls + other.calls,
            self.retries + other.retries,
        )

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat numbers for timings and ``ExecutionResult.usage``."""
        return {
            f"{prefix}prompt_tokens": self.prompt_tokens,
            f"{prefix}completion_tokens": self.completion_tokens,
            f"{prefix}tokens": self.total_tokens,
            f"{prefix}seconds": round(self.seconds, 4),
            f"{prefix}calls": self.calls,
            f"{prefix}retries": self.retries,
        }


@dataclass(frozen=True)
class Tool:
    """A function the model may call; ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: Mapping[str, Any]

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": dict(self.parameters),
            },
        }


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for; ``arguments`` is the JSON text it wrote."""

    id: str
    name: str
    arguments: str

    def parsed(self) -> dict[str, Any]:
        """The arguments as an object; raises ModelReplyError when they are not one."""
        value = parse_json(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ModelReplyError(f"the arguments of {self.name} are not a JSON object")
        return value


@dataclass(frozen=True)
class Reply:
    """The model's answer to one request, with what the request cost."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)

    def json(self) -> Any:
        """The content as JSON (structured output); raises ModelReplyError when it is not."""
        return parse_json(self.content)

    def as_message(self) -> dict[str, Any]:
        """The assistant turn to send back with the tools' results."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        return message


def parse_json(text: str) -> Any:
    """JSON from a model's text, tolerating a Markdown code fence around it."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ModelReplyError(f"the model's answer is not JSON: {exc.msg}") from exc


def tool_result(call: ToolCall, content: str) -> dict[str, Any]:
    """The message carrying one tool's result back to the model."""
    return {"role": "tool", "tool_call_id": call.id, "content": content}


class ModelClient:
    """Chat completions against one OpenAI-compatible endpoint, with bounded retries.

    ``http_client`` lets tests pass ``fastapi.testclient.TestClient`` (no socket);
    ``sleep`` and ``clock`` are injected so retry waits can be observed.
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._clock = clock
        options: dict[str, Any] = {"http_client": http_client} if http_client else {}
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key or NO_KEY,
            timeout=config.timeout,
            max_retries=0,
            **options,
        )

    def __repr__(self) -> str:
        return f"ModelClient({self.config!r})"

    def chat(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Tool] = (),
        schema: Mapping[str, Any] | None = None,
        schema_name: str = "answer",
        max_tokens: int | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """One completion. ``schema`` asks for structured output (``json_schema``).

        ``timeout`` bounds the whole call, retries included. Raises ModelTimeout,
        ModelRateLimited, ModelUnavailable or ModelError (all scrubbed of the key).
        """
        limit = self.config.timeout if timeout is None else timeout
        request = self._request(messages, tools, schema, schema_name, max_tokens)
        started = self._clock()
        deadline = started + limit
        retries = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ModelTimeout(f"no answer from the model within {limit:g} s")
            try:
                response = self._client.chat.completions.create(**request, timeout=remaining)
            except openai.APIError as exc:
                wait = self._retry_wait(exc, retries, deadline)
                retries += 1
                self._sleep(wait)
                continue
            reply = _reply(response, Usage(seconds=self._clock() - started, retries=retries))
            _log_call(self.config.model, reply.usage)
            return reply

    def _request(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool],
        schema: Mapping[str, Any] | None,
        schema_name: str,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": [dict(message) for message in messages],
            "temperature": 0,
        }
        if tools:
            request["tools"] = [tool.spec() for tool in tools]
        if schema is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
            }
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        return request

    def _retry_wait(self, exc: openai.APIError, retries: int, deadline: float) -> float:
        """How long to wait before retrying ``exc``; raises when it must not be retried."""
        error = self._translate(exc)
        if isinstance(error, ModelTimeout) or not _retryable(exc):
            raise error from None
        if retries >= self.config.max_retries:
            raise error from None
        wait = _retry_after(exc)
        if wait is None:
            wait = BACKOFF_SECONDS * 2**retries
        if wait > MAX_RETRY_AFTER or self._clock() + wait >= deadline:
            raise error from None
        return wait

    def _translate(self, exc: openai.APIError) -> ModelError:
        """Our error for the library's, its text scrubbed of the key.

        Raised ``from None``: the library's exception holds the response body, and
        endpoints quote a rejected key back in it.
        """
        text = self._scrub(_describe(exc))
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"the model did not answer in time: {text}")
        if isinstance(exc, openai.RateLimitError):
            return ModelRateLimited(text, retry_after=_retry_after(exc))
        if isinstance(exc, openai.APIConnectionError | openai.InternalServerError):
            return ModelUnavailable(text)
        return ModelError(text)

    def _scrub(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, REDACTED) if key else text


def _retryable(exc: openai.APIError) -> bool:
    if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
        return True
    return isinstance(exc, openai.APIConnectionError)


def _describe(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} from the model endpoint: {exc.message}"
    return f"{type(exc).__name__}: {exc.message}"


def _retry_after(exc: openai.APIError) -> float | None:
    """Seconds the endpoint asked to wait (``retry-after-ms``, ``Retry-After``), if any.

    ``Retry-After`` is delta-seconds or an HTTP date (RFC 9110, section 10.2.3).
    """
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reply(response: Any, usage: Usage) -> Reply:
    """Our reply from the library's ``ChatCompletion``."""
    if not response.choices:
        raise ModelReplyError("the model's answer has no choices")
    choice = response.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(call.id, call.function.name, call.function.arguments or "")
        for call in (message.tool_calls or ())
        if getattr(call, "function", None) is not None
    )
    counted = response.usage
    return Reply(
        content=message.content or "",
        tool_calls=calls,
        finish_reason=choice.finish_reason or "stop",
        usage=Usage(
            prompt_tokens=counted.prompt_tokens if counted else 0,
            completion_tokens=counted.completion_tokens if counted else 0,
            seconds=round(usage.seconds, 4),
            calls=1,
            retries=usage.retries,
        ),
    )


def _log_call(model: str, usage: Usage) -> None:
    get_logger().info(
        "model_call",
        model=model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        seconds=round(usage.seconds, 3),
        retries=usage.retries,
    )
