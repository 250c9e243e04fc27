"""Worker processes for ``techlead serve``: jobs never run in the webhook's interpreter.

A CPU-bound job holds the GIL of the process it runs in; on worker threads, one
runaway job would stall every webhook answer behind it, and GitHub gives up on a
delivery after 10 seconds. So ``serve`` answers webhooks only and starts
``techlead worker`` children, each running one job at a time under a per-job CPU
budget the kernel enforces (see :func:`bot.worker.cpu_budget`).

The pool is the children's supervisor: it restarts a child that died (with a backoff
when one dies right after starting), hands the dead child's jobs back to the queue at
once instead of waiting for their leases to expire, and dead-letters the job a child
was stopped for when the kernel stopped it for its CPU budget (running it again would
only burn the budget again). Children die with the server (``PR_SET_PDEATHSIG`` and
the end of their stdin pipe), so a ``kill -9`` of serve leaves no job running twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO

from bot.jobs import JobState
from bot.log import get_logger
from bot.owners import owner_pid
from bot.worker import Worker

DEFAULT_PROCESSES = 2
POLL_SECONDS = 0.2
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
STABLE_SECONDS = 10.0  # a child that lived this long was not crash-looping
KILL_WAIT_SECONDS = 5.0
WAKE_BYTE = b"w"
RUNNING_SCAN_LIMIT = 10_000
RECOVER_SECONDS = 2.0  # how often leases of dead processes on this host are looked for

MSG_CPU_BUDGET = (
    "stopped after using its CPU budget of {seconds:g} s (TECHLEAD_JOB_CPU_SECONDS); "
    "the input it was given makes it run away, so it is not retried"
)

Spawn = Callable[[Sequence[str]], "subprocess.Popen[bytes]"]


def worker_command(parent_pid: int, grace: float, plugins: Sequence[str]) -> list[str]:
    """The command line of one child: ``python -m bot worker`` bound to its parent."""
    command = [sys.executable, "-m", "bot", "worker", "--parent-pid", str(parent_pid)]
    command += ["--grace", f"{grace:g}"]
    for plugin in plugins:
        command += ["--plugin", plugin]
    return command


def spawner(env: Mapping[str, str]) -> Spawn:
    """Start children with the server's environment and a pipe on their stdin."""

    def spawn(command: Sequence[str]) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(list(command), stdin=subprocess.PIPE, env=dict(env))
        assert child.stdin is not None
        os.set_blocking(child.stdin.fileno(), False)
        return child

    return spawn


