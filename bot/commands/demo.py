"""``techlead demo``: the whole bot against a local GitHub sandbox."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

HELP = "run the whole bot against a local GitHub sandbox (no account needed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None, help="where the demo keeps its state")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    print("TechLead demo: the end-to-end demo arrives with orchestration; nothing to run yet.")
    return 0
