"""TechLead's GitHub port against the sandbox: real HTTP, real PyGithub, faults switched on."""

from __future__ import annotations

import itertools
import logging
import socket
import threading

import jwt
import pytest

from bot.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnavailable,
)
from bot.github import GitHubClient
from bot.permissions import Why, check_sender
from bot.ports import Annotation, CheckOutput
from bot.repo_config import fetch_repo_config, load_defaults
from bot.settings import Settings
from tests.conftest import World

from .conftest import Rig, Sleeper, app_settings, make_rig, token_settings

pytestmark = pytest.mark.sandbox

COMMENTS = "/repos/*/*/issues/*/comments"
CREATE_COMMENT = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
MINT = "POST /app/installations/{installation_id}/access_tokens"
MARKER = "<!-- techlead:plan -->"


def test_comments_are_created_found_and_edited(app_rig: Rig) -> None:
    number = app_rig.issue()
    port = app_rig.port
    assert port.find_comment(app_rig.repo, number, MARKER) is None
    created = port.create_comment(app_rig.repo, number, f"{MARKER}\nPlan v1")
    port.create_comment(app_rig.repo, number, "unrelated")
    found = port.find_comment(app_rig.repo, number, MARKER)
    assert found is not None and found.id == created.id
    port.edit_comment(app_rig.repo, created.id, f"{MARKER}\nPlan v2")
    bodies = [c.body for c in port.list_comments(app_rig.repo, number)]
    assert bodies == [f"{MARKER}\nPlan v2", "unrelated"]
    assert created.author_type == "Bot"
    assert created.author_login == app_rig.world.app.bot_login
    assert port.get_comment(app_rig.repo, created.id).body.endswith("Plan v2")


def test_issue_labels_and_reactions(app_rig: Rig) -> None:
    number = app_rig.issue()
    port = app_rig.port
    port.add_labels(app_rig.repo, number, ["techlead", "planned"])
    port.remove_label(app_rig.repo, number, "techlead")
    port.remove_label(app_rig.repo, number, "never-there")
    comment = port.create_comment(app_rig.repo, number, "on it")
    port.add_comment_reaction(app_rig.repo, comment.id, "eyes")
    port.add_issue_reaction(app_rig.repo, number, "rocket")
    issue = port.get_issue(app_rig.repo, number)
    assert issue.labels == ("planned",)
    assert issue.is_pull_request is False
    assert issue.author_login == app_rig.world.user.login
    remote = app_rig.world.user_gh.get_repo(app_rig.repo).get_issue(number)
    assert [r.content for r in remote.get_reactions()] == ["rocket"]
    assert [r.content for r in remote.get_comment(comment.id).get_reactions()] == ["eyes"]


def test_a_502_on_a_write_is_retried_and_the_write_happens_once(app_rig: Rig) -> None:
    number = app_rig.issue()
    app_rig.sandbox.faults.error(COMMENTS, method="POST", status=502)
    app_rig.port.create_comment(app_rig.repo, number, "hello once")
    assert [c.body for c in app_rig.port.list_comments(app_rig.repo, number)] == ["hello once"]
    assert app_rig.sleeper.waits == [1.0]
    counts = app_rig.client.stats.counts()
    assert (counts[(CREATE_COMMENT, 502)], counts[(CREATE_COMMENT, 201)]) == (1, 1)


def test_persistent_5xx_gives_up_after_bounded_backoff(app_rig: Rig) -> None:
    number = app_rig.issue()
    app_rig.sandbox.faults.error(COMMENTS, method="GET", status=503, count=None)
    with pytest.raises(GitHubUnavailable, match="503 after 5 attempts"):
        app_rig.port.list_comments(app_rig.repo, number)
    assert app_rig.sleeper.waits == [1.0, 2.0, 4.0, 8.0]


def test_a_secondary_rate_limit_is_waited_out_per_retry_after(app_rig: Rig) -> None:
    number = app_rig.issue()
    app_rig.sandbox.faults.secondary_limit(COMMENTS, retry_after=7, method="POST")
    app_rig.port.create_comment(app_rig.repo, number, "after the wait")
    assert app_rig.sleeper.waits == [7.0]
    assert len(app_rig.port.list_comments(app_rig.repo, number)) == 1


