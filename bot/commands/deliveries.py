"""``techlead deliveries sweep``: redeliver webhook deliveries TechLead never received."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict

from bot.context import SystemClock
from bot.deliveries import REDELIVERY_WINDOW, SweepReport, sweep
from bot.github import GitHubClient
from bot.settings import Settings
from bot.store import Store

HELP = "recover webhook deliveries GitHub failed to hand over"
HOUR = 3600.0
DEFAULT_HOURS = REDELIVERY_WINDOW / HOUR
MSG_SUMMARY = (
    "{listed} deliveries in the last {hours:g} h; {failed} failed, {known} of them already "
    "stored; asked GitHub to redeliver {redelivered}"
)
MSG_REDELIVERED = "redelivery requested: {id}"
MSG_ERROR = "redelivery refused: {error}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sweeping = actions.add_parser(
        "sweep", help="redeliver failed deliveries missing from TechLead's store"
    )
    sweeping.add_argument(
        "--since",
        type=_hours,
        default=DEFAULT_HOURS,
        metavar="HOURS",
        help=f"look this far back (default and maximum: {DEFAULT_HOURS:g}, GitHub's limit)",
    )
    sweeping.add_argument("--json", action="store_true", help="print the report as JSON")


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of hours, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return min(value, DEFAULT_HOURS)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = Settings.from_env(env)
    client = GitHubClient(settings)
    store = Store.open(settings.data_dir)
    try:
        report = sweep(client.port(), store, SystemClock(), args.since * HOUR)
    finally:
        store.close()
    print_report(report, args.since, as_json=args.json)
    return 1 if report.errors else 0


def print_report(report: SweepReport, hours: float, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(report), sort_keys=True))
        return
    print(
        MSG_SUMMARY.format(
            listed=report.listed,
            hours=hours,
            failed=len(report.failed),
            known=len(report.known),
            redelivered=len(report.redelivered),
        )
    )
    for delivery_id in report.redelivered:
        print(MSG_REDELIVERED.format(id=delivery_id))
    for error in report.errors:
        print(MSG_ERROR.format(error=error))
