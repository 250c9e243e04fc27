"""``techlead demo``: the whole bot against a local GitHub sandbox."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.demo import demo_dir, run_demo
from bot.demo_loop import keep_running, stages
from bot.log import configure_logging
from bot.settings import LogFormat, Settings

HELP = "run the whole bot against a local GitHub sandbox (no account needed)"
LOG_FILE = "techlead.log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the demo keeps its state and log (default: a temporary directory)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the sandbox and TechLead running at the end (Ctrl-C stops them)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    with demo_dir(args.data_dir) as data_dir, (data_dir / LOG_FILE).open("w") as log:
        # The bot's log lines go to a file so the terminal shows only the story.
        configure_logging(Settings(log_format=LogFormat.CONSOLE), stream=log)
        print(f"TechLead demo in {data_dir} (log: {data_dir / LOG_FILE})")
        chosen = (*stages(), keep_running) if args.keep else stages()
        try:
            return run_demo(data_dir, sys.stdout, chosen)
        except RuntimeError as exc:
            print(f"\nThe demo stopped: {exc} (details in {data_dir / LOG_FILE})", file=sys.stderr)
            return 1
