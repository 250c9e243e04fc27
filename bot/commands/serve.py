"""``techlead serve``: the webhook server and the job worker in one process."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

import uvicorn

from bot import features
from bot.app import build_services, create_app
from bot.log import configure_logging, get_logger
from bot.settings import Settings
from bot.worker import WorkerConfig

HELP = "run the webhook server and job worker"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 2
DEFAULT_GRACE = 20.0
SWITCH_INTERVAL = 0.0005


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--threads", type=_positive, default=DEFAULT_THREADS, help="job worker threads (default 2)"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds running jobs get to finish on SIGTERM before they are released",
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


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    # Worker threads hold the GIL for up to the switch interval (5 ms by default) each
    # time the event loop needs it back; a shorter interval keeps webhook answers quick.
    sys.setswitchinterval(SWITCH_INTERVAL)
    settings = Settings.from_env(env)
    settings.require_webhook_secret()
    composition = features.compose(features.plugin_names(env, args.plugin))
    configure_logging(settings)
    services = build_services(
        settings,
        github_factory=features.github_factory(settings),
        router=composition.router,
        jobs=composition.jobs,
        worker_config=WorkerConfig(threads=args.threads, grace_seconds=args.grace),
    )
    get_logger().info(
        "serve_starting",
        host=args.host,
        port=args.port,
        auth_mode=settings.auth_mode.value,
        job_kinds=services.worker.registry.kinds(),
        data_dir=str(settings.data_dir),
    )
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
        uvicorn.Server(config).run()
    finally:
        services.close()
    return 0
