"""Work orders and small repositories for the built-in agent tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from agents.executors.base import Budget, WorkOrder

MakeRepo = Callable[[Mapping[str, str]], Path]
BUDGET = Budget(seconds=120.0)
# What a tool may see: a PATH, and a home inside the test's own directory.
ENV: dict[str, str] = {"PATH": "/usr/bin:/bin"}


def order(**changes: Any) -> WorkOrder:
    """A work order as the scheduler writes one; ``changes`` replace its fields."""
    fields: dict[str, Any] = {
        "repo": "octo/app",
        "issue_number": 42,
        "issue_title": "Harden the HTTP client",
        "task_id": "T2",
        "title": "Fix lint",
        "agent": "code-reviewer",
        "priority": "normal",
    }
    fields.update(changes)
    return WorkOrder(**fields)


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    def make(files: Mapping[str, str]) -> Path:
        root = tmp_path / "worktree"
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        return root

    return make


def read(root: Path, path: str) -> str:
    return (root / path).read_text(encoding="utf-8")
