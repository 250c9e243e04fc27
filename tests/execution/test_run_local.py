"""``techlead run ISSUE.md --repo PATH``: a plan carried out for a local repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.execution.conftest import FILES, config_text

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ISSUE = """# Coupons at checkout

Checkout needs coupons.

- [ ] Define the coupon schema
- [ ] Add the coupon database table
- [ ] Apply coupons to the cart (after 1, 2)
"""


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(repo.parent),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.invalid",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


@pytest.fixture
def local_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    for path, text in {**FILES, ".github/techlead.yml": config_text()}.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "--quiet", "--initial-branch", "trunk")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "Shop")
    return repo


def test_run_plans_executes_and_leaves_the_integration_branch_in_the_repository(
    local_repo: Path, tmp_path: Path
) -> None:
    issue = tmp_path / "ISSUE.md"
    issue.write_text(ISSUE)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", str(issue), "--repo", str(local_repo)],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan v1 · done · 3 tasks" in done.stdout
    assert "- T3 Apply coupons to the cart · coder · merged" in done.stdout
    assert "Parallel efficiency" in done.stdout

    branch = "techlead/1-coupons-at-checkout"
    assert f"  {branch}" in done.stdout
    assert git(local_repo, "branch", "--list", branch).strip().endswith(branch)
    files = git(local_repo, "ls-tree", "-r", "--name-only", branch).split()
    assert {"work/T1.txt", "work/T2.txt", "work/T3.txt"} <= set(files)
    # The branch grows from the repository's own history: one merge base with trunk.
    assert (
        git(local_repo, "merge-base", "trunk", branch).strip()
        == git(local_repo, "rev-parse", "trunk").strip()
    )
    log = git(local_repo, "log", "--format=%B", branch)
    assert "TechLead-Task: T3" in log
