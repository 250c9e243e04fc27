"""Runs a Sandbox over HTTP with uvicorn, in the foreground or on a background thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from bot.errors import SandboxError
from bot.sandbox.sandbox import Sandbox

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _config(sandbox: Sandbox, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        sandbox.asgi(),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # git_http pipes request bodies into `git http-backend` with asyncio streams;
        # the plain asyncio loop reports a closed pipe as BrokenPipeError, uvloop does not.
        loop="asyncio",
    )


def serve(sandbox: Sandbox, *, host: str = HOST, port: int = 8787, log_level: str = "info") -> None:
    """Serve until interrupted (the ``techlead sandbox`` command)."""
    sandbox.base_url = f"http://{host}:{port}"
    uvicorn.Server(_config(sandbox, host, port, log_level)).run()


class ServerThread:
    """The sandbox on a free port in a daemon thread: ``with ServerThread(sb) as url: ...``."""

    def __init__(self, sandbox: Sandbox, *, host: str = HOST, port: int | None = None) -> None:
        self.sandbox = sandbox
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(_config(sandbox, self.host, self.port, "warning"))
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        self.sandbox.base_url = self.url
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError(f"the sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
