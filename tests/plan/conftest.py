"""A small fixed roster and helpers shared by the planning tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents.research.model import Findings, ProjectProfile, RelevantFile
from bot.plan.model import IssueInput, Plan
from bot.plan.planner import PlanningDefaults, make_plan


@dataclass(frozen=True)
class Agent:
    """Same shape as bot.repo_config.AgentSpec."""

    name: str
    description: str
    keywords: tuple[str, ...]
    paths: tuple[str, ...]
    executor: str = "builtin"


ROSTER = (
    Agent("api-architect", "APIs", ("api", "endpoint", "schema", "contract", "openapi"),
          ("**/api/**", "**/openapi*.yaml")),
    Agent("backend-developer", "server code", ("backend", "server", "implement", "service", "fix"),
          ("src/**", "app/**", "**/*.py")),
    Agent("frontend-developer", "UI", ("frontend", "ui", "page", "component", "css"),
          ("web/**", "**/*.tsx")),
    Agent("test-engineer", "tests", ("test", "tests", "coverage", "e2e"),
          ("tests/**", "**/test_*.py")),
    Agent("docs-writer", "docs", ("docs", "documentation", "readme", "typo"),
          ("docs/**", "**/*.md")),
    Agent("security-guardian", "security", ("security", "auth", "token", "password"),
          ("**/auth/**",)),
    Agent("code-reviewer", "reviews", ("review", "refactor"), ("**/*",)),
)  # fmt: skip

CONFIG = PlanningDefaults()
NO_FINDINGS = Findings()


def findings_with(*paths: str, test_framework: str | None = None) -> Findings:
    profile = ProjectProfile(
        test_framework=test_framework, test_command=test_framework and test_framework
    )
    relevant = tuple(RelevantFile(path, 10.0 - i) for i, path in enumerate(paths))
    return Findings(profile=profile, relevant=relevant)


def plan_of(
    body: str,
    *,
    title: str = "Add a shopping cart",
    labels: Sequence[str] = (),
    findings: Findings = NO_FINDINGS,
    config: PlanningDefaults = CONFIG,
    number: int | None = 7,
) -> Plan:
    issue = IssueInput(title, body, number, tuple(labels))
    return make_plan(issue, findings, ROSTER, config)


def summary(plan: Plan) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(task.id, task.title, task.depends_on) for task in plan.tasks]
