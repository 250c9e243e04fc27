"""``techlead worker``: run queued jobs in this process, one at a time.

``techlead serve`` starts these itself (``--workers``); run more of them by hand on the
same data directory to add capacity. One job at a time makes the CPU budget
(``TECHLEAD_JOB_CPU_SECONDS``) apply to exactly one job: the kernel stops the process
when the job overruns it, and the server dead-letters that job.

Stopping: SIGTERM, or the end of stdin when a server started this process (the server
also writes a byte to stdin whenever a job is ready, which saves a poll interval).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from bot import features
from bot.app import build_services
from bot.log import configure_logging, get_logger
from bot.metrics import Metrics
from bot.parent import bind_to_parent
from bot.priority import run_in_background
from bot.settings import Settings
from bot.worker import WorkerConfig

HELP = "run queued jobs in this process, one at a time (serve starts these itself)"
DEFAULT_GRACE = 20.0
# Jobs yield the CPU to the webhook server on a shared machine.
NICENESS = 10
PARENT_CHECK_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds a running job gets to finish on SIGTERM before it is released",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="stop when this process (the server that started this worker) ends",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help=f"load a plugin module (router and/or jobs); also {features.PLUGINS_VARIABLE}",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    composition = features.compose(features.plugin_names(env, args.plugin))
    configure_logging(settings)
    if args.parent_pid is not None and not bind_to_parent(args.parent_pid):
        return 0
    _settle_process(settings)
    metrics = Metrics()
    services = build_services(
        settings,
        github_factory=features.github_factory(settings, metrics),
        metrics=metrics,
        router=composition.router,
        jobs=composition.jobs,
        worker_config=WorkerConfig(
            threads=1, grace_seconds=args.grace, cpu_seconds=settings.job_cpu_seconds or None
        ),
        checkpoints=False,
    )
    worker = services.worker
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    if args.parent_pid is not None:
        threading.Thread(
            target=_read_wakeups, args=(worker.wake, stop), name="techlead-wakeups", daemon=True
        ).start()
    worker.start()
    get_logger().info("worker_process_ready", pid=os.getpid(), cpu_seconds=settings.job_cpu_seconds)
    try:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if args.parent_pid is not None and os.getppid() != args.parent_pid:
                break  # the server is gone (and PR_SET_PDEATHSIG was not available)
    finally:
        worker.stop()
        services.close()
    return 0


def _settle_process(settings: Settings) -> None:
    """Background priority, default SIGXCPU (the CPU budget), no core dumps, no Ctrl-C.

    Ctrl-C in a terminal reaches the whole process group; the server stops its workers
    itself, in order, so they ignore SIGINT.
    """
    run_in_background(NICENESS, settings.background_priority)
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_wakeups(wake: Callable[[], None], stop: threading.Event) -> None:
    """Each byte on stdin wakes the worker; the end of stdin stops the process."""
    fd = sys.stdin.fileno()
    while True:
        try:
            chunk = os.read(fd, 64)
        except OSError:
            chunk = b""
        if not chunk:
            stop.set()
            return
        wake()
