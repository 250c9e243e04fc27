"""serve's redelivery sweep starts only once the port accepts connections."""

from __future__ import annotations

import contextlib
import socket
import threading

import uvicorn
from starlette.applications import Starlette

from bot.commands.serve import ListeningServer
from tests.intake.serve_process import free_port


def test_on_listening_runs_after_the_port_is_bound_and_only_then() -> None:
    port = free_port()
    seen: list[bool] = []
    done = threading.Event()

    def on_listening() -> None:
        with socket.socket() as probe:  # what a redelivery would do
            seen.append(probe.connect_ex(("127.0.0.1", port)) == 0)
        done.set()

    config = uvicorn.Config(Starlette(), host="127.0.0.1", port=port, log_level="error")
    server = ListeningServer(config, on_listening=on_listening)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert done.wait(10), "on_listening never ran"
    finally:
        server.should_exit = True
        thread.join(10)
    assert seen == [True]


def test_a_server_that_cannot_bind_never_starts_the_sweep() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        calls: list[None] = []
        config = uvicorn.Config(Starlette(), host="127.0.0.1", port=port, log_level="critical")
        server = ListeningServer(config, on_listening=lambda: calls.append(None))
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
            server.run()
        assert calls == []