def test_a_long_secondary_limit_goes_back_to_the_queue(app_rig: Rig) -> None:
    number = app_rig.issue()
    app_rig.sandbox.faults.secondary_limit(COMMENTS, retry_after=600, method="POST")
    with pytest.raises(GitHubRateLimited) as caught:
        app_rig.port.create_comment(app_rig.repo, number, "not now")
    assert caught.value.retry_after == 600.0
    assert caught.value.reset_at is None
    assert app_rig.sleeper.waits == []
    assert app_rig.port.list_comments(app_rig.repo, number) == []


def test_an_exhausted_budget_raises_with_the_reset_and_stops_calling(app_rig: Rig) -> None:
    number = app_rig.issue()
    app_rig.port.get_issue(app_rig.repo, number)  # token minted, budget started
    key = f"installation:{app_rig.world.installation.id}"
    app_rig.sandbox.set_rate_limit(key, 100, remaining=0)
    reset_at = app_rig.sandbox.limiter.peek(key).reset_at
    with pytest.raises(GitHubRateLimited) as caught:
        app_rig.port.create_comment(app_rig.repo, number, "over budget")
    assert caught.value.reset_at == pytest.approx(reset_at, abs=1)
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000
    sent = app_rig.client.stats.total()
    with pytest.raises(GitHubRateLimited):
        app_rig.port.get_issue(app_rig.repo, number)
    assert app_rig.client.stats.total() == sent, "no request is sent before the reset"
    app_rig.sandbox.clock.advance(caught.value.retry_after + 1)  # type: ignore[attr-defined]
    app_rig.port.create_comment(app_rig.repo, number, "after the reset")
    assert [c.body for c in app_rig.port.list_comments(app_rig.repo, number)] == ["after the reset"]


def test_a_repeated_get_is_a_free_304_and_changes_are_seen(app_rig: Rig) -> None:
    number = app_rig.issue()
    key = f"installation:{app_rig.world.installation.id}"
    route = "GET /repos/{owner}/{repo}/issues/{issue_number}"
    first = app_rig.port.get_issue(app_rig.repo, number)
    used = app_rig.sandbox.limiter.peek(key).used
    again = app_rig.port.get_issue(app_rig.repo, number)
    assert again == first
    assert app_rig.sandbox.limiter.peek(key).used == used, "a 304 costs no quota"
    app_rig.port.add_labels(app_rig.repo, number, ["seen"])
    assert app_rig.port.get_issue(app_rig.repo, number).labels == ("seen",)
    counts = app_rig.client.stats.counts()
    assert (counts[(route, 200)], counts[(route, 304)]) == (2, 1)


class StepClock:
    """A frozen clock that only moves when the client sleeps."""

    def __init__(self, start: float) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


def test_writes_are_paced_per_installation(world: World) -> None:
    clock = StepClock(world.sandbox.clock.now())
    sleeper = Sleeper(clock)
    written: list[float] = []

    def on_request(route: str, status: int) -> None:
        if route.startswith("POST") and status < 400:
            written.append(clock.now())

    client = GitHubClient(
        token_settings(world, write_interval=1.0), clock=clock, sleep=sleeper, on_request=on_request
    )
    port = client.port()
    number = int(world.user_gh.get_repo(world.repo.full_name).create_issue("pace").number)
    for text in ("one", "two", "three"):
        port.create_comment(world.repo.full_name, number, text)
    port.get_issue(world.repo.full_name, number)  # reads are not paced
    assert sleeper.waits == [1.0, 1.0]
    assert [b - a for a, b in itertools.pairwise(written)] == [1.0, 1.0]
    assert [c.body for c in port.list_comments(world.repo.full_name, number)] == [
        "one",
        "two",
        "three",
    ]


