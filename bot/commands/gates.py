"""``techlead gates``: run the quality gates on a local diff."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.errors import GateError
from bot.repo_config import parse_repo_config
from gates.config import GateLevel, GatesConfig, load_defaults
from gates.fingerprint import baseline_document
from gates.model import GateResult
from gates.registry import CHANGED_FILES_ONLY, REGISTRY
from gates.report import to_json, to_sarif, to_text
from gates.revision import default_base, git, local_input, resolve
from gates.runner import run_gates

HELP = "run the quality gates on a local diff"
FORMATS = ("text", "json", "sarif")
REPO_CONFIG = ".github/techlead.yml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", default=".", help="the git repository (default: .)")
    parser.add_argument(
        "--base",
        default=None,
        help="base commit (default: merge-base with the default branch, else HEAD~1)",
    )
    parser.add_argument(
        "--head",
        default=None,
        help="head commit (default: the working tree, uncommitted and untracked files included)",
    )
    parser.add_argument(
        "--only",
        type=_levels,
        default=None,
        metavar="L1,L5",
        help=f"run only these levels (available: {','.join(REGISTRY)})",
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.add_argument(
        "--sarif",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the results as SARIF 2.1.0 to PATH (for code scanning)",
    )
    parser.add_argument(
        "--write-baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write every finding's fingerprint to PATH (commit it as the baseline)",
    )


def _levels(raw: str) -> list[GateLevel]:
    levels = []
    for part in filter(None, (p.strip().upper() for p in raw.split(","))):
        if part not in GateLevel.__members__:
            raise argparse.ArgumentTypeError(f"unknown level {part!r} (use L1..L5)")
        if GateLevel(part) not in REGISTRY:
            raise argparse.ArgumentTypeError(f"{part} has no gate yet")
        levels.append(GateLevel(part))
    if not levels:
        raise argparse.ArgumentTypeError("name at least one level, like L1,L5")
    return levels


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    repo = Path(args.repo)
    if not repo.is_dir():
        raise GateError(f"{repo} is not a directory")
    base = resolve(repo, args.base) if args.base else default_base(repo, worktree=not args.head)
    config = _config(repo, base)
    with local_input(
        repo,
        base=base,
        head=args.head,
        baseline=config.baseline,
        env=env,
        sparse_head=_changed_files_only(config, args.only),
    ) as inp:
        results = run_gates(inp, config, levels=args.only)
    if args.write_baseline is not None:
        findings = [f for r in results for f in (*r.new, *r.preexisting)]
        document = json.dumps(baseline_document(findings), indent=2)
        args.write_baseline.write_text(document + "\n", encoding="utf-8")
    if args.sarif is not None:
        args.sarif.write_text(json.dumps(to_sarif(results), indent=2) + "\n", encoding="utf-8")
    _print(results, args.format)
    return 1 if any(r.required and r.failed for r in results) else 0


def _changed_files_only(config: GatesConfig, only: Sequence[GateLevel] | None) -> bool:
    """Whether every gate that will run reads only the changed files (no full export)."""
    running = [
        level
        for level in (only if only is not None else list(REGISTRY))
        if (settings := config.for_level(level)) is not None and settings.enabled
    ]
    return set(running) <= CHANGED_FILES_ONLY


def _config(repo: Path, base: str) -> GatesConfig:
    """The gates settings of the repository as they are on the BASE commit."""
    text = git(repo, "show", f"{base}:{REPO_CONFIG}", ok=(0, 128))
    if not text.strip():
        return load_defaults()
    return parse_repo_config(text, path=REPO_CONFIG).gates


def _print(results: Sequence[GateResult], output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(to_json(results), indent=2) + "\n")
    elif output == "sarif":
        sys.stdout.write(json.dumps(to_sarif(results), indent=2) + "\n")
    else:
        sys.stdout.write(to_text(results) + "\n")
