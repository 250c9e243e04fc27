"""The deliveries sweep against the sandbox: TechLead's port, its store and its server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from bot.app import Services, build_services, create_app
from bot.github import GitHubClient
from bot.jobs import JobRegistry
from bot.router import Router
from bot.sandbox import Sandbox
from bot.settings import Settings
from bot.store import Store
from tests.conftest import World

TECHLEAD_SECRET = "techlead-webhook-secret"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_url() -> str:
    """A URL nothing listens on (the bot is down)."""
    return f"http://127.0.0.1:{free_port()}/webhook"


def app_settings(world: World, data_dir: Path) -> Settings:
    return Settings(
        app_id=world.app.id,
        private_key=world.private_key,
        api_url=world.api_url,
        data_dir=data_dir,
        webhook_secrets=(TECHLEAD_SECRET,),
        write_interval=0.0,
    )


@dataclass
class TechLead:
    """TechLead's webhook server in this process (no worker: deliveries are only stored)."""

    services: Services
    url: str
    server: uvicorn.Server

    @property
    def store(self) -> Store:
        return self.services.store


@pytest.fixture
def client(world: World, tmp_path: Path) -> GitHubClient:
    return GitHubClient(app_settings(world, tmp_path / "data"), clock=world.sandbox.clock)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store")
    yield opened
    opened.close()


@pytest.fixture
def techlead(world: World, tmp_path: Path) -> Iterator[TechLead]:
    settings = app_settings(world, tmp_path / "techlead")
    services = build_services(settings, router=Router(), jobs=JobRegistry())
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, services, start_worker=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="techlead", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "TechLead did not start"
        time.sleep(0.01)
    yield TechLead(services, f"http://127.0.0.1:{port}/webhook", server)
    server.should_exit = True
    thread.join(timeout=10)
    services.store.close()


def hooks_to(
    sandbox: Sandbox, world: World, url: str | None, secret: str = TECHLEAD_SECRET
) -> None:
    sandbox.set_app_webhook(world.app.id, url, secret)
