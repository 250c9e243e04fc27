"""The ``techlead`` command line: a table of subcommands, each in its own module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Protocol, cast

from bot import __version__, telemetry
from bot.errors import TechLeadError

# Each subcommand lives in bot/commands/<name>.py and exposes HELP, add_arguments(parser)
# and run(args, env) -> exit code. Modules are imported only when their command runs.
COMMANDS: dict[str, str] = {
    "demo": "bot.commands.demo",
    "serve": "bot.commands.serve",
    "worker": "bot.commands.worker",
    "sandbox": "bot.commands.sandbox",
    "jobs": "bot.commands.jobs",
    "config": "bot.commands.config",
    "deliveries": "bot.commands.deliveries",
    "plan": "bot.commands.plan",
    "gates": "bot.commands.gates",
    "review": "bot.commands.review",
    "run": "bot.commands.run",
    "action": "bot.commands.action",
    "app": "bot.commands.app",
    "status": "bot.commands.status",
}

# One line of help per command, shown without importing every module.
SUMMARIES: dict[str, str] = {
    "demo": "run the whole bot against a local GitHub sandbox (no account needed)",
    "serve": "run the webhook server and its job worker processes",
    "worker": "run queued jobs in this process, one at a time (serve starts these itself)",
    "sandbox": "run a local, stateful GitHub stand-in (REST API + git)",
    "jobs": "list, inspect, re-drive and prune queued and dead-lettered jobs",
    "config": "print the .github/techlead.yml JSON Schema or check a file",
    "deliveries": "recover webhook deliveries GitHub failed to hand over",
    "plan": "research a repository and plan an issue locally",
    "gates": "run the quality gates on a local diff",
    "review": "print the reviewers' comments on a local diff",
    "run": "plan an issue file and run the plan locally: branches in the repository, no GitHub",
    "action": "handle the event of a GitHub Actions run (token mode, no webhook server)",
    "app": "print the GitHub App manifest (the permissions and events TechLead uses)",
    "status": "print the dashboard (plans, queue, success rates, failures, rate limits) as text",
}


class Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, env: Mapping[str, str]) -> int: ...


def build_parser(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, Command | None]:
    parser = argparse.ArgumentParser(prog="techlead", description=__doc__)
    parser.add_argument("--version", action="version", version=f"techlead {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    command: Command | None = None
    for name, summary in SUMMARIES.items():
        sub_parser = sub.add_parser(name, help=summary, description=summary)
        if name == chosen:
            command = cast(Command, importlib.import_module(COMMANDS[name]))
            command.add_arguments(sub_parser)
    return parser, command


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, command = build_parser(argv)
    args = parser.parse_args(argv)
    if command is None:
        parser.print_help()
        return 2
    env = os.environ if env is None else env
    try:
        telemetry.configure(env)
        return command.run(args, env)
    except TechLeadError as exc:
        print(f"techlead {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
