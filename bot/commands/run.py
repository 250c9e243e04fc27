"""``techlead run ISSUE.md --repo PATH``: plan and carry out an issue for a local repository."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.demo import demo_dir
from bot.log import configure_logging
from bot.plan.model import PlanState
from bot.settings import LogFormat, Settings

HELP = "plan an issue file and run the plan locally: branches in the repository, no GitHub"
LOG_FILE = "techlead.log"
DEFAULT_TIMEOUT = 1800.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("issue", type=Path, help="Markdown file: a title line, then the body")
    parser.add_argument(
        "--repo", type=Path, default=Path("."), help="the local git repository (default: .)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the run keeps its state and log (default: a temporary directory)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for planning and for execution (default {DEFAULT_TIMEOUT:g})",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.features.execution.local import issue_text, run_locally

    repo = Path(args.repo)
    if not (repo / ".git").exists():
        print(f"{repo} is not a git repository (no .git)", file=sys.stderr)
        return 2
    title, body = issue_text(Path(args.issue).read_text(encoding="utf-8"))
    with demo_dir(args.data_dir) as data_dir, (data_dir / LOG_FILE).open("w") as log:
        configure_logging(Settings(log_format=LogFormat.CONSOLE), stream=log)
        print(f"TechLead run in {data_dir} (log: {data_dir / LOG_FILE})")
        result = run_locally(repo, title, body, data_dir, sys.stdout, args.timeout)
    plan = result.record.plan
    return 0 if plan is not None and plan.state is PlanState.DONE else 1
