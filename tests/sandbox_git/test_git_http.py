"""Clone, fetch and push over git's smart HTTP with sandbox tokens, and what a push records."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.git_http import RefUpdate, on_ref_updated
from bot.sandbox.state import Repo, State, User
from tests.conftest import World, build_world
from tests.support.gitcli import GitCli, clone_url

pytestmark = pytest.mark.sandbox


def basic(user: str, token: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def commit_file(git_cli: GitCli, checkout: Path, name: str, text: str) -> str:
    return git_cli.commit(checkout, {name: text}, f"Add {name}")


def clone(git_cli: GitCli, sandbox: Sandbox, world: World, target: Path, token: str) -> Path:
    """A checkout of the world's repository at ``target``, cloned with ``token``."""
    git_cli.ok("clone", "-q", clone_url(sandbox, world), str(target), token=token)
    return target


def push_events(sandbox: Sandbox, repo_id: int) -> list[dict[str, object]]:
    urls = sandbox.urls
    return [
        {**event.body(urls), "sender_id": event.sender_id}
        for event in sandbox.events
        if event.name == "push" and event.repo_id == repo_id
    ]


@pytest.mark.parametrize(
    "form",
    ["x-access-token", "login", "token-as-username"],
)
def test_clone_with_a_personal_token(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path, form: str
) -> None:
    token = world.user.token
    user, password = {
        "x-access-token": ("x-access-token", token),
        "login": (world.user.login, token),
        "token-as-username": (token, "x-oauth-basic"),
    }[form]
    target = tmp_path / "clone"

    git_cli.ok("clone", "-q", clone_url(sandbox, world), str(target), token=password, user=user)

    assert (target / "README.md").read_text() == "# Project\n"


def test_git_answers_the_basic_challenge_with_its_credential_helper(
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    git_cli: GitCli,
    tmp_path: Path,
) -> None:
    world = build_world(sandbox, sandbox_api_url, app_key, private=True)
    helper = f"!f() {{ echo username=x-access-token; echo password={world.user.token}; }}; f"
    target = tmp_path / "clone"

    git_cli.ok(
        "-c", f"credential.helper={helper}", "clone", "-q", clone_url(sandbox, world), str(target)
    )

    assert (target / "README.md").is_file()


