"""/dashboard in a real headless browser, after a plan was carried out on the sandbox.

Debian's chromium (``.ci/run`` installs it) loads the page, dumps the DOM it built
and takes a screenshot, kept under ``$TECHLEAD_TEST_ARTIFACTS`` (default
``tests/artifacts/``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import cast

import pytest

from bot import features
from bot.plan.model import TaskStatus
from bot.ports import GitHubPort
from tests.execution.conftest import Project

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_TIMEOUT = 90
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does, as root)",
    ),
]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless chromium run with no network of its own (updates, sync, QUIC off)."""
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # tests may run as root, where chromium's sandbox refuses to start
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def artifacts_dir() -> Path:
    chosen = Path(os.environ.get("TECHLEAD_TEST_ARTIFACTS") or ARTIFACTS)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def test_the_dashboard_shows_a_finished_plan_as_a_timeline_in_a_browser(
    project: Project, tmp_path: Path
) -> None:
    issue = project.planned(
        "Checkout.\n\n- [ ] Define the coupon schema\n- [ ] Add cart tests (after 1)\n"
    )
    project.approve(issue)
    plan = project.record(issue).plan
    assert plan is not None and all(t.status is TaskStatus.COMPLETED for t in plan.tasks)
    # One request through the port as serve composes it, reporting to the app's metrics:
    # the installation's budget is what the dashboard shows as headroom.
    factory = features.github_factory(
        project.techlead.settings, project.techlead.bot.services.metrics
    )
    cast(GitHubPort, factory(project.installation_id)).default_branch(project.name)
    url = project.techlead.url.replace("/webhook", "/dashboard")

    dumped = chromium(tmp_path / "profile", "--dump-dom", url)
    shot = artifacts_dir() / "dashboard.png"
    shot.unlink(missing_ok=True)
    taken = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900", url)

    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    anchor = f'id="plan-{project.name.replace("/", "-")}-{issue}"'
    assert anchor in dom, "the finished plan has its timeline"
    block = dom.split(anchor, 1)[1].split("</article>", 1)[0]
    for task in plan.tasks:
        row = re.search(
            rf'<tr class="task" data-task="{task.id}" data-status="merged">(.*?)</tr>', block, re.S
        )
        assert row is not None, f"{task.id} has a row, merged"
        assert task.title in row.group(1) and task.agent in row.group(1)
        assert re.search(
            r'class="bar tone-merged" style="left:[\d.]+%;width:[\d.]+%"', row.group(1)
        )
    assert f"{len(plan.tasks)}/{len(plan.tasks)} tasks done" in block
    assert f"installation:{project.installation_id}" in dom, "the rate-limit headroom"
    assert "Success rate, last hour" in dom
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes().startswith(PNG_MAGIC) and shot.stat().st_size > 10_000
