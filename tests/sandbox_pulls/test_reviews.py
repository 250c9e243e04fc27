"""Reviews and review comments through PyGithub: pending reviews, verdicts, replies,
edits, deletions, and comments that a later push (through the refs API) makes outdated."""

from __future__ import annotations

import github
import pytest
from github.PullRequest import PullRequest

from bot.sandbox import Sandbox
from tests.conftest import World, build_world
from tests.sandbox_pulls.test_pulls import branch_with
from tests.sandbox_webhooks.support import Receiver

pytestmark = pytest.mark.sandbox

CODE = "".join(f"line {i}\n" for i in range(1, 21))
CHANGED = CODE.replace("line 10\n", "line ten\n").replace("line 15\n", "line fifteen\n")


def open_pull(world: World) -> PullRequest:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"code.txt": CHANGED})
    return repo.create_pull(base="main", head="topic", title="Change lines")


@pytest.fixture
def project(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str], receiver: Receiver
) -> World:
    world = build_world(sandbox, sandbox_api_url, app_key, files={"code.txt": CODE})
    sandbox.set_app_webhook(world.app.id, receiver.url, "s")
    return world


def test_pending_review_is_private_until_submitted(
    sandbox: Sandbox, project: World, receiver: Receiver
) -> None:
    pull = open_pull(project)
    as_app = project.app_gh.get_repo(project.repo.full_name).get_pull(pull.number)
    pending = as_app.create_review(comments=[{"path": "code.txt", "line": 10, "body": "why?"}])
    assert pending.state == "PENDING"
    assert [r.id for r in pull.get_reviews()] == []

    with pytest.raises(github.GithubException) as second:
        as_app.create_review(body="again")
    assert second.value.data["errors"] == ["User can only have one pending review per pull request"]

    project.app_gh.requester.requestJsonAndCheck(
        "POST",
        f"{as_app.url}/reviews/{pending.id}/events",
        input={"event": "REQUEST_CHANGES", "body": "Please explain"},
    )

    seen = pull.get_reviews()
    assert [(r.id, r.state, r.body) for r in seen] == [
        (pending.id, "CHANGES_REQUESTED", "Please explain")
    ]
    assert [c.body for c in pull.get_review_comments()] == ["why?"]
    assert sandbox.wait_for_deliveries()
    assert (
        receiver.of("pull_request_review", "submitted")[0].payload["review"]["state"]
        == "changes_requested"
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("APPROVE", "Can not approve your own pull request"),
        ("REQUEST_CHANGES", "Can not request changes on your own pull request"),
    ],
)
def test_authors_cannot_judge_their_own_pull_request(
    project: World, event: str, message: str
) -> None:
    pull = open_pull(project)

    with pytest.raises(github.GithubException) as caught:
        pull.create_review(body="mine", event=event)

    assert (caught.value.status, caught.value.data["errors"]) == (422, [message])


def test_approval_by_an_app_fulfils_its_review_request(sandbox: Sandbox, project: World) -> None:
    pull = open_pull(project)
    as_app = project.app_gh.get_repo(project.repo.full_name).get_pull(pull.number)

    review = as_app.create_review(body="Looks good", event="APPROVE")

    assert (review.state, review.user.login) == ("APPROVED", project.app.bot_login)
    assert [r.state for r in pull.get_reviews()] == ["APPROVED"]


def test_replies_join_the_thread_of_the_first_comment(
    sandbox: Sandbox, project: World, receiver: Receiver
) -> None:
    pull = open_pull(project)
    first = pull.create_review_comment(
        "first", pull.get_commits()[0], "code.txt", line=10, side="RIGHT"
    )

    reply = pull.create_review_comment_reply(first.id, "a reply")
    reply_of_reply = project.app_gh.get_repo(project.repo.full_name).get_pull(pull.number)
    by_app = reply_of_reply.create_review_comment_reply(reply.id, "bot reply")

    assert (reply.in_reply_to_id, by_app.in_reply_to_id) == (first.id, first.id)
    assert (reply.path, reply.line, reply.side) == ("code.txt", 10, "RIGHT")
    assert [c.body for c in pull.get_review_comments()] == ["first", "a reply", "bot reply"]
    assert sandbox.wait_for_deliveries()
    created = receiver.of("pull_request_review_comment", "created")
    assert [r.payload["comment"].get("in_reply_to_id") for r in created] == [
        None,
        first.id,
        first.id,
    ]
    assert created[-1].payload["sender"]["type"] == "Bot"


def test_in_reply_to_on_the_comments_endpoint_replies_too(project: World) -> None:
    pull = open_pull(project)
    first = pull.create_review_comment(
        "first", pull.get_commits()[0], "code.txt", line=15, side="RIGHT"
    )

    reply = project.user_gh.requester.requestJsonAndCheck(
        "POST",
        f"{pull.url}/comments",
        # Other fields are ignored with in_reply_to, though the description requires two.
        input={"body": "me too", "in_reply_to": first.id, "commit_id": pull.head.sha, "path": "x"},
    )[1]

    assert (reply["in_reply_to_id"], reply["line"], reply["path"]) == (first.id, 15, "code.txt")
    assert [c.body for c in pull.get_review_comments()] == ["first", "me too"]


