"""The dashboard's fixtures: the execution suite's sandbox, TechLead and project, and a server.

- ``project``/``techlead``/``sandbox_session``: as in ``tests/execution`` (a plan carried
  out for real by a command agent on the sandbox).
- :func:`serving`: the TechLead app (as ``techlead serve`` builds it) on a free port of
  ``host``, over real HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bot.app import Services, build_services, create_app
from bot.demo import free_port
from bot.settings import Settings
from tests.execution.conftest import project, sandbox_session, techlead

__all__ = ["project", "sandbox_session", "serving", "techlead"]

START_TIMEOUT = 10.0


@contextmanager
def serving(
    settings: Settings, host: str = "127.0.0.1", services: Services | None = None
) -> Iterator[str]:
    """The app on ``host`` (its job runner idle); yields its base URL."""
    services = services or build_services(settings, checkpoints=False)
    port = free_port(host)
    config = uvicorn.Config(
        create_app(settings, services, start_worker=False),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        services.close()
