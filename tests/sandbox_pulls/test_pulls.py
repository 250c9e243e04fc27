"""Pull requests through PyGithub: opening, refusals in GitHub's words, lists, edits,
files and patches, commits, comparisons, merges, reviewers and closing keywords."""

from __future__ import annotations

from typing import Any

import github
import httpx
import pytest
from github.Repository import Repository

from bot.sandbox import Sandbox
from bot.sandbox.pulls import closing_references
from tests.conftest import World
from tests.sandbox_webhooks.support import Receiver

pytestmark = pytest.mark.sandbox

README = "# Project\n"


def branch_with(
    repo: Repository, name: str, files: dict[str, str | None], base: str = "main"
) -> str:
    """Create ``name`` from ``base`` and commit ``files`` on it (None deletes); its tip."""
    repo.create_git_ref(f"refs/heads/{name}", repo.get_git_ref(f"heads/{base}").object.sha)
    for path, text in files.items():
        try:
            current = repo.get_contents(path, ref=name)
        except github.UnknownObjectException:
            current = None
        if text is None:
            assert not isinstance(current, list) and current is not None
            repo.delete_file(path, f"Delete {path}", current.sha, branch=name)
        elif current is None:
            repo.create_file(path, f"Add {path}", text, branch=name)
        else:
            assert not isinstance(current, list)
            repo.update_file(path, f"Change {path}", text, current.sha, branch=name)
    return repo.get_git_ref(f"heads/{name}").object.sha


def api(world: World, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"token {world.user.token}"}
    url = f"{world.api_url}/repos/{world.repo.full_name}{path}"
    return httpx.request(method, url, json=body, headers=headers, timeout=30)


# --- opening -------------------------------------------------------------------------------


def test_opening_needs_commits_between_base_and_head(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    repo.create_git_ref("refs/heads/empty", world.repo.head_sha or "")

    with pytest.raises(github.GithubException) as caught:
        repo.create_pull(base="main", head="empty", title="Nothing")

    assert caught.value.status == 422
    assert caught.value.data["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "field": "",
            "message": "No commits between main and empty",
        }
    ]


def test_a_second_pull_request_for_the_same_branch_is_refused(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    repo.create_pull(base="main", head="topic", title="First")

    with pytest.raises(github.GithubException) as caught:
        repo.create_pull(base="main", head=f"{world.user.login}:topic", title="Again")

    assert caught.value.status == 422
    message = caught.value.data["errors"][0]["message"]
    assert message == f"A pull request already exists for {world.user.login}:topic."


@pytest.mark.parametrize(
    ("head", "base", "field"),
    [
        ("no-such-branch", "main", "head"),
        ("topic", "no-such-base", "base"),
        ("stranger:topic", "main", "head"),
    ],
    ids=["missing-head", "missing-base", "head-in-another-account"],
)
def test_unknown_branches_are_invalid(world: World, head: str, base: str, field: str) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})

    with pytest.raises(github.GithubException) as caught:
        repo.create_pull(base=base, head=head, title="Broken")

    assert caught.value.status == 422
    assert caught.value.data["errors"] == [
        {"resource": "PullRequest", "code": "invalid", "field": field}
    ]
    assert repo.get_pulls(state="all").totalCount == 0