def test_edit_and_delete_a_review_comment(
    sandbox: Sandbox, project: World, receiver: Receiver
) -> None:
    pull = open_pull(project)
    comment = pull.create_review_comment(
        "typo", pull.get_commits()[0], "code.txt", line=15, side="RIGHT"
    )

    comment.edit("fixed typo")
    assert pull.get_review_comment(comment.id).body == "fixed typo"
    comment.delete()

    assert [c.id for c in pull.get_review_comments()] == []
    repo = project.user_gh.get_repo(project.repo.full_name)
    assert [c.id for c in repo.get_pulls_review_comments()] == []
    assert sandbox.wait_for_deliveries()
    edited = receiver.of("pull_request_review_comment", "edited")[0].payload
    assert edited["changes"] == {"body": {"from": "typo"}}
    assert len(receiver.of("pull_request_review_comment", "deleted")) == 1


def test_review_comments_of_the_repository(project: World) -> None:
    pull = open_pull(project)
    commit = pull.get_commits()[0]
    pull.create_review_comment("one", commit, "code.txt", line=10, side="RIGHT")
    pull.create_review_comment("two", commit, "code.txt", line=15, side="RIGHT")

    repo = project.user_gh.get_repo(project.repo.full_name)
    assert [c.body for c in repo.get_pulls_review_comments()] == ["one", "two"]
    assert [c.body for c in repo.get_pulls_review_comments(direction="desc")] == ["two", "one"]


def test_a_push_through_the_refs_api_outdates_comments_on_changed_lines(
    sandbox: Sandbox, project: World, receiver: Receiver
) -> None:
    pull = open_pull(project)
    first_head = pull.head.sha
    commit = pull.get_commits()[0]
    on_ten = pull.create_review_comment("ten", commit, "code.txt", line=10, side="RIGHT")
    on_fifteen = pull.create_review_comment("fifteen", commit, "code.txt", line=15, side="RIGHT")
    on_old = pull.create_review_comment("old ten", commit, "code.txt", line=10, side="LEFT")
    repo = project.user_gh.get_repo(project.repo.full_name)
    current = repo.get_contents("code.txt", ref="topic")
    assert not isinstance(current, list)

    repo.update_file(
        "code.txt",
        "Only ten",
        CHANGED.replace("line ten\n", "line TEN\n"),
        current.sha,
        branch="topic",
    )

    new_head = repo.get_pull(pull.number).head.sha
    assert new_head != first_head
    after = {c.id: c for c in repo.get_pull(pull.number).get_review_comments()}
    assert (after[on_ten.id].position, after[on_ten.id].line) == (None, None)
    assert (after[on_ten.id].original_line, after[on_ten.id].original_position) == (
        10,
        on_ten.position,
    )
    assert (after[on_fifteen.id].line, after[on_fifteen.id].commit_id) == (15, new_head)
    assert after[on_old.id].line == 10
    assert sandbox.wait_for_deliveries()
    synchronize = receiver.of("pull_request", "synchronize")
    assert [(r.payload["before"], r.payload["after"]) for r in synchronize] == [
        (first_head, new_head)
    ]
    hook_comment = receiver.of("pull_request_review_comment", "created")[0].payload["comment"]
    assert hook_comment["position"] == on_ten.position


def test_a_review_on_an_older_commit_is_placed_then_followed(project: World) -> None:
    pull = open_pull(project)
    old_head = pull.head.sha
    repo = project.user_gh.get_repo(project.repo.full_name)
    current = repo.get_contents("code.txt", ref="topic")
    assert not isinstance(current, list)
    repo.update_file("code.txt", "More", CHANGED + "line 21\n", current.sha, branch="topic")

    review = pull.create_review(
        commit=repo.get_pull(pull.number).get_commits()[0],
        body="on the first commit",
        event="COMMENT",
        comments=[{"path": "code.txt", "line": 15, "side": "RIGHT", "body": "still here"}],
    )

    assert review.commit_id == old_head
    comment = pull.get_review_comments()[0]
    assert (comment.original_commit_id, comment.commit_id) == (
        old_head,
        repo.get_pull(pull.number).head.sha,
    )
    assert comment.line == 15


def test_check_suites_are_requested_only_from_apps_that_write_checks(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str], receiver: Receiver
) -> None:
    writer = build_world(sandbox, sandbox_api_url, app_key, files={"code.txt": CODE})
    reader = sandbox.create_app(
        writer.user.login, f"reader-{writer.repo.name}", public_key_pem=app_key[1]
    )
    sandbox.install_app(
        reader.id, writer.user.login, permissions={"checks": "read", "contents": "write"}
    )
    sandbox.set_app_webhook(writer.app.id, receiver.url, "s")
    sandbox.set_app_webhook(reader.id, receiver.url, "s")
    repo = writer.user_gh.get_repo(writer.repo.full_name)

    head = branch_with(repo, "topic", {"a.txt": "a\n"})

    assert sandbox.wait_for_deliveries()
    requested = [r.payload["check_suite"] for r in receiver.of("check_suite", "requested")]
    assert head in [suite["head_sha"] for suite in requested]
    assert {suite["app"]["id"] for suite in requested} == {writer.app.id}
    suites = writer.app_gh.get_repo(writer.repo.full_name).get_commit(head).get_check_suites()
    assert [s.app.id for s in suites] == [writer.app.id]
