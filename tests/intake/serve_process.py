"""Runs ``techlead serve`` as a real subprocess for crash and shutdown tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.intake.conftest import SECRET, signed_headers

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
WRITER_END_TIMEOUT = 10.0


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class ServeProcess:
    """One ``python -m bot serve`` on a free port, with its log in ``data_dir``."""

    data_dir: Path
    plugins: str = "tests.intake.effects_plugin"
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "TECHLEAD_DATA_DIR": str(self.data_dir),
            "TECHLEAD_WEBHOOK_SECRET": SECRET,
            "TECHLEAD_PLUGINS": self.plugins,
            # The suite runs two tests at a time on two cores: idle-priority jobs (the
            # default) could wait out a test's time limit behind the other test.
            "TECHLEAD_BACKGROUND_PRIORITY": "low",
            **self.extra_env,
        }

    def start(self) -> ServeProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bot", "serve", "--port", str(self.port)]
        with (self.data_dir / "serve.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.extra_args], cwd=REPO, env=self.env(), stdout=log, stderr=log
            )
        wait_for(self.healthy, START_TIMEOUT, "techlead serve to answer /healthz")
        return self

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited early: {self.log()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, body: bytes, event: str, delivery_id: str) -> httpx.Response:
        headers = signed_headers(body, event, delivery_id)
        return httpx.post(f"{self.url}/webhook", content=body, headers=headers, timeout=10)

    def kill(self) -> None:
        """SIGKILL serve, then wait for its children to end.

        Its worker processes die with it (they watch their parent) and its writer
        process loads what it acknowledged and ends. A test that starts serve again
        at once must not meet a child still holding a lease: the new serve could not
        take back a job whose owner still runs.
        """
        assert self.process is not None
        children = self.child_pids()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        deadline = time.monotonic() + WRITER_END_TIMEOUT
        while any(running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.02)

    def writer_pids(self) -> list[int]:
        """The pids of serve's delivery writer processes."""
        return self.child_pids(b"bot.intake_writer")

    def loader_pids(self) -> list[int]:
        """The pids of the writers' loader processes (serve's grandchildren)."""
        return [pid for writer in self.writer_pids() for pid in self.child_pids(parent=writer)]

    def child_pids(self, marker: bytes = b"", parent: int | None = None) -> list[int]:
        """The pids of serve's (or ``parent``'s) child processes whose command line
        holds ``marker``."""
        assert self.process is not None
        parent_pid = self.process.pid if parent is None else parent
        found = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent_pid and marker in command:
                found.append(int(entry.name))
        return found

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        path = self.data_dir / "serve.log"
        return path.read_text() if path.exists() else ""

    def jobs(self) -> list[dict[str, object]]:
        """The queue as ``techlead jobs list --json`` prints it."""
        done = subprocess.run(
            [sys.executable, "-m", "bot", "jobs", "list", "--json"],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines()]
