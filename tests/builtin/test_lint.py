"""The lint fixer: ruff's safe fixes and formatter on the task's files only."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.builtin.lint import LintFixer
from agents.executors.base import Outcome
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read

RUFF_CONFIG = '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["F", "I", "UP"]\n'
MESSY = (
    "import sys\n"
    "import os\n"
    "from typing import List, Optional\n\n\n"
    "def total(xs: Optional[List[int]]) -> int:\n"
    "    return sum(xs or [])\n"
)
FIXED = "def total(xs: list[int] | None) -> int:\n    return sum(xs or [])\n"
CLEAN = "def total(xs: list[int]) -> int:\n    return sum(xs)\n"
UGLY = "def total( xs ):\n  return sum( xs )\n"


@pytest.mark.parametrize(
    ("files", "task_files", "outcome", "expected", "summary"),
    [
        (
            {"pyproject.toml": RUFF_CONFIG, "app/calc.py": MESSY},
            ("app/calc.py",),
            Outcome.CHANGED,
            {"app/calc.py": FIXED},
            "F401 (2)",
        ),
        (
            {"pyproject.toml": RUFF_CONFIG, "app/calc.py": UGLY},
            ("app/calc.py",),
            Outcome.CHANGED,
            {"app/calc.py": "def total(xs):\n    return sum(xs)\n"},
            "reformatted 1 of 1",
        ),
        (
            {"pyproject.toml": RUFF_CONFIG, "app/calc.py": CLEAN},
            ("app/calc.py",),
            Outcome.NO_CHANGE,
            {"app/calc.py": CLEAN},
            "nothing to fix",
        ),
        (
            {"pyproject.toml": RUFF_CONFIG, "app/calc.py": MESSY, "app/other.py": MESSY},
            ("app/other.py", "README.md"),
            Outcome.CHANGED,
            {"app/calc.py": MESSY, "app/other.py": FIXED},
            "of 1 Python file",
        ),
        (
            {"pyproject.toml": RUFF_CONFIG, "docs/notes.md": "# Notes\n"},
            ("docs/notes.md",),
            Outcome.NO_CHANGE,
            {},
            "No Python files",
        ),
        (
            {
                "pyproject.toml": RUFF_CONFIG.replace('["F", "I", "UP"]', '["F"]')
                + 'ignore = ["F401"]\n',
                "app/calc.py": MESSY,
            },
            ("app/calc.py",),
            Outcome.NO_CHANGE,
            {"app/calc.py": MESSY},
            "nothing to fix",
        ),
    ],
    ids=[
        "unused-imports-and-old-typing",
        "format-only",
        "clean-file",
        "only-the-task-files",
        "no-python",
        "repository-config-honoured",
    ],
)
def test_lint_fixer(
    make_repo: MakeRepo,
    files: dict[str, str],
    task_files: tuple[str, ...],
    outcome: Outcome,
    expected: dict[str, str],
    summary: str,
) -> None:
    root = make_repo(files)

    result = LintFixer().run(order(files=task_files), root, BUDGET, ENV)

    assert result.outcome is outcome, result.summary
    assert summary in result.summary
    assert {path: read(root, path) for path in expected} == expected
    assert result.handoff is not None
    changed = [p for p in expected if expected[p] != files[p]]
    assert list(result.handoff.changed_files) == changed


def test_reports_rules_it_cannot_fix_and_files_it_cannot_parse(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "pyproject.toml": RUFF_CONFIG.replace('["F", "I", "UP"]', '["F", "E501"]'),
            "app/long.py": 'X = "' + "x" * 120 + '"\n',
            "app/broken.py": "def broken(:\n",
        }
    )

    result = LintFixer().run(order(files=("app/long.py", "app/broken.py")), root, BUDGET, ENV)

    assert result.outcome is Outcome.NO_CHANGE
    assert result.handoff is not None
    notes = " ".join(result.handoff.notes)
    assert "E501" in notes
    assert "app/broken.py" in notes


@pytest.mark.parametrize(
    "task_file",
    ["../outside.py", "/etc/outside.py", "link/outside.py"],
    ids=["dot-dot", "absolute", "symlink-out-of-the-worktree"],
)
def test_never_touches_a_file_outside_the_worktree(
    make_repo: MakeRepo, tmp_path: Path, task_file: str
) -> None:
    root = make_repo({"pyproject.toml": RUFF_CONFIG})
    outside = tmp_path / "outside.py"
    outside.write_text(MESSY, encoding="utf-8")
    (root / "link").symlink_to(tmp_path)

    result = LintFixer().run(order(files=(task_file,)), root, BUDGET, ENV)

    assert result.outcome is Outcome.NO_CHANGE
    assert outside.read_text(encoding="utf-8") == MESSY


def test_allowed_paths_limit_a_task_without_files(make_repo: MakeRepo) -> None:
    root = make_repo({"pyproject.toml": RUFF_CONFIG, "app/a.py": MESSY, "lib/b.py": MESSY})

    result = LintFixer().run(order(allowed_paths=("app/**",)), root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED
    assert read(root, "app/a.py") == FIXED
    assert read(root, "lib/b.py") == MESSY
