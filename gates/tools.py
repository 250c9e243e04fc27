"""Runs a gate's tools as subprocesses under the gate's time limit and cancellation."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GateCancelled, GateTimeout, ToolFailed, ToolTimeout
from gates.redact import redact_text

# How often a waiting gate looks at its cancellation token.
_POLL_SECONDS = 0.05
_STDERR_LINES = 3
_MAX_DETAIL = 600
_TELLING = re.compile(r"error|fail|cause|invalid|cannot|could not", re.IGNORECASE)
# Only these variables reach the tools: never tokens, keys or webhook secrets.
_PASSED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "SYSTEMROOT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_INDEX_URL",
    "PIP_CERT",
)


class CancelToken:
    """Cancels the gates of one head commit, e.g. when a newer push arrives."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise GateCancelled(self.reason or "cancelled")


@dataclass(frozen=True)
class ToolOutput:
    returncode: int
    stdout: str
    stderr: str


def tool_env(env: Mapping[str, str]) -> dict[str, str]:
    """The part of ``env`` tools may see (no credentials)."""
    passed = {name: env[name] for name in _PASSED_ENV if name in env}
    passed.setdefault("PATH", os.defpath)
    return passed


def tool_command(name: str, module: str | None = None) -> list[str]:
    """Run ``name`` from the same environment as TechLead itself.

    The console script next to the interpreter first (ruff and zizmor are binaries),
    else ``python -m module``.
    """
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", module or name]


class ToolRunner:
    """Starts subprocesses for one gate; kills them at the deadline or on cancellation."""

    def __init__(
        self,
        *,
        deadline: float,
        cancel: CancelToken,
        env: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deadline = deadline
        self.cancel = cancel
        self.env = tool_env(env)
        self.clock = clock
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._stopped = ""

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        stdin: str | None = None,
        ok_codes: tuple[int, ...] = (0,),
        timeout: float | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> ToolOutput:
        """Run ``argv``; raise GateTimeout/GateCancelled/ToolFailed instead of hanging.

        ``timeout`` caps this one call below the gate's own deadline.
        """
        self._check()
        limit = self.deadline if timeout is None else min(self.deadline, self.clock() + timeout)
        proc = self._start(argv, cwd, stdin is not None, extra_env)
        try:
            stdout, stderr = self._wait(proc, stdin, limit, tool_name(argv))
        finally:
            with self._lock:
                self._running.discard(proc)
        # Killed by stop() while we were reading: say why, not "exit -9".
        self._check_stopped()
        if proc.returncode not in ok_codes:
            raise ToolFailed(failure_message(tool_name(argv), proc.returncode, stderr))
        return ToolOutput(proc.returncode, stdout, stderr)

    def stop(self, reason: str) -> None:
        """Kill every running tool (the gate ran out of time or was cancelled)."""
        with self._lock:
            self._stopped = reason
            running = list(self._running)
        for proc in running:
            _kill(proc)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def _check_stopped(self) -> None:
        self.cancel.raise_if_cancelled()
        if self._stopped:
            raise GateTimeout(self._stopped)

    def _check(self) -> None:
        self._check_stopped()
        if self.remaining() <= 0:
            raise GateTimeout("ran out of time")

    def _start(
        self, argv: Sequence[str], cwd: Path, has_stdin: bool, extra: Mapping[str, str] | None
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.PIPE if has_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env={**self.env, **(extra or {})},
            # Its own process group, so a kill reaches the tool's children too.
            start_new_session=True,
        )
        with self._lock:
            self._running.add(proc)
        return proc

    def _wait(
        self, proc: subprocess.Popen[str], stdin: str | None, limit: float, name: str
    ) -> tuple[str, str]:
        while True:
            wait = max(0.0, min(_POLL_SECONDS, limit - self.clock()))
            try:
                return proc.communicate(stdin, timeout=wait)
            except subprocess.TimeoutExpired:
                pass
            if self.cancel.cancelled or self._stopped or self.clock() >= limit:
                # Kill first, then say why: the gate's deadline or cancellation wins
                # over this call's own limit.
                _kill(proc)
                proc.communicate()
                self._check()
                raise ToolTimeout(f"{name} ran out of time and was stopped")


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def tool_name(argv: Sequence[str]) -> str:
    """``ruff`` for both ``/venv/bin/ruff`` and ``python -m ruff``."""
    if len(argv) > 2 and argv[1] == "-m":
        return argv[2]
    return Path(argv[0]).name


def failure_message(name: str, code: int, stderr: str) -> str:
    """The lines that say what went wrong (else the first and the last), shortened."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    telling = [line for line in lines if _TELLING.search(line)]
    if telling:
        picked = telling[:_STDERR_LINES]
    elif len(lines) <= _STDERR_LINES:
        picked = lines
    else:
        picked = [*lines[: _STDERR_LINES - 1], lines[-1]]
    detail = " | ".join(picked) or "no error output"
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    return redact_text(f"{name} failed (exit {code}): {detail}")
