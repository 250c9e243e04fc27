"""The pieces the bot adds to the gate core: config-error renderers and head-checkout inputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.errors import GateError, RepoConfigError
from gates.config import GateLevel, load_defaults
from gates.model import Conclusion, Finding, GateResult, Severity
from gates.report import (
    MAX_ANNOTATIONS_PER_REQUEST,
    MAX_OUTPUT_CHARS,
    config_error_comment,
    config_error_plan,
    config_error_status,
    to_check_run,
)
from gates.revision import EMPTY_TREE, checkout_input, merge_base
from gates.templates import MARKER, check_run_name

LINT = check_run_name(GateLevel.L1)
GIT = ("git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false")


@pytest.mark.parametrize(
    ("error", "where"),
    [
        (
            RepoConfigError("must be one of ...", key="gates.lint.fail_on", line=4),
            ".github/techlead.yml:4 (gates.lint.fail_on)",
        ),
        (
            RepoConfigError("not YAML", path="octo/.github:.github/techlead.yml"),
            "octo/.github:.github/techlead.yml",
        ),
    ],
    ids=["key-and-line", "owner-wide-file-without-line"],
)
def test_an_invalid_configuration_says_where_to_fix_it(error: RepoConfigError, where: str) -> None:
    plan = config_error_plan(LINT, error)
    assert plan.conclusion == Conclusion.ACTION_REQUIRED == "action_required"
    assert plan.title == f"Invalid configuration: {where}"
    assert error.message in plan.summary and "default branch" in plan.summary
    assert plan.annotations == ()
    status = config_error_status(LINT, error)
    assert (status.context, status.state) == (LINT, "error")
    assert status.description == f"invalid configuration: {where}"
    comment = config_error_comment([LINT], error, "abc123")
    assert comment.startswith(MARKER)
    assert "Head commit: `abc123`" in comment and where in comment


def test_a_hostile_config_message_cannot_break_the_summary_table() -> None:
    error = RepoConfigError("a | b\nc" * 20_000, key="gates.x", line=1)
    plan = config_error_plan(LINT, error)
    assert len(plan.summary) <= MAX_OUTPUT_CHARS
    assert "a \\| b c" in plan.summary


def test_annotations_come_flat_for_a_client_that_batches_itself() -> None:
    config = load_defaults().lint
    findings = tuple(
        Finding("many.py", n, n, Severity.MEDIUM, "F401", "unused", "ruff") for n in range(1, 121)
    )
    result = GateResult(
        GateLevel.L1,
        LINT,
        Conclusion.FAILURE,
        config.required,
        config.fail_on,
        config.filter_mode,
        new=findings,
    )
    plan = to_check_run(result)
    assert [len(batch) for batch in plan.annotation_batches] == [50, 50, 20]
    assert MAX_ANNOTATIONS_PER_REQUEST == 50
    assert [item["start_line"] for item in plan.annotations] == list(range(1, 121))


def git(repo: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_the_base_side_is_the_merge_base_not_the_moving_base_branch(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    start = commit(repo, {"app.py": "a = 1\n", "pyproject.toml": "[tool.ruff]\n"}, "start")
    git(repo, "checkout", "-q", "-b", "feature")
    head = commit(repo, {"app.py": "a = 1\nb = 2\n"}, "feature")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"app.py": "a = 100\n"}, "main moves on")
    git(repo, "checkout", "-q", "feature")
    diff = git(repo, "diff", "main...feature") + "\n"

    assert merge_base(repo, "main", head) == start
    with checkout_input(repo, "main", diff, baseline=".techlead/baseline.json") as inp:
        assert inp.head == repo and inp.head_sha == head
        assert inp.base is not None
        assert (inp.base / "app.py").read_text() == "a = 1\n"
        assert (inp.base / "pyproject.toml").exists()
        assert list(inp.changes.files) == ["app.py"]
    assert not inp.base.exists(), "the base side lives only as long as the input"


def test_unrelated_histories_compare_with_the_empty_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.py": "a = 1\n"}, "one")
    git(repo, "checkout", "-q", "--orphan", "other")
    head = commit(repo, {"b.py": "b = 1\n"}, "two")
    assert merge_base(repo, "main", head) == EMPTY_TREE


def test_an_unparsable_diff_is_a_gate_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.py": "a = 1\n"}, "one")
    broken = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n+x\n"
    with pytest.raises(GateError, match="cannot be parsed"), checkout_input(repo, "main", broken):
        pass
