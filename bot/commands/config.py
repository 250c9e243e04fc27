"""``techlead config``: print the repository-config JSON Schema or reference, or check a file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.config_reference import reference
from bot.errors import RepoConfigError
from bot.repo_config import config_json_schema, parse_repo_config_file

HELP = "print the .github/techlead.yml JSON Schema or reference, or check a file"
OK = "ok"
USAGE = "usage: techlead config {schema,reference,check FILE}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("schema", help="print the JSON Schema (for editor completion)")
    actions.add_parser(
        "reference", help="print the Markdown reference of every key and environment variable"
    )
    check = actions.add_parser("check", help="validate a local techlead.yml; exit 1 if invalid")
    check.add_argument("file", type=Path, help="path to a techlead.yml")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.action == "schema":
        print(json.dumps(config_json_schema(), indent=2, sort_keys=True))
        return 0
    if args.action == "reference":
        sys.stdout.write(reference())
        return 0
    if args.action == "check":
        return _check(args.file)
    print(USAGE, file=sys.stderr)
    return 2


def _check(file: Path) -> int:
    # The loader reads the file itself: bounded by the size cap, as bytes, so any content
    # (binary, UTF-16, a device) ends as a RepoConfigError naming the line, never a traceback.
    try:
        parse_repo_config_file(file, path=str(file))
    except RepoConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(OK)
    return 0
