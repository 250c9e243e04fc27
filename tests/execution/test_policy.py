"""Commit-time policy: protected paths, add_only, allowed paths and size limits."""

from __future__ import annotations

import pytest

from bot.features.execution.policy import Change, Policy, violations

BLOCKED = (".github/workflows/**", ".github/techlead.yml", "CODEOWNERS")


@pytest.mark.parametrize(
    ("changes", "policy", "expected"),
    [
        ([Change("src/a.py", "M", 3, 1)], Policy(BLOCKED), []),
        (
            [Change(".github/workflows/ci.yml", "A", 5, 0)],
            Policy(BLOCKED),
            ["`.github/workflows/ci.yml` is protected (`.github/workflows/**`)"],
        ),
        ([Change(".github/workflows/ci.yml", "M", 1, 1)], Policy(BLOCKED, True), []),
        (
            [Change(".github/workflows/ci.yml", "M", 1, 1)],
            Policy((), allow_workflow_edits=False),
            ["`.github/workflows/ci.yml` is protected (`.github/workflows/**`)"],
        ),
        (
            [Change("CODEOWNERS", "M", 1, 0)],
            Policy(BLOCKED, True),
            ["`CODEOWNERS` is protected (`CODEOWNERS`)"],
        ),
        (
            [Change("src/new.py", "A", 9, 0), Change("src/old.py", "D", 0, 9)],
            Policy(add_only=True),
            ["`src/old.py` already exists and `execution.add_only` allows only new files"],
        ),
        (
            [Change("docs/x.md", "A", 1, 0)],
            Policy(allowed_paths=("src/**",)),
            ["`docs/x.md` is outside the task's paths (src/**)"],
        ),
        (
            [Change(f"src/{n}.py", "A", 1, 0) for n in range(3)],
            Policy(max_files=2),
            ["3 files changed; at most 2 are allowed"],
        ),
        (
            [Change("src/a.py", "M", 60, 50)],
            Policy(max_lines=100),
            ["110 lines changed; at most 100 are allowed"],
        ),
    ],
    ids=[
        "ordinary-change",
        "workflow-protected",
        "workflow-allowed",
        "workflow-protected-without-blocklist",
        "other-blocked-path-stays-blocked",
        "add-only-refuses-deletion",
        "outside-allowed-paths",
        "too-many-files",
        "too-many-lines",
    ],
)
def test_violations(changes: list[Change], policy: Policy, expected: list[str]) -> None:
    assert violations(changes, policy) == expected
