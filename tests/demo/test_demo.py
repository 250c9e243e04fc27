"""``techlead demo`` in a real subprocess: exit 0, and the whole loop on the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.plans import PlanStore

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

DEMO_TIMEOUT = 150


def test_the_demo_plans_an_issue_and_carries_the_plan_out(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "## TechLead plan for #1 · awaiting approval · v1" in out
    assert "### Wave A" in out and "**T1** Define the coupon API schema" in out
    assert "waits for T1, T2" in out
    assert "<!--" not in out, "hidden markers are left out of the printout"
    # The whole loop: every task's pull request with five gate conclusions, merged into
    # the integration branch, reviewers' comments, and the integration pull request.
    for task in ("T1", "T2", "T3", "T4", "T5"):
        assert f"{task} merged (#" in out, task
    pulls = out.split("== Task pull requests ==")[1].split("== The checklist")[0]
    assert pulls.count("merged into techlead/1-") == 5
    for level in ("L1 · Lint", "L2 · Contracts", "L3 · Integration tests", "L4 · Performance"):
        assert pulls.count(f"TechLead {level}: ") == 5, level
    assert pulls.count("TechLead L5 · Security: ") == 5
    assert "failure" not in pulls
    assert "💬 " in pulls, "the reviewers commented"
    assert "Integration pull request #7" in out
    assert "parallel efficiency" in out
    assert "plan: 5 tasks in 4 waves" in out
    assert "GitHub requests made by TechLead:" in out
    assert "Demo finished" in out
    with PlanStore.open(data_dir / "techlead") as plans:
        (record,) = plans.records()
    assert record.plan is not None and record.plan.state.value == "done"
    assert "delivery_accepted" in (data_dir / "techlead.log").read_text()


def test_the_demo_cleans_up_its_temporary_directory() -> None:
    from bot.demo import demo_dir

    with demo_dir(None) as made:
        assert made.is_dir()
    assert not made.exists()
