"""bot.llm against a local OpenAI-compatible server: answers, retries, limits, secrecy."""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Iterator

import pytest
import structlog

from bot.errors import (
    ModelError,
    ModelRateLimited,
    ModelTimeout,
    ModelUnavailable,
    SettingsError,
)
from bot.llm import ModelClient, ModelConfig, Tool, Usage
from bot.log import configure_logging, get_logger
from bot.sandbox.server import free_port
from bot.settings import Settings
from tests.llm.conftest import API_KEY, Served
from tests.support.openai_stub import (
    json_reply,
    rate_limited,
    reply,
    server_error,
    slow,
    tool,
)

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def test_a_structured_answer_is_asked_for_with_the_schema_and_parsed(served: Served) -> None:
    served.stub.push(json_reply({"answer": 42}))
    answer = served.client().chat([{"role": "user", "content": "6*7?"}], schema=SCHEMA)
    assert answer.json() == {"answer": 42}
    sent = served.stub.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == SCHEMA
    assert sent["temperature"] == 0
    assert answer.usage.calls == 1 and answer.usage.total_tokens > 0


def test_tool_calls_come_back_with_their_arguments(served: Served) -> None:
    served.stub.push(tool("read_file", path="src/app.py"))
    read = Tool("read_file", "Read a file", {"type": "object", "properties": {}})
    answer = served.client().chat([{"role": "user", "content": "go"}], tools=[read])
    assert [(c.name, c.parsed()) for c in answer.tool_calls] == [
        ("read_file", {"path": "src/app.py"})
    ]
    assert answer.finish_reason == "tool_calls"
    assert served.stub.requests[0]["tools"][0]["function"]["name"] == "read_file"
    assert answer.as_message()["tool_calls"][0]["id"] == answer.tool_calls[0].id


@pytest.mark.parametrize(
    ("first", "expected_wait"),
    [
        (rate_limited(retry_after=2), 2.0),
        (rate_limited(retry_after=None, millis=250), 0.25),
        (rate_limited(retry_after=None), 0.5),
        (server_error(500), 0.5),
        (server_error(503), 0.5),
    ],
    ids=["429-retry-after", "429-retry-after-ms", "429-no-header-backoff", "500", "503"],
)
def test_a_429_or_5xx_is_retried_after_the_wait_the_server_asks(
    served: Served, first: object, expected_wait: float
) -> None:
    served.stub.push(first, reply("fine"))  # type: ignore[arg-type]
    answer = served.client().chat([{"role": "user", "content": "hi"}])
    assert answer.content == "fine"
    assert served.waits == [expected_wait]
    assert answer.usage.retries == 1
    assert len(served.stub.requests) == 2


def test_retries_are_bounded_and_back_off(served: Served) -> None:
    served.stub.push(*[server_error(502)] * 5)
    with pytest.raises(ModelUnavailable, match="502"):
        served.client(max_retries=2).chat([{"role": "user", "content": "hi"}])
    assert served.waits == [0.5, 1.0]
    assert len(served.stub.requests) == 3


def test_a_retry_after_past_the_deadline_is_not_waited_for(served: Served) -> None:
    served.stub.push(rate_limited(retry_after=30), reply("too late"))
    with pytest.raises(ModelRateLimited) as caught:
        served.client(timeout=5).chat([{"role": "user", "content": "hi"}])
    assert caught.value.retry_after == 30
    assert served.waits == []


def test_a_slow_answer_times_out(served: Served) -> None:
    served.stub.push(slow(3))
    with pytest.raises(ModelTimeout):
        served.client(timeout=0.3).chat([{"role": "user", "content": "hi"}])


def test_a_client_error_is_not_retried(served: Served) -> None:
    served.stub.push(server_error(400))
    with pytest.raises(ModelError, match="400") as caught:
        served.client().chat([{"role": "user", "content": "hi"}])
    assert not isinstance(caught.value, ModelUnavailable)
    assert served.waits == []


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    structlog.reset_defaults()
    logging.getLogger().handlers = []


