"""``techlead serve``: the webhook server, and the worker processes that run its jobs.

The server process only verifies, stores and acknowledges deliveries; jobs run in
``techlead worker`` children it supervises (:mod:`bot.supervisor`), so no job, however
long or CPU-bound, can hold the webhook answer past GitHub's 10 seconds.
``--workers 0`` runs jobs on threads of the server process instead (small set-ups);
``--no-jobs`` runs none here, for an intake scaled apart from its workers (``techlead
worker`` on the same queue, on this machine or others).
"""

from __future__ import annotations

import argparse
import gc
import socket
import sys
from collections.abc import Callable, Mapping

import uvicorn

from bot import features
from bot.app import Services, build_services, create_app
from bot.deliveries import PeriodicSweep
from bot.errors import SettingsError
from bot.log import configure_logging, get_logger
from bot.metrics import Metrics
from bot.settings import AuthMode, Settings
from bot.supervisor import DEFAULT_PROCESSES, PoolConfig, WorkerPool, spawner
from bot.worker import NoJobs, WorkerConfig

HELP = "run the webhook server and its job worker processes"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 2
DEFAULT_GRACE = 20.0
SWITCH_INTERVAL = 0.0005
YOUNG_COLLECTION_THRESHOLD = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--workers",
        type=_non_negative,
        default=DEFAULT_PROCESSES,
        help="job worker processes, one job at a time each "
        f"(default {DEFAULT_PROCESSES}; 0: run jobs on threads of this process)",
    )
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="intake only: store and acknowledge deliveries, run no job here "
        "(`techlead worker` processes sharing the queue run them)",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=DEFAULT_THREADS,
        help="job worker threads with --workers 0 (default 2)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds running jobs get to finish on SIGTERM before they are released",
    )
    parser.add_argument(
        "--sweep-every",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="App mode: every MINUTES (and at start) ask GitHub to redeliver webhook "
        "deliveries that failed and never reached TechLead (default 0: off)",
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help=f"load a plugin module (router and/or jobs); also {features.PLUGINS_VARIABLE}",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    # Other threads (the delivery writer, job threads with --workers 0) hold the GIL
    # for up to the switch interval (5 ms by default) each time the event loop needs
    # it back, and the writer waits as long for it after every SQLite call; a shorter
    # interval keeps webhook answers quick.
    sys.setswitchinterval(SWITCH_INTERVAL)
    settings = Settings.from_env(env)
    settings.require_webhook_secret()
    _check_sweep(settings, args.sweep_every)
    plugins = features.plugin_names(env, args.plugin)
    composition = features.compose(plugins)
    configure_logging(settings)
    metrics = Metrics()
    services = build_services(
        settings,
        github_factory=features.github_factory(settings, metrics),
        metrics=metrics,
        router=composition.router,
        jobs=composition.jobs,
        worker_config=WorkerConfig(threads=args.threads, grace_seconds=args.grace),
        checkpoints=False,  # the writer process moves its WAL into the database
    )
    services.use_writer_process(env)
    if args.no_jobs:
        services.runner = NoJobs()
    elif args.workers:
        services.runner = WorkerPool(
            services.worker,
            PoolConfig(
                processes=args.workers,
                grace_seconds=args.grace,
                cpu_seconds=settings.job_cpu_seconds,
                plugins=args.plugin,
            ),
            spawner(env),
        )
    get_logger().info(
        "serve_starting",
        host=args.host,
        port=args.port,
        auth_mode=settings.auth_mode.value,
        job_kinds=services.worker.registry.kinds(),
        worker_processes=0 if args.no_jobs else args.workers,
        plugins=list(plugins),
        data_dir=str(settings.data_dir),
    )
    sweeper = _sweeper(settings, services, args.sweep_every)
    app = create_app(settings, services)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(args.grace) + 5,
    )
    try:
        ListeningServer(config, on_listening=sweeper.start if sweeper else None).run()
    finally:
        if sweeper is not None:
            sweeper.stop()
        services.close()
    return 0


class ListeningServer(uvicorn.Server):
    """A uvicorn server that calls ``on_listening`` once its sockets accept connections.

    The lifespan startup runs *before* uvicorn binds; anything that makes GitHub send
    deliveries (the redelivery sweep) must wait for the port, or they arrive to nothing.
    """

    def __init__(
        self, config: uvicorn.Config, *, on_listening: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        tune_collector()
        if self.started and self._on_listening is not None:
            self._on_listening()


def tune_collector() -> None:
    """Keep the garbage collector's pauses off the webhook answers.

    - Everything loaded at start-up is frozen out of its sight: deliveries waiting
      for their commit outlive young collections, so under load full collections
      came every second or so, each walking every object of the loaded libraries and
      holding the event loop for 50 ms or more.
    - Young collections wait for more allocations: parsing one payload allocates
      hundreds of containers, so at the default threshold (700) nearly every
      delivery paid for a collection that walked every request in flight.
    https://docs.python.org/3/library/gc.html#gc.freeze
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


def _check_sweep(settings: Settings, minutes: float) -> None:
    """Only an App can read its delivery log; say so before anything starts."""
    if minutes > 0 and settings.auth_mode is not AuthMode.APP:
        raise SettingsError(
            "TECHLEAD_APP_ID", "--sweep-every reads the App's delivery log: it needs App mode"
        )


def _sweeper(settings: Settings, services: Services, minutes: float) -> PeriodicSweep | None:
    """The optional periodic delivery sweep."""
    if minutes <= 0:
        return None
    from bot.github import GitHubClient  # PyGithub only where GitHub is used

    port = GitHubClient(settings).port()
    return PeriodicSweep(port, services.store, services.clock, minutes * 60, get_logger())