def test_clone_and_fetch_with_an_installation_token(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    token = sandbox.installation_token(world.installation.id)
    target = clone(git_cli, sandbox, world, tmp_path / "clone", token)
    newer = (
        world.user_gh.get_repo(world.repo.full_name)
        .create_file("docs/new.md", "add docs", "new\n")["commit"]
        .sha
    )

    git_cli.ok("fetch", "-q", "origin", cwd=target, token=token)

    assert git_cli.ok("rev-parse", "origin/main", cwd=target) == newer


def test_push_with_a_personal_token_is_visible_through_the_rest_api(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    target = clone(git_cli, sandbox, world, tmp_path / "clone", world.user.token)
    sha = commit_file(git_cli, target, "feature.txt", "pushed over HTTP\n")

    git_cli.ok(
        "push", "-q", "origin", "HEAD:refs/heads/feature", cwd=target, token=world.user.token
    )

    repo = world.user_gh.get_repo(world.repo.full_name)
    assert repo.get_git_ref("heads/feature").object.sha == sha
    content = repo.get_contents("feature.txt", ref="feature")
    assert not isinstance(content, list)
    assert content.decoded_content == b"pushed over HTTP\n"


def test_push_with_an_installation_token_records_a_push_event_sent_by_the_bot(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    token = sandbox.installation_token(world.installation.id)
    target = clone(git_cli, sandbox, world, tmp_path / "clone", token)
    before = git_cli.ok("rev-parse", "HEAD", cwd=target)
    first = commit_file(git_cli, target, "a.txt", "a\n")
    second = commit_file(git_cli, target, "b.txt", "b\n")

    git_cli.ok("push", "-q", "origin", "HEAD:main", cwd=target, token=token)

    bot = sandbox.state.user_by_login(world.app.bot_login)
    assert bot is not None
    (event,) = push_events(sandbox, world.repo.id)
    assert event["sender_id"] == bot.id
    assert event["ref"] == "refs/heads/main"
    assert (event["before"], event["after"]) == (before, second)
    assert (event["created"], event["deleted"], event["forced"]) == (False, False, False)
    commits = event["commits"]
    assert isinstance(commits, list)
    assert [c["id"] for c in commits] == [first, second]
    assert [c["added"] for c in commits] == [["a.txt"], ["b.txt"]]
    assert event["head_commit"]["id"] == second  # type: ignore[index]
    assert event["pusher"] == {"name": bot.login, "email": bot.email}
    assert (
        world.app_gh.get_repo(world.repo.full_name).get_git_ref("heads/main").object.sha == second
    )


def test_new_forced_and_deleted_refs_are_reported_as_such(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    token = world.user.token
    target = clone(git_cli, sandbox, world, tmp_path / "clone", token)
    commit_file(git_cli, target, "x.txt", "x\n")
    git_cli.ok("push", "-q", "origin", "HEAD:refs/heads/topic", cwd=target, token=token)
    git_cli.ok("reset", "-q", "--hard", "HEAD~1", cwd=target)
    commit_file(git_cli, target, "y.txt", "y\n")
    git_cli.ok("push", "-q", "--force", "origin", "HEAD:refs/heads/topic", cwd=target, token=token)
    git_cli.ok("push", "-q", "origin", ":refs/heads/topic", cwd=target, token=token)

    flags = [
        (e["created"], e["forced"], e["deleted"], len(e["commits"]))  # type: ignore[arg-type]
        for e in push_events(sandbox, world.repo.id)
    ]

    assert flags == [(True, False, False, 1), (False, True, False, 1), (False, False, True, 0)]
    ref_events = [
        (event.name, event.body(sandbox.urls)["ref"])
        for event in sandbox.events
        if event.repo_id == world.repo.id and event.name in ("create", "delete")
    ]
    assert ref_events == [("create", "topic"), ("delete", "topic")]


def test_listeners_hear_every_ref_one_push_moved(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    heard: list[tuple[int, list[RefUpdate], str]] = []

    def listener(state: State, repo: Repo, updates: Sequence[RefUpdate], pusher: User) -> None:
        heard.append((repo.id, list(updates), pusher.login))

    on_ref_updated(sandbox, listener)
    token = world.user.token
    target = clone(git_cli, sandbox, world, tmp_path / "clone", token)
    sha = commit_file(git_cli, target, "z.txt", "z\n")

    git_cli.ok(
        "push",
        "-q",
        "origin",
        "HEAD:refs/heads/one",
        "HEAD:refs/heads/two",
        cwd=target,
        token=token,
    )

    mine = [entry for entry in heard if entry[0] == world.repo.id]
    assert mine == [
        (
            world.repo.id,
            [
                RefUpdate("refs/heads/one", "0" * 40, sha),
                RefUpdate("refs/heads/two", "0" * 40, sha),
            ],
            world.user.login,
        )
    ]


@pytest.mark.parametrize(
    ("permissions", "private", "clone_ok"),
    [
        ({"contents": "read"}, False, True),
        ({"contents": "read"}, True, True),
        ({"issues": "write"}, True, False),
    ],
    ids=["contents-read-public", "contents-read-private", "no-contents-private"],
)
def test_an_installation_without_contents_write_cannot_push(
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    git_cli: GitCli,
    tmp_path: Path,
    permissions: dict[str, str],
    private: bool,
    clone_ok: bool,
) -> None:
    world = build_world(sandbox, sandbox_api_url, app_key, permissions=permissions, private=private)
    token = sandbox.installation_token(world.installation.id)
    url, target = clone_url(sandbox, world), tmp_path / "clone"

    cloned = git_cli.run("clone", "-q", url, str(target), token=token)
    if not clone_ok:  # a checkout to push from, made by the owner
        git_cli.ok("clone", "-q", url, str(target), token=world.user.token)
    commit_file(git_cli, target, "denied.txt", "no\n")
    pushed = git_cli.run("push", "-q", "origin", "HEAD:main", cwd=target, token=token)

    assert (cloned.returncode == 0) is clone_ok
    assert pushed.returncode != 0
    assert "403" in pushed.stderr
    assert push_events(sandbox, world.repo.id) == []
    assert world.user_gh.get_repo(world.repo.full_name).get_git_ref("heads/main").object.sha == (
        world.repo.head_sha
    )


@pytest.mark.parametrize(
    ("role", "private", "expected"),
    [("read", False, "403"), ("triage", True, "403"), ("none", True, "not found")],
    ids=["reader-public", "triager-private", "stranger-private"],
)
def test_people_without_write_access_cannot_push(
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    git_cli: GitCli,
    tmp_path: Path,
    role: str,
    private: bool,
    expected: str,
) -> None:
    world = build_world(sandbox, sandbox_api_url, app_key, private=private)
    someone = sandbox.create_user(f"{world.user.login}-guest")
    sandbox.set_role(world.repo.full_name, someone.login, role)
    target = clone(git_cli, sandbox, world, tmp_path / "clone", world.user.token)
    commit_file(git_cli, target, "guest.txt", "guest\n")

    pushed = git_cli.run("push", "-q", "origin", "HEAD:main", cwd=target, token=someone.token)

    assert pushed.returncode != 0
    assert expected in pushed.stderr.lower()
    assert push_events(sandbox, world.repo.id) == []


@pytest.mark.parametrize(
    "token",
    ["ghp_doesnotexist000000000000000000000000", "not a token at all", ""],
    ids=["unknown-token", "garbage", "empty"],
)
def test_bad_credentials_are_refused_without_hanging(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path, token: str
) -> None:
    result = git_cli.run("ls-remote", clone_url(sandbox, world), token=token)

    assert result.returncode == 128
    assert "Authentication failed" in result.stderr or "could not read Username" in result.stderr


def test_an_expired_installation_token_is_refused(
    sandbox: Sandbox, world: World, git_cli: GitCli
) -> None:
    token = sandbox.installation_token(world.installation.id)
    assert git_cli.run("ls-remote", clone_url(sandbox, world), token=token).returncode == 0
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(3601)

    result = git_cli.run("ls-remote", clone_url(sandbox, world), token=token)

    assert result.returncode == 128


@pytest.mark.parametrize(
    ("path", "private", "status"),
    [
        ("info/refs?service=git-upload-pack", True, 401),
        ("info/refs?service=git-receive-pack", False, 401),
        ("info/refs?service=git-upload-pack", False, 200),
    ],
    ids=["private-read", "public-push", "public-read"],
)
def test_anonymous_requests_get_a_basic_challenge_unless_reading_public_code(
    sandbox: Sandbox,
    sandbox_api_url: str,
    app_key: tuple[str, str],
    path: str,
    private: bool,
    status: int,
) -> None:
    world = build_world(sandbox, sandbox_api_url, app_key, private=private)

    response = httpx.get(f"{clone_url(sandbox, world)}/{path}", timeout=10)

    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "HEAD"),
        ("GET", "info/refs"),
        ("GET", "objects/info/packs"),
        ("GET", "git-upload-pack"),
        ("POST", "info/refs?service=git-upload-pack"),
        ("GET", "info/refs?service=git-shell"),
    ],
    ids=["dumb-head", "no-service", "dumb-objects", "get-rpc", "post-refs", "other-service"],
)
def test_anything_but_the_smart_protocol_is_not_found(
    sandbox: Sandbox, world: World, method: str, path: str
) -> None:
    response = httpx.request(
        method, f"{clone_url(sandbox, world)}/{path}", headers=basic("x", world.user.token)
    )

    assert response.status_code == 404


def test_an_unknown_repository_is_not_found_for_a_signed_in_caller(
    sandbox: Sandbox, world: World
) -> None:
    url = f"{sandbox.base_url}/{world.user.login}/missing.git/info/refs?service=git-upload-pack"

    response = httpx.get(url, headers=basic("x-access-token", world.user.token))

    assert (response.status_code, response.text) == (404, "Repository not found.\n")


def pkt_line(text: str) -> bytes:
    return f"{len(text) + 4:04x}{text}".encode()


def test_gzip_encoded_requests_are_inflated(sandbox: Sandbox, world: World) -> None:
    want = world.repo.head_sha
    request = pkt_line(f"want {want}\n") + b"0000" + pkt_line("done\n")

    response = httpx.post(
        f"{clone_url(sandbox, world)}/git-upload-pack",
        content=gzip.compress(request),
        headers={
            **basic("x-access-token", world.user.token),
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
        },
        timeout=10,
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-git-upload-pack-result"
    assert b"PACK" in response.content


def test_the_api_is_untouched_and_conformant_after_git_traffic(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    before = len(sandbox.violations)
    clone(git_cli, sandbox, world, tmp_path / "clone", world.user.token)

    refs = world.user_gh.get_repo(world.repo.full_name).get_git_matching_refs("heads/")

    assert [ref.ref for ref in refs] == ["refs/heads/main"]
    assert sandbox.violations[before:] == []


def test_a_git_push_to_a_pull_request_head_synchronizes_it(
    sandbox: Sandbox, world: World, git_cli: GitCli, tmp_path: Path
) -> None:
    token = world.user.token
    target = clone(git_cli, sandbox, world, tmp_path / "clone", token)
    commit_file(git_cli, target, "one.txt", "1\n")
    git_cli.ok("push", "-q", "origin", "HEAD:refs/heads/topic", cwd=target, token=token)
    repo = world.user_gh.get_repo(world.repo.full_name)
    pull = repo.create_pull(base="main", head="topic", title="Topic")
    newer = commit_file(git_cli, target, "two.txt", "2\n")

    git_cli.ok("push", "-q", "origin", "HEAD:refs/heads/topic", cwd=target, token=token)

    assert repo.get_pull(pull.number).head.sha == newer
    synchronized = [
        event.body(sandbox.urls)
        for event in sandbox.events
        if event.repo_id == world.repo.id
        and (event.name, event.action) == ("pull_request", "synchronize")
    ]
    assert [(body["before"], body["after"]) for body in synchronized] == [(pull.head.sha, newer)]