@dataclass
class _Slot:
    """One child process, or the time the next one may start."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = FIRST_BACKOFF
    restart_at: float = 0.0


@dataclass
class PoolConfig:
    processes: int = DEFAULT_PROCESSES
    grace_seconds: float = 20.0
    cpu_seconds: float = 0.0
    poll_seconds: float = POLL_SECONDS
    plugins: Sequence[str] = field(default_factory=tuple)


class WorkerPool:
    """Supervises ``config.processes`` worker children; a :class:`bot.worker.Runner`.

    ``worker`` is this process's own (never started) worker: it releases the leases of
    dead children and runs the ``on_dead`` hook of a job stopped for its CPU budget.
    """

    def __init__(self, worker: Worker, config: PoolConfig, spawn: Spawn) -> None:
        self._worker = worker
        self._config = config
        self._spawn = spawn
        self._slots = [_Slot(index) for index in range(config.processes)]
        self._draining = threading.Event()  # stopping: no more children
        self._stopping = threading.Event()  # stopped: the monitor may end
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._log = get_logger(component="worker_pool")

    # -- Runner ----------------------------------------------------------------

    def start(self) -> None:
        self._worker.recover()
        # Children are started by the monitor thread only: PR_SET_PDEATHSIG fires when
        # the thread that started a child ends, and this one lives as long as the pool.
        self._thread = threading.Thread(
            target=self._monitor, name="techlead-worker-pool", daemon=True
        )
        self._thread.start()
        self._log.info("worker_pool_started", processes=self._config.processes)

    def stop(self, grace: float | None = None) -> list[int]:
        """Close every child's stdin (they finish or release their job), then wait.

        The monitor thread ends last: children are bound to it (``PR_SET_PDEATHSIG``),
        so it must outlive them. Returns the pids that had to be killed after ``grace``.
        """
        self._draining.set()
        grace = self._config.grace_seconds if grace is None else grace
        with self._lock:
            children = [slot.process for slot in self._slots if slot.process is not None]
        for child in children:
            _close(child.stdin)
        deadline = time.monotonic() + grace + KILL_WAIT_SECONDS
        killed = [child.pid for child in children if not _wait(child, deadline)]
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(KILL_WAIT_SECONDS)
        self._recover()
        self._log.info("worker_pool_stopped", killed=killed)
        return killed

    def alive(self) -> bool:
        """True while the monitor runs and some child is up to take jobs.

        One child being restarted (after a crash, or its CPU budget) leaves the others
        working: that is not a reason for a load balancer to take serve out.
        """
        if self._thread is None or not self._thread.is_alive():
            return False
        with self._lock:
            return any(slot.process is not None for slot in self._slots)

    def wake(self) -> None:
        """Tell idle children a job is ready: one byte on each stdin, never blocking."""
        with self._lock:
            pipes = [slot.process.stdin for slot in self._slots if slot.process is not None]
        for pipe in pipes:
            try:
                if pipe is not None:
                    pipe.write(WAKE_BYTE)
                    pipe.flush()
            except (BlockingIOError, BrokenPipeError, ValueError, OSError):
                pass  # a full pipe already holds a wake-up; a closed one is being restarted

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Nothing to defer: jobs run in other processes, with a lower priority."""
        yield

    def pids(self) -> list[int]:
        with self._lock:
            return [slot.process.pid for slot in self._slots if slot.process is not None]

    # -- supervision -------------------------------------------------------------

    def _monitor(self) -> None:
        next_recovery = time.monotonic() + RECOVER_SECONDS
        while not self._stopping.is_set():
            for slot in self._slots:
                try:
                    self._tend(slot)
                except Exception:
                    # The monitor must outlive any one failure (a full disk, a store
                    # error): its end would take every child with it.
                    self._log.exception("worker_pool_tend_failed", slot=slot.index)
            if time.monotonic() >= next_recovery:
                # A process killed with its parent (a ``kill -9`` of an earlier serve)
                # may end only after this pool's start-up recovery looked for it.
                self._recover()
                next_recovery = time.monotonic() + RECOVER_SECONDS
            self._stopping.wait(self._config.poll_seconds)

    def _tend(self, slot: _Slot) -> None:
        now = time.monotonic()
        if slot.process is None:
            if now >= slot.restart_at and not self._draining.is_set():
                self._start_child(slot, now)
            return
        if self._draining.is_set():
            return  # stop() waits for the children and settles their jobs
        code = slot.process.poll()
        if code is None:
            return
        pid = slot.process.pid
        with self._lock:
            slot.process = None
        stable = now - slot.started >= STABLE_SECONDS
        slot.backoff = FIRST_BACKOFF if stable else min(slot.backoff * 2, MAX_BACKOFF)
        slot.restart_at = now if stable else now + slot.backoff
        self._log.warning("worker_process_exited", pid=pid, code=code, cause=_cause(code))
        if code == -signal.SIGXCPU:
            self._bury_jobs_of(pid)
        self._recover()

    def _start_child(self, slot: _Slot, now: float) -> None:
        command = worker_command(os.getpid(), self._config.grace_seconds, self._config.plugins)
        child = self._spawn(command)
        with self._lock:
            slot.process, slot.started = child, now
        self._log.info("worker_process_started", pid=child.pid, slot=slot.index)

    def _bury_jobs_of(self, pid: int) -> None:
        """Dead-letter what the child ran when the kernel stopped it for its CPU use."""
        message = MSG_CPU_BUDGET.format(seconds=self._config.cpu_seconds)
        running = self._worker.queue.list([JobState.RUNNING], limit=RUNNING_SCAN_LIMIT)
        for job in running:
            if job.lease_owner is not None and owner_pid(job.lease_owner) == pid:
                self._worker.bury_orphan(job, message)

    def _recover(self) -> None:
        try:
            self._worker.recover()
        except Exception:  # the store failed: the next round tries again
            self._log.exception("worker_pool_recover_failed")


def _cause(code: int) -> str:
    if code >= 0:
        return f"exit status {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _close(pipe: IO[bytes] | None) -> None:
    if pipe is not None:
        with suppress(OSError):
            pipe.close()


def _wait(child: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait for ``child`` until ``deadline``; kill it after. True if it ended on its own."""
    try:
        child.wait(max(deadline - time.monotonic(), 0.0))
        return True
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(KILL_WAIT_SECONDS)
        return False
