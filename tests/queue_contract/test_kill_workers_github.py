"""Three workers on one Redis write 2,000 comments to the sandbox; one is killed mid-run.

The effect of each job is a GitHub write through :mod:`bot.github` (an upserted comment
with a hidden marker), and the check is made on the sandbox through its API: every
job's comment exists, exactly once, however many times the killed worker's jobs ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import github
import pytest
import redis

from bot.context import SystemClock
from bot.github import GitHubClient
from bot.jobs import JobSpec, JobState
from bot.redis_queue import RedisJobQueue
from bot.sandbox import Sandbox
from bot.settings import Settings
from tests.conftest import make_github
from tests.queue_contract.github_worker import KIND, marker
from tests.queue_contract.test_kill_workers import leased_by, wait_until
from tests.support.techlead import served_sandbox

JOBS = 2000
ISSUES = 40  # 50 comments each: one page of comments per look-up
WORKERS = 3
KILL_AFTER_RUNS = 100  # the victim's runs before the kill
DEADLINE_SECONDS = 120.0
ROOT = Path(__file__).resolve().parents[2]
PREFIX = "{crash-github-" + uuid.uuid4().hex[:8] + "}:"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path / "sandbox") as served:
        yield served


def start_worker(url: str, api_url: str, token: str, repo: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.queue_contract.github_worker", url, PREFIX]
    return subprocess.Popen(
        [*command, api_url, token, repo],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def markers_on_github(client: GitHubClient, repo: str) -> Counter[str]:
    """How many comments carry each job's marker, read back through the API."""
    port = client.port()
    found: Counter[str] = Counter()
    for number in range(1, ISSUES + 1):
        for comment in port.list_comments(repo, number):
            found[comment.body.split("\n", 1)[0]] += 1
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_run_leaves_each_comment_on_github_once(
    redis_url: str, sandbox: Sandbox
) -> None:
    owner = sandbox.create_user("crash-owner")
    sandbox.set_rate_limit(f"user:{owner.id}", 100_000)
    repo = sandbox.create_repo(owner.login, "crash", files={"README.md": "crash test\n"})
    issues = make_github(github.Auth.Token(owner.token), sandbox.api_url).get_repo(repo.full_name)
    numbers = [issues.create_issue(f"issue {n}").number for n in range(ISSUES)]
    client = redis.Redis.from_url(redis_url)
    queue = RedisJobQueue(client, SystemClock(), prefix=PREFIX)
    specs = [
        JobSpec(KIND, {"key": f"k{n}", "issue": numbers[n % ISSUES]}, installation_id=n % 7)
        for n in range(JOBS)
    ]
    queue.enqueue_many(specs)
    deadline = time.monotonic() + DEADLINE_SECONDS
    workers = [
        start_worker(redis_url, sandbox.api_url, owner.token, repo.full_name)
        for _ in range(WORKERS)
    ]
    try:
        victim = workers[0]
        runs = PREFIX + "test:runs"
        wait_until(
            lambda: client.lrange(runs, 0, -1).count(b"%d" % victim.pid) >= KILL_AFTER_RUNS,
            deadline,
        )
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        orphans = leased_by(client, victim.pid, PREFIX)
        wait_until(lambda: queue.stats().by_state[JobState.DONE] == JOBS, deadline)
    finally:
        for worker in workers:
            worker.stdin.close()  # type: ignore[union-attr]
            worker.wait(10)
    stats = queue.stats().by_state
    assert (stats[JobState.PENDING], stats[JobState.RUNNING], stats[JobState.DEAD]) == (0, 0, 0)
    reader = GitHubClient(Settings(api_url=sandbox.api_url, github_token=owner.token))
    found = markers_on_github(reader, repo.full_name)
    expected = {marker(f"k{n}") for n in range(JOBS)}
    assert set(found) == expected, "every job's comment is on GitHub"
    assert [key for key, count in found.items() if count > 1] == [], "no comment twice"
    assert sandbox.violations == [], "every answer kept to GitHub's description"
    by_pid = Counter(client.lrange(runs, 0, -1))
    assert all(by_pid[b"%d" % worker.pid] for worker in workers), f"every worker ran: {by_pid}"
    for job_id in orphans:  # what the killed worker held ran again elsewhere
        job = queue.get(job_id)
        assert job is not None and job.state is JobState.DONE and job.attempts >= 2
    client.close()