def test_the_key_never_reaches_logs_exceptions_or_reprs(
    served: Served, stream: io.StringIO
) -> None:
    wrong = "sk-wrong-key-4f7a9c2e1b3d5f60"
    config = ModelConfig(served.base_url, "stub-model", api_key=wrong, timeout=5)
    client = ModelClient(config, sleep=served.waits.append)
    settings = Settings.from_env(
        {"TECHLEAD_LLM_API_KEY": wrong, "TECHLEAD_LLM_BASE_URL": served.base_url}
    )
    configure_logging(settings, stream=stream)
    with pytest.raises(ModelError) as caught:
        client.chat([{"role": "user", "content": "hi"}])
    get_logger().error("model_failed", error=str(caught.value), key_seen=wrong)
    shown = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
        repr(client),
        repr(config),
        repr(settings),
        stream.getvalue(),
    ]
    assert "401" in str(caught.value)
    assert served.stub.headers[0]["authorization"] == f"Bearer {wrong}"
    assert [text for text in shown if wrong in text] == []


def test_settings_read_the_model_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TECHLEAD_LLM_BASE_URL": "http://127.0.0.1:8766/v1/",
            "TECHLEAD_LLM_MODEL": "smollm2",
            "TECHLEAD_LLM_API_KEY": API_KEY,
            "TECHLEAD_LLM_TIMEOUT": "12.5",
        }
    )
    config = ModelConfig.from_settings(settings)
    assert config is not None
    assert (config.base_url, config.model, config.timeout) == (
        "http://127.0.0.1:8766/v1",
        "smollm2",
        12.5,
    )
    assert ModelConfig.from_settings(Settings.from_env({})) is None


def test_usage_adds_up() -> None:
    total = Usage(10, 5, 1.5, 1, 0) + Usage(3, 2, 0.25, 1, 2)
    assert total.as_dict() == {
        "prompt_tokens": 13,
        "completion_tokens": 7,
        "tokens": 20,
        "seconds": 1.75,
        "calls": 2,
        "retries": 2,
    }


def test_the_stub_lists_its_model_and_echoes_deterministically(served: Served) -> None:
    client = served.client()
    first = client.chat([{"role": "user", "content": "same"}]).content
    second = client.chat([{"role": "user", "content": "same"}]).content
    assert first == second and first.startswith("echo:")
    assert json.loads(json.dumps(served.stub.requests[0]))["model"] == "stub-model"


@pytest.mark.parametrize(
    ("messages", "schema", "problem"),
    [
        ([{"role": "tool", "tool_call_id": "call_9", "content": "x"}], None, "must answer"),
        (
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "user", "content": "and?"},
            ],
            None,
            "must be followed by tool messages",
        ),
        (
            [{"role": "user", "content": "hi"}],
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": []},
            "additionalProperties",
        ),
    ],
    ids=["orphan-tool-result", "unanswered-tool-call", "loose-strict-schema"],
)
def test_the_stub_refuses_what_the_real_service_refuses(
    served: Served,
    messages: list[dict[str, object]],
    schema: dict[str, object] | None,
    problem: str,
) -> None:
    with pytest.raises(ModelError, match="400") as caught:
        served.client().chat(messages, schema=schema)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TECHLEAD_LLM_BASE_URL", "localhost:8080", r"must be an http\(s\) URL"),
        ("TECHLEAD_LLM_BASE_URL", "https://user:pw@llm.example/v1", "must not carry credentials"),
        ("TECHLEAD_LLM_TIMEOUT", "soon", "must be a number"),
        ("TECHLEAD_LLM_MAX_RETRIES", "-1", "must not be negative"),
    ],
    ids=["no-scheme", "credentials-in-url", "timeout-not-a-number", "negative-retries"],
)
def test_bad_model_settings_name_the_variable(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable


def test_an_endpoint_that_is_down_is_retried_then_unavailable(served: Served) -> None:
    config = ModelConfig(
        f"http://127.0.0.1:{free_port()}/v1", "m", api_key=API_KEY, timeout=5, max_retries=2
    )
    with pytest.raises(ModelUnavailable):
        ModelClient(config, sleep=served.waits.append).chat([{"role": "user", "content": "hi"}])
    assert served.waits == [0.5, 1.0]
