"""Which built-in agent a task gets, and the specialists' executors built on that choice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.builtin import ALL, BUILTINS, SPECIALISTS, choose_builtin
from agents.executors.base import Outcome
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read

ROSTER = Path(__file__).parents[2] / "config" / "agents.yml"


@pytest.mark.parametrize(
    ("title", "body", "files", "chosen"),
    [
        ("Fix ruff findings in the API module", "", ("app/api.py",), "lint-fixer"),
        ("Remove unused imports", "flake8 reports F401 in three files", (), "lint-fixer"),
        ("Bump requests to 2.32.3", "CVE-2024-35195", ("requirements.txt",), "dependency-updater"),
        ("Update the lock file", "", ("uv.lock", "pyproject.toml"), "dependency-updater"),
        ("Harden the CI workflows", "Pin actions to SHAs", (), "workflow-hardener"),
        ("Set least-privilege permissions", "", (".github/workflows/ci.yml",), "workflow-hardener"),
        ("Replace yaml.load with safe_load", "bandit B506", ("app/config.py",), "security-fixer"),
        ("Stop disabling certificate verification", "verify=False", (), "security-fixer"),
        ("Write an ADR for the queue design", "", (), "docs-writer"),
        ("Add a CHANGELOG entry", "", ("CHANGELOG.md",), "docs-writer"),
        ("Implement the /health endpoint", "Return the queue depth.", ("app/api.py",), None),
        ("Improve the style of the landing page", "", ("web/index.css",), None),
    ],
    ids=[
        "ruff",
        "unused-imports",
        "bump-with-version",
        "lock-file",
        "workflows",
        "permissions-by-file",
        "yaml-load",
        "verify-false",
        "adr",
        "changelog",
        "feature-work",
        "one-weak-word",
    ],
)
def test_choose_builtin(title: str, body: str, files: tuple[str, ...], chosen: str | None) -> None:
    assert choose_builtin(order(title=title, body=body, files=files)) == chosen


def test_choice_is_limited_to_the_specialist_agents() -> None:
    task = order(title="Bump requests to 2.32.3 and fix lint")

    assert choose_builtin(task) == "dependency-updater"
    assert choose_builtin(task, among=("lint-fixer",)) == "lint-fixer"
    assert choose_builtin(task, among=("docs-writer",)) is None


def test_every_specialist_is_in_the_shipped_roster_and_every_agent_is_reachable() -> None:
    roster = {agent["name"] for agent in yaml.safe_load(ROSTER.read_text())["agents"]}

    assert set(SPECIALISTS) <= roster
    assert set(ALL) <= set(BUILTINS)
    assert {name for agents in SPECIALISTS.values() for name in agents} == set(ALL)


MESSY = "import os\nimport sys\n\n\ndef main() -> None:\n    print(sys.argv)\n"


@pytest.mark.parametrize(
    ("specialist", "title", "outcome"),
    [
        ("code-reviewer", "Fix lint in app/main.py", Outcome.CHANGED),
        ("security-guardian", "Bump requests to 2.32.3", Outcome.CHANGED),
        ("security-guardian", "Review the login flow", Outcome.HANDOFF),
        ("test-engineer", "Bump requests to 2.32.3", Outcome.HANDOFF),
        ("docs-writer", "Explain the retry policy", Outcome.CHANGED),
    ],
    ids=[
        "reviewer-lints",
        "guardian-bumps",
        "guardian-hands-off-review",
        "tester-cannot-bump",
        "docs-writer-always-writes",
    ],
)
def test_specialist_executors(
    make_repo: MakeRepo, specialist: str, title: str, outcome: Outcome
) -> None:
    root = make_repo(
        {
            "pyproject.toml": '[tool.ruff.lint]\nselect = ["F"]\n',
            "app/main.py": MESSY,
            "requirements.txt": "requests==2.31.0\n",
        }
    )
    executor = BUILTINS[specialist]()

    result = executor.run(order(title=title, agent=specialist), root, BUDGET, ENV)

    assert result.outcome is outcome, result.summary
    if outcome is Outcome.HANDOFF:
        assert read(root, "app/main.py") == MESSY
        assert read(root, "requirements.txt") == "requests==2.31.0\n"
        assert "needs a person" in result.summary


def test_the_workflow_hardener_gets_the_callers_resolver(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
            "      - uses: actions/cache@v4\n"
        }
    )
    sha = "0c45773b623bea8c8e75f6c82b208c3cf94ea4f9"
    executor = BUILTINS["devops-engineer"](resolve_action=lambda repo, ref: sha)

    result = executor.run(order(title="Pin the workflow actions"), root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert f"actions/cache@{sha} # v4" in read(root, ".github/workflows/ci.yml")
