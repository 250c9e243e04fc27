"""A hostile ``.github/techlead.yml`` on the default branch, end to end through planning.

The plan job does not fail or retry: the issue gets the usual "invalid configuration"
comment naming the file's line, and the plan is recorded as invalid.
"""

from __future__ import annotations

import base64

import pytest

from bot.plan.model import PlanState
from tests.planning.conftest import Project

HOSTILE = [
    (b"version: 1\nplanning:\n  max_tasks: 3\x00\n", 3, "U+0000"),
    (b"version: 1\nplanning:\n  max_tasks: \x07\n", 3, "U+0007"),
    (b"planning: " + b"[" * 1000 + b"]" * 1000 + b"\n", 1, "nested more than"),
    (b"planning:\n  max_tasks: " + b"9" * 5000 + b"\n", 2, "5000-digit"),
    ("version: 1\n".encode("utf-16"), 1, "UTF-16"),
    ("trigger:\n  label: caf\xe9\n".encode("latin-1"), 2, "U+FFFD"),
]
IDS = ["nul", "bel", "flow-nesting", "integer-5000-digits", "utf-16", "latin-1"]


def commit_config(project: Project, data: bytes) -> None:
    project.owner.call(
        "PUT",
        f"/repos/{project.name}/contents/.github/techlead.yml",
        {"message": "Configure TechLead", "content": base64.b64encode(data).decode()},
    )


@pytest.mark.parametrize(("data", "line", "says"), HOSTILE, ids=IDS)
def test_a_hostile_config_is_reported_on_the_issue_with_its_line(
    project: Project, data: bytes, line: int, says: str
) -> None:
    commit_config(project, data)
    issue = project.planned_issue()

    comment = project.plan_comment(issue)["body"]
    assert f"`.github/techlead.yml:{line}`" in comment
    assert says in comment
    assert project.record(issue).state is PlanState.INVALID
    assert all(job.attempts == 1 for job in project.jobs("plan.run", issue))
