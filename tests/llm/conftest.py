"""Fixtures for the model tests: a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bot.llm import ModelClient, ModelConfig
from tests.support.openai_stub import OpenAIStub

API_KEY = "sk-test-0123456789abcdefSECRET"


@dataclass
class Served:
    """The stub, its base URL and a client for it that records its retry waits."""

    stub: OpenAIStub
    base_url: str
    waits: list[float] = field(default_factory=list)

    def client(self, *, timeout: float = 10.0, max_retries: int = 3) -> ModelClient:
        config = ModelConfig(
            base_url=self.base_url,
            model="stub-model",
            api_key=API_KEY,
            timeout=timeout,
            max_retries=max_retries,
        )
        return ModelClient(config, sleep=self.waits.append)


@pytest.fixture(scope="module")
def served_stub() -> Iterator[tuple[OpenAIStub, str]]:
    stub = OpenAIStub(api_key=API_KEY)
    with stub.serve() as base_url:
        yield stub, base_url


@pytest.fixture
def served(served_stub: tuple[OpenAIStub, str]) -> Served:
    stub, base_url = served_stub
    stub.script.clear()
    stub.requests.clear()
    stub.headers.clear()
    return Served(stub, base_url)
