"""``techlead plan``: research a local repository and plan an issue written in a file."""

from __future__ import annotations

import argparse
import codecs
import functools
import json
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from agents.research import Findings, research
from bot.errors import PlanError
from bot.plan import templates
from bot.plan.checklist import render
from bot.plan.explain import explain
from bot.plan.llm import planner_for
from bot.plan.model import IssueInput, Plan
from bot.plan.planner import make_plan
from bot.plan.reading import is_issue_template, issue_template_texts
from bot.plan.waves import plan_waves, wave_name
from bot.repo_config import CONFIG_PATH, RepoConfig, load_defaults, parse_repo_config_file
from bot.settings import Settings

HELP = "research a repository and plan an issue locally"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("issue", type=Path, help="Markdown file: '# Title' line, then the body")
    parser.add_argument("--repo", type=Path, default=Path("."), help="repository to research")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan as JSON")
    output.add_argument(
        "--explain",
        action="store_true",
        help="show why each task got its specialist, priority and order",
    )
    parser.add_argument("--number", type=int, default=None, help="the issue's number")
    parser.add_argument("--label", action="append", default=[], help="an issue label (repeatable)")
    parser.add_argument(
        "--planner",
        choices=("deterministic", "llm"),
        default=None,
        help="override planning.planner (llm: the model TECHLEAD_LLM_* configures)",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    issue = read_issue(args.issue, number=args.number, labels=tuple(args.label))
    issue = replace(issue, templates=issue_templates(args.repo))
    config = _repo_config(args.repo)
    findings = research(
        args.repo, issue.text, budget_seconds=config.planning.research_budget_seconds
    )
    choice = args.planner or config.planning.planner
    # Only a model planner reads the environment (TECHLEAD_LLM_*).
    settings = Settings.from_env(env) if choice == "llm" else Settings()
    exists = functools.partial(_in_repo, args.repo.resolve())
    planner = planner_for(choice, settings, exists=exists)
    plan = make_plan(issue, findings, config.agents, config.planning, planner=planner)
    if args.json:
        print(json.dumps(plan_json(plan, findings), indent=2, ensure_ascii=False))
    elif args.explain:
        sys.stdout.write(explain(plan))
    else:
        sys.stdout.write(render(plan, findings, command=config.trigger.command))
    return 0


def _in_repo(root: Path, path: str) -> bool:
    """Whether ``path`` is a file of the repository at ``root`` (and inside it)."""
    candidate = (root / path).resolve()
    return candidate.is_relative_to(root) and candidate.is_file()


def read_issue(
    path: Path, *, number: int | None = None, labels: tuple[str, ...] = ()
) -> IssueInput:
    """The first line ``# Title`` is the title; the rest of the file is the body."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(templates.ISSUE_UNREADABLE.format(path=path, problem=exc.strerror)) from exc
    text = decode_issue(data, path)
    first, _, body = text.partition("\n")
    title = first.lstrip("#").strip()
    if not title:
        raise PlanError(templates.ISSUE_NO_TITLE.format(path=path))
    return IssueInput(title=title, body=body.strip("\n"), number=number, labels=labels)


# Checked longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_issue(data: bytes, path: Path) -> str:
    """The file's text: UTF-8 (with or without a BOM), or UTF-16/32 with a BOM.

    Anything else (Latin-1, UTF-16 without a BOM, binary) raises PlanError naming the
    file, the first undecodable byte, and what to do.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex()
        problem = templates.ISSUE_NOT_TEXT_BYTE.format(
            encoding=encoding.removesuffix("-sig").upper(), byte=byte, offset=exc.start
        )
        raise PlanError(templates.ISSUE_NOT_TEXT.format(path=path, problem=problem)) from exc
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        problem = templates.ISSUE_NUL.format(offset=text.index("\x00"))
        raise PlanError(templates.ISSUE_NOT_TEXT.format(path=path, problem=problem))
    return text


def issue_templates(repo: Path) -> tuple[str, ...]:
    """The texts of the repository's issue templates (unreadable ones are skipped)."""
    found = []
    for place in (repo / ".github").glob("**/*"):
        relative = place.relative_to(repo).as_posix()
        if place.is_file() and is_issue_template(relative):
            try:
                found.append((relative, place.read_bytes().decode("utf-8", "replace")))
            except OSError:
                continue
    return issue_template_texts(found)


def _repo_config(repo: Path) -> RepoConfig:
    path = repo / CONFIG_PATH
    if path.is_file():
        return parse_repo_config_file(path, path=CONFIG_PATH)
    return load_defaults()


def plan_json(plan: Plan, findings: Findings) -> dict[str, Any]:
    """The ``--json`` shape: version, tasks, waves and findings."""
    waves = plan_waves(plan)
    wave_names = {task_id: wave_name(i) for i, wave in enumerate(waves) for task_id in wave}
    return {
        "version": plan.version,
        "tasks": [
            {
                "id": task.id,
                "title": task.title,
                "agent": task.agent,
                "priority": task.priority.value,
                "status": task.status.value,
                "depends_on": list(task.depends_on),
                "wave": wave_names[task.id],
            }
            for task in plan.tasks
        ],
        "waves": [list(wave) for wave in waves],
        "findings": findings.to_dict(),
    }
