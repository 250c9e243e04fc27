"""``techlead review``: the reviewers' comments on a local diff, as a pull request gets them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path

from bot.commands.gates import _config
from bot.errors import GateError
from gates.config import GateLevel
from gates.registry import REGISTRY
from gates.revision import default_base, git, local_input, resolve
from gates.runner import run_gates
from reviewers.anchor import Diff, Placement
from reviewers.model import Comment, Stream
from reviewers.publish import place
from reviewers.streams import from_gate_input, review_all

HELP = "print the reviewers' comments on a local diff"
FORMATS = ("text", "json", "markdown")
FINDING_LEVELS = (GateLevel.L1, GateLevel.L5)  # the gates whose findings reviewers explain


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", help="the git repository (default: .)")
    parser.add_argument("--base", default=None, help="base commit (default: as techlead gates)")
    parser.add_argument("--head", default=None, help="head commit (default: the working tree)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        raise GateError(f"{repo} is not a directory")
    base = resolve(repo, args.base) if args.base else default_base(repo, worktree=not args.head)
    config = _config(repo, base)
    levels = [level for level in FINDING_LEVELS if level in REGISTRY]
    with local_input(repo, base=base, head=args.head, baseline=config.baseline, env=env) as gate:
        results = run_gates(gate, config, levels=levels)
        findings = [finding for result in results for finding in result.new]
        paths = frozenset(git(repo, "ls-files").splitlines()) if not args.head else frozenset()
        inp = from_gate_input(gate, findings, head_paths=paths)
        streams = review_all(inp)
    print(_format(streams, inp.diff, args.format))
    return 0


def _format(streams: dict[Stream, list[Comment]], diff: Diff, fmt: str) -> str:
    rows = [
        _row(stream, comment, diff) for stream, comments in streams.items() for comment in comments
    ]
    if fmt == "json":
        return json.dumps({"comments": rows}, indent=2)
    if fmt == "markdown":
        return _markdown(streams, rows)
    return "\n".join(_text(row) for row in rows) or "no comments"


def _row(stream: Stream, comment: Comment, diff: Diff) -> dict[str, object]:
    anchor, _exact = place(diff, comment)
    return {
        "stream": stream.value,
        "rule": comment.rule,
        "severity": comment.severity.value,
        "path": comment.path,
        "line": anchor.line if anchor.placement is Placement.LINE else None,
        "side": anchor.side.value if anchor.placement is Placement.LINE else None,
        "start_line": anchor.start_line,
        "placement": anchor.placement.value,
        "title": comment.title,
        "body": comment.body,
        "suggestion": comment.suggestion,
    }


def _text(row: dict[str, object]) -> str:
    where = f"{row['path']}:{row['line']}" if row["line"] else str(row["path"])
    return f"{where}: [{row['stream']}] {row['severity']} {row['rule']}: {row['title']}"


def _markdown(streams: dict[Stream, list[Comment]], rows: list[dict[str, object]]) -> str:
    parts = []
    for stream in streams:
        mine = [row for row in rows if row["stream"] == stream.value]
        parts.append(f"## {stream.heading} ({len(mine)})\n")
        parts += [f"- `{_text(row)}`" for row in mine] or ["- nothing to say"]
        parts.append("")
    return "\n".join(parts)