def test_concurrent_writes_are_serialised(world: World) -> None:
    clock = StepClock(world.sandbox.clock.now())
    written: list[float] = []
    client = GitHubClient(
        token_settings(world, write_interval=1.0),
        clock=clock,
        sleep=Sleeper(clock),
        on_request=lambda route, status: (
            written.append(clock.now()) if route.startswith("POST") else None
        ),
    )
    port = client.port()
    repo = world.repo.full_name
    number = int(world.user_gh.get_repo(repo).create_issue("busy").number)
    threads = [
        threading.Thread(target=port.create_comment, args=(repo, number, f"comment {i}"))
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(c.body for c in port.list_comments(repo, number)) == [
        f"comment {i}" for i in range(6)
    ]
    assert [b - a for a, b in itertools.pairwise(sorted(written))] == [1.0] * 5


def test_long_bodies_are_clipped_to_githubs_limit(app_rig: Rig) -> None:
    number = app_rig.issue()
    comment = app_rig.port.create_comment(app_rig.repo, number, MARKER + "x" * 70_000)
    stored = app_rig.port.get_comment(app_rig.repo, comment.id).body
    assert len(stored) == 65_536
    assert stored.startswith(MARKER) and stored.endswith("(truncated)")


def test_app_mode_end_to_end_with_token_refresh(app_rig: Rig) -> None:
    clock = app_rig.sandbox.clock
    number = app_rig.issue()
    port = app_rig.port
    port.create_comment(app_rig.repo, number, "first")
    _, first_token = port.git_credentials(app_rig.repo)
    clock.advance(50 * 60)  # type: ignore[attr-defined]
    port.create_comment(app_rig.repo, number, "at 50 minutes")
    assert port.git_credentials(app_rig.repo)[1] == first_token
    clock.advance(6 * 60)  # type: ignore[attr-defined]  # 4 minutes left: refresh
    port.create_comment(app_rig.repo, number, "at 56 minutes")
    username, second_token = port.git_credentials(app_rig.repo)
    assert (username, second_token != first_token) == ("x-access-token", True)
    clock.advance(10 * 60)  # type: ignore[attr-defined]  # the first token has expired
    port.create_comment(app_rig.repo, number, "at 66 minutes")
    assert len(port.list_comments(app_rig.repo, number)) == 4
    counts = app_rig.client.stats.counts()
    assert counts[(MINT, 201)] == 2
    assert counts[("GET /repos/{owner}/{repo}/installation", 200)] == 1


def test_the_app_jwt_is_backdated_and_short_lived(app_rig: Rig) -> None:
    now = app_rig.sandbox.clock.now()
    claims = jwt.decode(app_rig.client.app_jwt(), options={"verify_signature": False})
    assert claims["iss"] == str(app_rig.world.app.id)
    assert claims["iat"] == pytest.approx(now - 60, abs=2)
    assert claims["exp"] - claims["iat"] <= 600
    assert claims["exp"] - now <= 600


def test_a_known_installation_skips_the_lookup(world: World) -> None:
    rig = make_rig(world, app_settings(world))
    port = rig.client.port(world.installation.id)
    assert port.default_branch(world.repo.full_name) == "main"
    assert ("GET /repos/{owner}/{repo}/installation", 200) not in rig.client.stats.counts()


@pytest.mark.parametrize("mode", ["app", "token"])
def test_config_comes_from_the_default_branch_then_the_owner(world: World, mode: str) -> None:
    settings = app_settings(world) if mode == "app" else token_settings(world)
    port = make_rig(world, settings).port
    remote = world.user_gh.get_repo(world.repo.full_name)
    assert world.repo.head_sha is not None
    remote.create_git_ref("refs/heads/feature", world.repo.head_sha)
    remote.create_file(
        ".github/techlead.yml", "cfg", "trigger:\n  label: branch\n", branch="feature"
    )
    assert fetch_repo_config(port, world.repo.full_name) == load_defaults()

    world.sandbox.create_repo(
        world.user.login, ".github", files={".github/techlead.yml": "trigger:\n  label: owner\n"}
    )
    if mode == "app":
        # Not yet visible to the installation: a 404, so the defaults apply.
        assert fetch_repo_config(port, world.repo.full_name) == load_defaults()
        world.sandbox.add_installation_repos(world.installation.id, [".github"])
    assert fetch_repo_config(port, world.repo.full_name).trigger.label == "owner"

    remote.create_file(".github/techlead.yml", "cfg", "trigger:\n  label: repo\n", branch="main")
    assert fetch_repo_config(port, world.repo.full_name).trigger.label == "repo"


@pytest.mark.parametrize(
    ("role", "expected", "allowed"),
    [("maintain", "maintain", True), ("write", "write", True), ("triage", "triage", False)],
    ids=["maintain", "write", "triage"],
)
def test_permission_reads_the_role(app_rig: Rig, role: str, expected: str, allowed: bool) -> None:
    person = app_rig.sandbox.create_user(f"dev-{role}-{app_rig.world.repo.id}")
    app_rig.sandbox.set_role(app_rig.repo, person.login, role)
    assert app_rig.port.permission(app_rig.repo, person.login) == expected
    config = load_defaults().permissions
    decision = check_sender(app_rig.port, app_rig.repo, person.login, "plan", config)
    assert decision.allowed is allowed


def test_a_stranger_has_no_permission(app_rig: Rig) -> None:
    stranger = app_rig.sandbox.create_user(f"stranger-{app_rig.world.repo.id}")
    decision = check_sender(
        app_rig.port, app_rig.repo, stranger.login, "plan", load_defaults().permissions
    )
    assert (decision.allowed, decision.why) == (False, Why.TOO_LOW)


def test_check_run_with_more_than_50_annotations(app_rig: Rig) -> None:
    sha = app_rig.world.repo.head_sha
    assert sha is not None
    annotations = [
        Annotation("README.md", line, line, "warning", f"finding {line}", title="lint")
        for line in range(1, 121)
    ]
    output = CheckOutput("3 gates", "120 findings")
    run = app_rig.port.create_check_run(
        app_rig.repo,
        sha,
        "TechLead / lint",
        external_id="plan-1",
        output=output,
        annotations=annotations,
        conclusion="failure",
    )
    assert (run.status, run.conclusion, run.external_id) == ("completed", "failure", "plan-1")
    remote = app_rig.world.user_gh.get_repo(app_rig.repo).get_check_run(run.id)
    assert remote.get_annotations().totalCount == 120
    counts = app_rig.client.stats.counts()
    assert counts[("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", 200)] == 2
    listed = app_rig.port.list_check_runs(app_rig.repo, sha, name="TechLead / lint")
    assert [r.id for r in listed] == [run.id]
    updated = app_rig.port.update_check_run(
        app_rig.repo, run.id, conclusion="success", output=CheckOutput("fixed", "all clear")
    )
    assert updated.conclusion == "success"


def test_commit_status(app_rig: Rig) -> None:
    sha = app_rig.world.repo.head_sha
    assert sha is not None
    app_rig.port.create_status(
        app_rig.repo, sha, state="pending", context="techlead/plan", description="x" * 500
    )
    _, statuses = app_rig.world.user_gh.requester.requestJsonAndCheck(
        "GET", f"/repos/{app_rig.repo}/commits/{sha}/statuses"
    )
    assert [(s["context"], s["state"], len(s["description"])) for s in statuses] == [
        ("techlead/plan", "pending", 140)
    ]


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda rig: rig.port.get_issue(rig.repo, 999_999), GitHubNotFound),
        (lambda rig: rig.port.read_file(rig.repo, "nope.txt", "main"), None),
        (lambda rig: rig.port.default_branch("nobody/nothing"), GitHubNotFound),
    ],
    ids=["missing-issue", "missing-file-is-none", "repo-outside-installation"],
)
def test_missing_things(app_rig: Rig, call: object, kind: type[GitHubError] | None) -> None:
    if kind is None:
        assert call(app_rig) is None  # type: ignore[operator]
    else:
        with pytest.raises(kind):
            call(app_rig)  # type: ignore[operator]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_github_is_unavailable_after_retries() -> None:
    settings = Settings(
        github_token="ghp_unreachablesecret000", api_url=f"http://127.0.0.1:{_free_port()}/api/v3"
    )
    sleeper = Sleeper()
    port = GitHubClient(settings, sleep=sleeper).port()
    with pytest.raises(GitHubUnavailable) as caught:
        port.default_branch("acme/app")
    assert sleeper.waits == [1.0, 2.0, 4.0, 8.0]
    assert "ghp_unreachablesecret000" not in str(caught.value)


def test_tokens_never_reach_logs_or_errors(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")
    rig = make_rig(world, app_settings(world))
    number = rig.issue()
    rig.port.create_comment(rig.repo, number, "hello")
    errors: list[str] = []
    for failing in (
        lambda: rig.port.get_issue(rig.repo, 424_242),
        lambda: make_rig(
            world, Settings(github_token="ghp_wrongwrongwrong1234", api_url=world.api_url)
        ).port.get_issue(rig.repo, number),
    ):
        with pytest.raises(GitHubError) as caught:
            failing()
        errors.append(f"{caught.value} {caught.value!r} {caught.value.__cause__!r}")
    assert isinstance(caught.value, GitHubAuthError)
    secrets = [
        rig.client.installation_token(world.installation.id),
        rig.client.app_jwt(),
        world.user.token,
        "ghp_wrongwrongwrong1234",
    ]
    captured = capsys.readouterr()
    text = "\n".join([caplog.text, captured.out, captured.err, *errors])
    assert "github.Requester" in caplog.text, "PyGithub's debug log was captured"
    for secret in secrets:
        assert secret not in text
