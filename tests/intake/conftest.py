"""Shared fakes for intake tests: a settable clock, services on a temp store, signed posts."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x nudges its TestClient towards httpx2; the project depends on httpx,
    # which the TestClient still supports fully. Only this import is exempted.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from bot.app import Services, build_services, create_app
from bot.intake import sign
from bot.jobs import JobRegistry
from bot.router import Router
from bot.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SECRET = "it's-a-secret-to-everybody"
T0 = 1_800_000_000.0


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    t: float = T0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class FixedRandom:
    """Injected randomness: always the same draw, so backoff is predictable."""

    value: float = 0.5
    draws: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        self.draws.append(self.value)
        return self.value


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def event_of(path: Path) -> str:
    return path.name.split(".")[0]


def signed_headers(
    body: bytes, event: str, delivery_id: str, secret: str = SECRET
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
    }


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"TECHLEAD_WEBHOOK_SECRET": SECRET, "TECHLEAD_DATA_DIR": str(tmp_path / "data")}
    )


ServicesFactory = Callable[..., Services]


@pytest.fixture
def make_services(settings: Settings, clock: FakeClock) -> Iterator[ServicesFactory]:
    built: list[Services] = []

    def make(
        router: Router | None = None,
        jobs: JobRegistry | None = None,
        settings_: Settings | None = None,
        **options: Any,
    ) -> Services:
        services = build_services(
            settings_ or settings,
            clock=clock,
            router=router or Router(),
            jobs=jobs or JobRegistry(),
            rand=options.pop("rand", FixedRandom()),
            **options,
        )
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


@pytest.fixture
def services(make_services: ServicesFactory) -> Services:
    return make_services()


@pytest.fixture
def client(services: Services) -> TestClient:
    """A client without the lifespan: tests drive the worker with ``run_once``."""
    return TestClient(create_app(services.settings, services, start_worker=False))


def drain(services: Services, limit: int = 100) -> int:
    """Run due jobs until none is left; returns how many ran."""
    ran = 0
    while services.worker.run_once() is not None:
        ran += 1
        assert ran < limit, "jobs keep coming"
    return ran