def test_pull_requests_share_numbers_with_issues_and_appear_as_issues(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    first = repo.create_issue("Bug")
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Fix", body="Details")

    assert pull.number == first.number + 1
    as_issue = repo.get_issue(pull.number)
    assert as_issue.pull_request is not None
    assert (as_issue.title, as_issue.body) == ("Fix", "Details")
    as_issue.create_comment("Thanks")
    assert repo.get_pull(pull.number).comments == 1


def test_an_app_opens_a_pull_request_as_its_bot(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    branch_with(repo, "bot-change", {"a.txt": "a\n"})

    pull = repo.create_pull(base="main", head="bot-change", title="Automated")

    assert (pull.user.login, pull.user.type) == (world.app.bot_login, "Bot")


# --- listing and editing -------------------------------------------------------------------


def test_list_filters_by_state_head_and_base_and_pages(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    for name in ("one", "two", "three"):
        branch_with(repo, name, {f"{name}.txt": name})
        repo.create_pull(base="main", head=name, title=name)
    repo.get_pulls(head=f"{world.user.login}:two")[0].edit(state="closed")

    assert [p.title for p in repo.get_pulls()] == ["three", "one"]
    assert [p.title for p in repo.get_pulls(state="closed")] == ["two"]
    assert [p.title for p in repo.get_pulls(state="all", head=f"{world.user.login}:one")] == ["one"]
    assert repo.get_pulls(base="develop").totalCount == 0
    first_page = api(world, "GET", "/pulls?state=all&per_page=2")
    assert len(first_page.json()) == 2
    assert 'rel="next"' in first_page.headers["link"]


def test_edit_title_body_and_base_then_close_and_reopen(
    sandbox: Sandbox, world: World, receiver: Receiver
) -> None:
    sandbox.set_app_webhook(world.app.id, receiver.url, "s")
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "develop", {"d.txt": "d\n"})
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Old", body="old body")

    pull.edit(title="New", body="new body", base="develop")
    pull.edit(state="closed")
    pull.edit(state="open")

    again = repo.get_pull(pull.number)
    assert (again.title, again.body, again.base.ref, again.state) == (
        "New",
        "new body",
        "develop",
        "open",
    )
    assert sandbox.wait_for_deliveries()
    edited = receiver.of("pull_request", "edited")[0].payload["changes"]
    assert edited["title"] == {"from": "Old"}
    assert edited["body"] == {"from": "old body"}
    assert edited["base"]["ref"] == {"from": "main"}
    closed = receiver.of("pull_request", "closed")[0].payload["pull_request"]
    assert (closed["merged"], closed["state"]) == (False, "closed")
    assert len(receiver.of("pull_request", "reopened")) == 1


def test_labels_on_a_pull_request_arrive_as_pull_request_events(
    sandbox: Sandbox, world: World, receiver: Receiver
) -> None:
    sandbox.set_app_webhook(world.app.id, receiver.url, "s")
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Labelled")

    pull.add_to_labels("needs-review")
    pull.remove_from_labels("needs-review")

    assert sandbox.wait_for_deliveries()
    labeled = receiver.of("pull_request", "labeled")
    assert [r.payload["label"]["name"] for r in labeled] == ["needs-review"]
    assert len(receiver.of("pull_request", "unlabeled")) == 1
    assert receiver.of("issues") == []


# --- files, commits, compare ----------------------------------------------------------------


def test_files_report_added_removed_renamed_and_binary_changes(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    repo.create_file("old_name.txt", "seed", "same content\nline 2\nline 3\n", branch="main")
    repo.create_file("gone.txt", "seed", "bye\n", branch="main")
    branch_with(repo, "topic", {"new.txt": "hello\n", "gone.txt": None})
    ref = repo.get_git_ref("heads/topic")
    base_tree = repo.get_git_commit(ref.object.sha).tree
    blob = repo.create_git_blob("aGVsbG8AAAE=", "base64")
    moved = repo.get_contents("old_name.txt", ref="topic")
    assert not isinstance(moved, list)
    tree = repo.create_git_tree(
        [
            github.InputGitTreeElement("logo.bin", "100644", "blob", sha=blob.sha),
            github.InputGitTreeElement("new_name.txt", "100644", "blob", sha=moved.sha),
            github.InputGitTreeElement("old_name.txt", "100644", "blob", sha=None),
        ],
        base_tree,
    )
    commit = repo.create_git_commit(
        "Rename and add a binary", tree, [repo.get_git_commit(ref.object.sha)]
    )
    ref.edit(commit.sha)
    pull = repo.create_pull(base="main", head="topic", title="Files")

    files = {f.filename: f for f in pull.get_files()}

    assert {name: f.status for name, f in files.items()} == {
        "gone.txt": "removed",
        "logo.bin": "added",
        "new.txt": "added",
        "new_name.txt": "renamed",
    }
    assert files["new_name.txt"].previous_filename == "old_name.txt"
    assert files["new.txt"].patch == "@@ -0,0 +1 @@\n+hello"
    assert files["gone.txt"].patch == "@@ -1 +0,0 @@\n-bye"
    assert files["logo.bin"].patch is None
    assert (pull.additions, pull.deletions, pull.changed_files) == (1, 1, 4)


def test_a_very_large_file_diff_comes_without_its_patch(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    big = "".join(f"line {i}\n" for i in range(20_001))
    branch_with(repo, "huge", {"big.txt": big, "small.txt": "small\n"})
    pull = repo.create_pull(base="main", head="huge", title="Huge")

    files = {f.filename: f for f in pull.get_files()}

    assert files["big.txt"].patch is None
    assert files["big.txt"].additions == 20_001
    assert files["small.txt"].patch == "@@ -0,0 +1 @@\n+small"


def test_commits_of_a_pull_request_oldest_first(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n", "b.txt": "b\n"})
    pull = repo.create_pull(base="main", head="topic", title="Two commits")

    assert [c.commit.message for c in pull.get_commits()] == ["Add a.txt", "Add b.txt"]
    assert pull.commits == 2


@pytest.mark.parametrize(
    ("basehead", "status", "ahead", "behind"),
    [
        ("main...topic", "ahead", 1, 0),
        ("topic...main", "behind", 0, 1),
        ("main...main", "identical", 0, 0),
        ("other...topic", "diverged", 1, 1),
    ],
    ids=["ahead", "behind", "identical", "diverged"],
)
def test_compare_two_refs(
    world: World, basehead: str, status: str, ahead: int, behind: int
) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    branch_with(repo, "other", {"o.txt": "o\n"})
    base, _, head = basehead.partition("...")

    comparison = repo.compare(base, head)

    assert (comparison.status, comparison.ahead_by, comparison.behind_by) == (status, ahead, behind)
    assert [f.filename for f in comparison.files] == (["a.txt"] if ahead else [])


def test_compare_with_an_unknown_ref_is_not_found(world: World) -> None:
    assert api(world, "GET", "/compare/main...nowhere").status_code == 404


# --- merging --------------------------------------------------------------------------------


def test_squash_merge_writes_one_commit_with_the_title(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n", "b.txt": "b\n"})
    pull = repo.create_pull(base="main", head="topic", title="Add a and b")
    before = repo.get_git_ref("heads/main").object.sha

    result = pull.merge(merge_method="squash")

    commit = repo.get_git_commit(result.sha)
    assert [p.sha for p in commit.parents] == [before]
    assert commit.message.splitlines()[0] == f"Add a and b (#{pull.number})"
    assert "* Add a.txt" in commit.message
    assert repo.get_contents("b.txt", ref="main").decoded_content == b"b\n"
    assert pull.is_merged()


def test_conflicting_changes_are_not_mergeable(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"README.md": "# Mine\n"})
    readme = repo.get_contents("README.md", ref="main")
    assert not isinstance(readme, list)
    repo.update_file("README.md", "Theirs", "# Theirs\n", readme.sha, branch="main")
    pull = repo.create_pull(base="main", head="topic", title="Conflict")

    assert (pull.mergeable, pull.mergeable_state) == (False, "dirty")
    with pytest.raises(github.GithubException) as caught:
        pull.merge()
    assert (caught.value.status, caught.value.data["message"]) == (
        405,
        "Pull Request is not mergeable",
    )
    assert not pull.is_merged()


def test_a_closed_pull_request_cannot_be_merged(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Closed")
    pull.edit(state="closed")

    with pytest.raises(github.GithubException) as caught:
        pull.merge()

    assert caught.value.status == 405


def test_merged_pull_request_keeps_its_files(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Keep")
    pull.merge()

    again = repo.get_pull(pull.number)
    assert [f.filename for f in again.get_files()] == ["a.txt"]
    assert (again.state, again.merged, again.merged_by.login) == ("closed", True, world.user.login)


# --- closing keywords -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "closed"),
    [
        ("Fixes #1", [1]),
        ("closes #2 and resolves #3", [2, 3]),
        ("FIXED #4", [4]),
        ("Resolved: #5", [5]),
        ("close owner/repo#6", [6]),
        ("fixes other/repo#7", []),
        ("refs #8", []),
        ("prefix#9 fixes", []),
        ("fixes #10, fixes #10", [10]),
    ],
    ids=[
        "fixes",
        "two-keywords",
        "upper-case",
        "with-colon",
        "same-repo-name",
        "other-repo",
        "not-a-keyword",
        "no-keyword-before",
        "once",
    ],
)
def test_closing_keywords(body: str, closed: list[int]) -> None:
    assert closing_references(body, "owner/repo") == closed


def test_merging_into_the_default_branch_closes_linked_issues(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    fixed = repo.create_issue("Crash")
    other = repo.create_issue("Feature")
    branch_with(repo, "fix", {"a.txt": "a\n"})
    pull = repo.create_pull(
        base="main", head="fix", title="Fix", body=f"This resolves #{fixed.number}."
    )

    pull.merge()

    assert (repo.get_issue(fixed.number).state, repo.get_issue(fixed.number).state_reason) == (
        "closed",
        "completed",
    )
    assert repo.get_issue(other.number).state == "open"


def test_merging_elsewhere_leaves_linked_issues_open(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    issue = repo.create_issue("Crash")
    branch_with(repo, "develop", {"d.txt": "d\n"})
    branch_with(repo, "fix", {"a.txt": "a\n"}, base="develop")
    pull = repo.create_pull(base="develop", head="fix", title="Fix", body=f"Fixes #{issue.number}")

    pull.merge()

    assert repo.get_issue(issue.number).state == "open"


# --- reviewers ------------------------------------------------------------------------------


def test_request_list_and_remove_reviewers(
    sandbox: Sandbox, world: World, receiver: Receiver
) -> None:
    sandbox.set_app_webhook(world.app.id, receiver.url, "s")
    reviewer = sandbox.create_user(f"rev-{world.repo.name}")
    sandbox.set_role(world.repo.full_name, reviewer.login, "write")
    repo = world.user_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = repo.create_pull(base="main", head="topic", title="Review me")

    pull.create_review_request(reviewers=[reviewer.login])
    users, _ = pull.get_review_requests()
    assert [u.login for u in users] == [reviewer.login]
    pull.delete_review_request(reviewers=[reviewer.login])

    assert list(pull.get_review_requests()[0]) == []
    assert sandbox.wait_for_deliveries()
    requested = receiver.of("pull_request", "review_requested")[0].payload
    assert requested["requested_reviewer"]["login"] == reviewer.login
    assert len(receiver.of("pull_request", "review_request_removed")) == 1


@pytest.mark.parametrize("who", ["stranger", "author"])
def test_reviewers_must_be_collaborators_other_than_the_author(
    sandbox: Sandbox, world: World, who: str
) -> None:
    login = world.user.login
    if who == "stranger":
        login = sandbox.create_user(f"stranger-{world.repo.name}").login
    repo = world.app_gh.get_repo(world.repo.full_name)
    branch_with(repo, "topic", {"a.txt": "a\n"})
    pull = world.user_gh.get_repo(world.repo.full_name).create_pull(
        base="main", head="topic", title="T"
    )

    with pytest.raises(github.GithubException) as caught:
        pull.create_review_request(reviewers=[login])

    assert caught.value.status == 422
    assert ("collaborators" in caught.value.data["message"]) == (who == "stranger")
