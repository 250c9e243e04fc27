"""A throwaway ``redis-server`` on 127.0.0.1 for tests and benchmarks (Debian's package)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

START_SECONDS = 10.0
MISSING = "redis-server is not installed (.ci/run installs Debian's redis-server)"


def available() -> bool:
    return shutil.which("redis-server") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(directory: Path, *, appendonly: bool = False) -> Iterator[str]:
    """Start a server with its files in ``directory``; yields its URL; stops it after."""
    port = free_port()
    command = [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "yes" if appendonly else "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(START_SECONDS)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + START_SECONDS
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {url}") from None
                time.sleep(0.05)
    finally:
        client.close()
