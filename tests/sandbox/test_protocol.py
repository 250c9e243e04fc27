"""HTTP behaviour shared by every route: pagination, ETags, rate limits, injected faults."""

from __future__ import annotations

import time

import github
import httpx
import pytest

from bot.sandbox import ManualClock, Sandbox
from tests.conftest import World

pytestmark = pytest.mark.sandbox


def _get(url: str, token: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers={"Authorization": f"token {token}", **headers}, timeout=10)


def _seed_comments(world: World, count: int) -> int:
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Many comments")
    for index in range(count):
        issue.create_comment(f"comment {index}")
    return issue.number


def test_link_header_pages_through_comments(world: World, sandbox: Sandbox) -> None:
    number = _seed_comments(world, 7)
    url = f"{sandbox.api_url}/repos/{world.repo.full_name}/issues/{number}/comments"

    first = _get(f"{url}?per_page=3", world.user.token)
    assert [c["body"] for c in first.json()] == ["comment 0", "comment 1", "comment 2"]
    links = first.links
    assert set(links) == {"next", "last"}
    assert "page=3" in links["last"]["url"] and "per_page=3" in links["last"]["url"]

    middle = _get(links["next"]["url"], world.user.token)
    assert [c["body"] for c in middle.json()] == ["comment 3", "comment 4", "comment 5"]
    assert set(middle.links) == {"prev", "next", "last", "first"}

    last = _get(middle.links["next"]["url"], world.user.token)
    assert [c["body"] for c in last.json()] == ["comment 6"]
    assert set(last.links) == {"prev", "first"}


def test_pygithub_paginated_list_reads_every_page(world: World, sandbox: Sandbox) -> None:
    number = _seed_comments(world, 7)
    gh = github.Github(
        auth=github.Auth.Token(world.user.token),
        base_url=sandbox.api_url,
        per_page=2,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    comments = gh.get_repo(world.repo.full_name).get_issue(number).get_comments()
    assert [c.body for c in comments] == [f"comment {i}" for i in range(7)]
    assert comments.totalCount == 7


def test_per_page_is_capped_at_100(world: World, sandbox: Sandbox) -> None:
    url = f"{sandbox.api_url}/repos/{world.repo.full_name}/issues?per_page=500&state=all"
    response = _get(url, world.user.token)
    assert response.status_code == 200
    assert response.json() == []


def test_etag_gives_304_without_body_and_without_cost(world: World, sandbox: Sandbox) -> None:
    url = f"{sandbox.api_url}/repos/{world.repo.full_name}"
    first = _get(url, world.user.token)
    etag = first.headers["ETag"]
    remaining = int(first.headers["X-RateLimit-Remaining"])

    again = _get(url, world.user.token, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert int(again.headers["X-RateLimit-Remaining"]) == remaining

    world.user_gh.get_repo(world.repo.full_name).edit(description="changed")
    changed = _get(url, world.user.token, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["description"] == "changed"


def test_rate_limit_runs_out_then_resets(world: World, sandbox: Sandbox) -> None:
    assert isinstance(sandbox.clock, ManualClock)
    key = f"installation:{world.installation.id}"
    repo = world.app_gh.get_repo(world.repo.full_name)  # fetches the token, spends 1
    sandbox.set_rate_limit(key, 5, remaining=2, reset_in=90)
    repo.get_issues(state="all").totalCount  # noqa: B018
    repo.get_labels().totalCount  # noqa: B018

    with pytest.raises(github.RateLimitExceededException) as caught:
        repo.create_issue("one too many")
    assert caught.value.status == 403
    message = caught.value.data["message"]
    assert message.startswith(
        f"API rate limit exceeded for installation ID {world.installation.id}."
    )
    headers = caught.value.headers or {}
    assert headers["x-ratelimit-remaining"] == "0"
    reset = int(headers["x-ratelimit-reset"])
    assert 0 < reset - sandbox.clock.now() <= 91

    sandbox.clock.advance(reset - sandbox.clock.now() + 1)
    issue = repo.create_issue("after the reset")
    assert issue.number >= 1
    assert world.app_gh.rate_limiting[0] == 4


def test_rate_limit_headers_on_every_answer(world: World, sandbox: Sandbox) -> None:
    response = _get(f"{sandbox.api_url}/user", world.user.token)
    for name in ("Limit", "Remaining", "Reset", "Used", "Resource"):
        assert f"X-RateLimit-{name}" in response.headers
    assert response.headers["X-RateLimit-Limit"] == "5000"
    assert response.headers["X-RateLimit-Resource"] == "core"


def test_next_requests_fail_with_502_then_succeed(world: World, sandbox: Sandbox) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    sandbox.faults.error("/repos/*/issues", status=502, count=2, method="POST")
    for _ in range(2):
        with pytest.raises(github.GithubException) as caught:
            repo.create_issue("flaky")
        assert caught.value.status == 502
    assert repo.create_issue("works now").title == "works now"
    with sandbox.state.lock:
        titles = [i.title for i in sandbox.repo(world.repo.full_name).issues.values()]
    assert titles == ["works now"]


def test_pygithub_retry_rides_over_a_502(world: World, sandbox: Sandbox) -> None:
    sandbox.faults.error("/repos/*/labels", status=502, count=1)
    gh = github.Github(
        auth=github.Auth.Token(world.user.token),
        base_url=sandbox.api_url,
        retry=github.GithubRetry(total=2, backoff_factor=0.01),
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    assert list(gh.get_repo(world.repo.full_name).get_labels()) == []


def test_secondary_rate_limit_answers_403_with_retry_after(world: World, sandbox: Sandbox) -> None:
    sandbox.faults.secondary_limit("/repos/*/issues/*/comments", retry_after=42, method="POST")
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("busy")
    with pytest.raises(github.RateLimitExceededException) as caught:
        issue.create_comment("too fast")
    assert caught.value.status == 403
    assert caught.value.data["message"].startswith("You have exceeded a secondary rate limit")
    assert (caught.value.headers or {})["retry-after"] == "42"
    assert issue.create_comment("later").body == "later"


def test_latency_is_added_to_matching_routes(world: World, sandbox: Sandbox) -> None:
    sandbox.faults.latency("/repos/*/labels", 0.3, count=1)
    repo = world.user_gh.get_repo(world.repo.full_name)
    started = time.monotonic()
    list(repo.get_labels())
    assert time.monotonic() - started >= 0.3
