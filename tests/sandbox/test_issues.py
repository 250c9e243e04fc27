"""Issues, comments and labels through the real PyGithub client, as a person and as an App."""

from __future__ import annotations

import github
import pytest

from bot.sandbox import Sandbox
from tests.conftest import World

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("who", ["user", "app"], ids=["as-user", "as-app"])
def test_issue_lifecycle_is_visible_to_everyone(world: World, who: str) -> None:
    gh = world.user_gh if who == "user" else world.app_gh
    repo = gh.get_repo(world.repo.full_name)

    issue = repo.create_issue("Crash on start", body="Steps: run it", labels=["bug"])
    issue.edit(title="Crash on start-up", body="Steps: run it twice", labels=["bug", "p1"])
    issue.edit(state="closed", state_reason="not_planned")

    seen = world.user_gh.get_repo(world.repo.full_name).get_issue(issue.number)
    assert seen.title == "Crash on start-up"
    assert seen.body == "Steps: run it twice"
    assert sorted(label.name for label in seen.labels) == ["bug", "p1"]
    assert seen.state == "closed"
    assert seen.state_reason == "not_planned"
    expected_author = world.user.login if who == "user" else world.app.bot_login
    assert seen.user.login == expected_author
    assert seen.closed_by is not None
    assert seen.closed_by.login == expected_author


def test_app_author_is_the_bot_and_marks_the_app(world: World) -> None:
    issue = world.app_gh.get_repo(world.repo.full_name).create_issue("Plan")
    assert issue.user.type == "Bot"
    assert issue.performed_via_github_app.slug == world.app.slug


def test_reopen_sets_reason_and_clears_closed_at(world: World) -> None:
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Flaky")
    issue.edit(state="closed")
    issue.edit(state="open")
    assert issue.state == "open"
    assert issue.state_reason == "reopened"
    assert issue.closed_at is None


@pytest.mark.parametrize("who", ["user", "app"], ids=["as-user", "as-app"])
def test_comments_create_edit_delete_and_list(world: World, who: str) -> None:
    gh = world.user_gh if who == "user" else world.app_gh
    repo = gh.get_repo(world.repo.full_name)
    issue = repo.create_issue("Discuss")

    first = issue.create_comment("first")
    second = issue.create_comment("second")
    first.edit("first, edited")
    second.delete()

    again = world.user_gh.get_repo(world.repo.full_name)
    bodies = [c.body for c in again.get_issue(issue.number).get_comments()]
    assert bodies == ["first, edited"]
    assert again.get_issue(issue.number).comments == 1
    assert [c.body for c in again.get_issues_comments()] == ["first, edited"]
    assert again.get_issue(issue.number).get_comment(first.id).body == "first, edited"


def test_deleted_comment_is_gone(world: World) -> None:
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Gone")
    comment = issue.create_comment("bye")
    comment.delete()
    with pytest.raises(github.UnknownObjectException):
        issue.get_comment(comment.id)


def test_list_issues_filters_by_state_and_label(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    repo.create_issue("open bug", labels=["bug"])
    repo.create_issue("open idea", labels=["idea"])
    repo.create_issue("closed bug", labels=["bug"]).edit(state="closed")

    assert [i.title for i in repo.get_issues(state="open", labels=["bug"])] == ["open bug"]
    assert sorted(i.title for i in repo.get_issues(state="all")) == [
        "closed bug",
        "open bug",
        "open idea",
    ]
    assert [i.title for i in repo.get_issues(state="closed")] == ["closed bug"]


def test_assignees_must_be_able_to_see_the_repo(world: World, sandbox: Sandbox) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    helper = sandbox.create_user(f"helper-{world.repo.id}")
    issue = repo.create_issue("Needs hands", assignees=[helper.login])
    assert [a.login for a in issue.assignees] == [helper.login]
    with pytest.raises(github.GithubException) as caught:
        issue.edit(assignees=["no-such-person"])
    assert caught.value.status == 422


def test_events_are_recorded_for_webhooks(world: World, sandbox: Sandbox) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    issue = repo.create_issue("Event source")
    issue.add_to_labels("triage")
    issue.create_comment("hello")
    mine = [e for e in sandbox.events if e.repo_id == world.repo.id]
    assert [(e.name, e.action) for e in mine] == [
        ("issues", "opened"),
        ("label", "created"),
        ("issues", "labeled"),
        ("issue_comment", "created"),
    ]
    labeled = mine[2].body(sandbox.urls)
    assert labeled["label"]["name"] == "triage"
    assert labeled["issue"]["number"] == issue.number
