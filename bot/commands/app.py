"""``techlead app manifest``: the GitHub App manifest, for registering TechLead by hand or in CI."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping

HELP = "print the GitHub App manifest (the permissions and events TechLead uses)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="app_command", metavar="ACTION", required=True)
    manifest = actions.add_parser(
        "manifest", help="print the manifest as JSON", description="print the manifest as JSON"
    )
    manifest.add_argument(
        "--url",
        default=None,
        help="TechLead's public address: the webhook and setup callback point there",
    )
    manifest.add_argument("--name", default=None, help="the App's name (default TechLead)")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.app_setup import manifest_for

    print(json.dumps(manifest_for(args.url, args.name), indent=2))
    return 0
