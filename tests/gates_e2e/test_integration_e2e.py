"""L3 integration tests end to end: real webhooks, real worker, the tests run in the jail.

A pull request whose change breaks a test gets that test annotated at its ``def`` line;
a test that reaches the network (the sandbox's own port, open on this machine) fails
inside the jail. A pull request from a fork gets its L3 held (neutral, with the how-to)
until a maintainer comments ``/techlead ok-to-test``; a non-maintainer's comment is
refused, and a new push needs a new ok.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import github
import pytest

from bot.fork_trust import HELD_TITLE
from bot.sandbox import Sandbox
from gates.config import GateLevel
from gates.jail import find_jail
from gates.templates import check_run_name
from tests.conftest import make_github, unique
from tests.gates_e2e.conftest import (
    PullWorld,
    PullWorldFactory,
    TechLead,
    TechLeadFactory,
    comments,
)
from tests.support.gitcli import GitCli

pytestmark = pytest.mark.sandbox

TESTS = check_run_name(GateLevel.L3)
JAIL = find_jail()
needs_jail = pytest.mark.skipif(not JAIL.isolated, reason=f"no jail here: {JAIL.problem}")
CALC = "def double(x):\n    return 2 * x\n"
CALC_TESTS = (
    "from calc import double\n\n\n"
    "def test_double():\n    assert double(2) == 4\n\n\n"
    "def test_zero():\n    assert double(0) == 0\n"
)
PROJECT = {"calc.py": CALC, "tests/test_calc.py": CALC_TESTS}


def l3(pr: PullWorld, sha: str) -> dict[str, Any]:
    return pr.run_named(sha, TESTS)


def annotated(pr: PullWorld, run: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(a["path"], a["start_line"], a["annotation_level"]) for a in pr.annotations(run)]


def test_a_change_that_breaks_a_test_fails_l3_at_the_test(
    pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    pr = pull_world_for(PROJECT)
    techlead = techlead_for(pr.world)
    head = pr.push("triple", {"calc.py": CALC.replace("2 * x", "3 * x")})
    pr.open_pull("triple")
    techlead.settle()

    run = l3(pr, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert annotated(pr, run) == [("tests/test_calc.py", 4, "failure")]
    (note,) = pr.annotations(run)
    assert "tests/test_calc.py::test_double failed" in note["message"]
    assert "assert 6 == 4" in note["message"]
    assert "2 passed" not in run["output"]["summary"]
    assert "1 failed" in run["output"]["summary"]


@needs_jail
def test_a_test_that_reaches_the_network_fails_in_the_jail(
    sandbox: Sandbox, pull_world_for: PullWorldFactory, techlead_for: TechLeadFactory
) -> None:
    port = urlsplit(sandbox.api_url).port
    reaches_out = (
        "import socket\n\n\n"
        "def test_reaches_the_sandbox():\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
    )
    pr = pull_world_for(PROJECT)
    techlead = techlead_for(pr.world)
    head = pr.push("network", {"tests/test_network.py": reaches_out})
    pr.open_pull("network")
    techlead.settle()

    run = l3(pr, head)
    assert run["conclusion"] == "failure"
    assert annotated(pr, run) == [("tests/test_network.py", 4, "failure")]
    assert "ConnectionRefusedError" in pr.annotations(run)[0]["message"]
    assert "bubblewrap jail without network" in run["output"]["summary"]


# ---------------------------------------------------------------------------- forks


@dataclass
class Fork:
    """A contributor's fork of the world's repository and a checkout of it."""

    login: str
    token: str
    client: github.Github
    checkout: Path
    git: GitCli

    def push(self, files: dict[str, str | None], message: str = "change") -> str:
        sha = self.git.commit(self.checkout, files, message)
        self.git.ok("push", "-q", "origin", "patch-1", cwd=self.checkout, token=self.token)
        return sha


def fork_world(sandbox: Sandbox, pr: PullWorld, tmp_path: Path) -> Fork:
    user = sandbox.create_user(unique("contributor"), name="Contributor")
    client = make_github(github.Auth.Token(user.token), pr.world.api_url)
    fork = client.get_repo(pr.repo).create_fork()
    checkout = tmp_path / unique("fork")
    pr.git.ok("clone", "-q", f"{sandbox.base_url}/{fork.full_name}.git", str(checkout))
    pr.git.ok("checkout", "-q", "-b", "patch-1", cwd=checkout)
    return Fork(user.login, user.token, client, checkout, pr.git)


def comment(pr: PullWorld, number: int, body: str, token: str) -> None:
    pr.api("POST", f"/repos/{pr.repo}/issues/{number}/comments", token=token, json={"body": body})


def replies(pr: PullWorld, number: int) -> list[str]:
    return [c["body"] for c in comments(pr, number) if c["user"]["type"] == "Bot"]


def test_a_forks_tests_wait_for_a_maintainers_ok_to_test(
    sandbox: Sandbox,
    pull_world_for: PullWorldFactory,
    techlead_for: TechLeadFactory,
    tmp_path: Path,
) -> None:
    pr = pull_world_for(PROJECT)
    techlead: TechLead = techlead_for(pr.world)
    fork = fork_world(sandbox, pr, tmp_path)
    try:
        head = fork.push({"calc.py": CALC.replace("2 * x", "3 * x")})
        number = (
            fork.client.get_repo(pr.repo)
            .create_pull(base="main", head=f"{fork.login}:patch-1", title="From a fork", body="")
            .number
        )
        techlead.settle()

        held = l3(pr, head)
        assert held["conclusion"] == "neutral"
        assert held["output"]["title"] == HELD_TITLE
        assert "/techlead ok-to-test" in held["output"]["summary"]
        assert pr.annotations(held) == []

        # The contributor cannot let their own code run.
        comment(pr, number, "/techlead ok-to-test", fork.token)
        techlead.settle()
        assert l3(pr, head)["id"] == held["id"]
        assert any("needs write access" in body for body in replies(pr, number))

        # A maintainer can: the tests run once, on this head.
        comment(pr, number, "Looks safe.\n/techlead ok-to-test", pr.world.user.token)
        techlead.settle()
        ran = l3(pr, head)
        assert ran["id"] != held["id"]
        assert ran["conclusion"] == "failure"
        assert annotated(pr, ran) == [("tests/test_calc.py", 4, "failure")]
        assert any("running" in body and head[:7] in body for body in replies(pr, number))

        # A new push is a new head: held again until a new ok.
        newer = fork.push({"calc.py": CALC})
        techlead.settle()
        assert l3(pr, newer)["conclusion"] == "neutral"
        assert l3(pr, newer)["output"]["title"] == HELD_TITLE
    finally:
        fork.client.close()
