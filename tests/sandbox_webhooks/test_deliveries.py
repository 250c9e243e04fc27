"""Webhook deliveries as a receiver and as the App's delivery log see them.

Real receivers on 127.0.0.1; the delivery log read with the App's JWT over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import httpx
import pytest

from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.server import ServerThread
from tests.conftest import World, build_world, make_github
from tests.sandbox_webhooks.support import SECRET, Receiver

pytestmark = pytest.mark.sandbox

APP_SECRET = "per-app-secret"


def jwt_headers(world: World) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {world.app_auth().token}",
        "Accept": "application/vnd.github+json",
    }


def app_api(world: World, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{world.api_url}{path}", headers=jwt_headers(world), timeout=30, **kwargs
    )


def logged(world: World, **params: str) -> list[dict[str, Any]]:
    """The App's delivery log (newest first) without the installation's own delivery."""
    found = app_api(world, "GET", "/app/hook/deliveries", params=params).json()
    return [item for item in found if item["event"] != "installation"]


def attempts(sandbox: Sandbox, world: World) -> list[Any]:
    return [d for d in sandbox.webhook_deliveries(world.app.id) if d.event != "installation"]


@pytest.fixture
def hooked(sandbox: Sandbox, world: World, receiver: Receiver) -> World:
    """The world's App sends its webhooks to the test's receiver."""
    sandbox.set_app_webhook(world.app.id, receiver.url, APP_SECRET)
    return world


@pytest.fixture
def down_url() -> Iterator[str]:
    """The URL of a receiver that is not running any more (connection refused)."""
    gone = Receiver()
    url = gone.start()
    gone.stop()
    yield url


def test_delivery_headers_are_githubs(sandbox: Sandbox, hooked: World, receiver: Receiver) -> None:
    hooked.user_gh.get_repo(hooked.repo.full_name).create_issue("Hello")
    assert sandbox.wait_for_deliveries()

    [got] = receiver.all()
    last = sandbox.webhook_deliveries(hooked.app.id)[-1]
    assert got.signed_with(APP_SECRET)
    assert got.headers["x-github-event"] == "issues"
    assert got.headers["x-github-delivery"] == last.guid
    assert got.headers["x-github-hook-id"] == str(last.hook_id)
    assert got.headers["x-github-hook-installation-target-type"] == "integration"
    assert got.headers["x-github-hook-installation-target-id"] == str(hooked.app.id)
    assert got.headers["user-agent"].startswith("GitHub-Hookshot/")
    assert got.headers["content-type"] == "application/json"
    assert got.payload["installation"] == {
        "id": hooked.installation.id,
        "node_id": got.payload["installation"]["node_id"],
    }
    assert (got.payload["sender"]["login"], got.payload["repository"]["full_name"]) == (
        hooked.user.login,
        hooked.repo.full_name,
    )


def test_an_apps_own_actions_are_delivered_with_a_bot_sender(
    sandbox: Sandbox, hooked: World, receiver: Receiver
) -> None:
    issue = hooked.app_gh.get_repo(hooked.repo.full_name).create_issue("From the bot")
    issue.create_comment("bot comment")
    assert sandbox.wait_for_deliveries()

    assert receiver.kinds() == [("issues", "opened"), ("issue_comment", "created")]
    assert {
        (r.payload["sender"]["login"], r.payload["sender"]["type"]) for r in receiver.all()
    } == {(hooked.app.bot_login, "Bot")}


def test_one_repositorys_deliveries_keep_their_order(
    sandbox: Sandbox, hooked: World, receiver: Receiver
) -> None:
    issue = hooked.user_gh.get_repo(hooked.repo.full_name).create_issue("Ordered")
    for number in range(12):
        issue.create_comment(f"comment {number}")
    assert sandbox.wait_for_deliveries()

    bodies = [r.payload["comment"]["body"] for r in receiver.of("issue_comment", "created")]
    assert bodies == [f"comment {number}" for number in range(12)]


class HeldReceiver(Receiver):
    """A receiver that answers only once ``release`` is set (a slow endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrived = threading.Event()

    def start(self) -> str:
        url = super().start()
        assert self._server is not None
        handler = self._server.RequestHandlerClass
        original = handler.do_POST  # type: ignore[attr-defined]
        held = self

        def do_post(handler_self: Any) -> None:
            held.arrived.set()
            held.release.wait(30)
            original(handler_self)

        handler.do_POST = do_post  # type: ignore[attr-defined]
        return url


def test_deliveries_do_not_hold_up_the_api(sandbox: Sandbox, world: World) -> None:
    slow = HeldReceiver()
    sandbox.set_app_webhook(world.app.id, slow.start(), APP_SECRET)
    try:
        repo = world.user_gh.get_repo(world.repo.full_name)
        first = repo.create_issue("First")
        assert slow.arrived.wait(10)
        second = repo.create_issue("Second, while the receiver is still busy")
        assert second.number == first.number + 1
        assert not sandbox.wait_for_deliveries(0.2)
    finally:
        slow.release.set()
        assert sandbox.wait_for_deliveries()
        slow.stop()
    assert [r.payload["issue"]["title"] for r in slow.all()] == [
        "First",
        "Second, while the receiver is still busy",
    ]


# --- failures are logged once, never retried ------------------------------------------------


def test_a_refused_connection_is_logged_as_failed_once(
    sandbox: Sandbox, world: World, down_url: str
) -> None:
    sandbox.set_app_webhook(world.app.id, down_url, APP_SECRET)
    world.user_gh.get_repo(world.repo.full_name).create_issue("Nobody listens")
    assert sandbox.wait_for_deliveries()

    [failed] = attempts(sandbox, world)
    assert (failed.status_code, failed.status, failed.redelivery) == (
        0,
        "failed to connect to host",
        False,
    )
    assert sandbox.wait_for_deliveries()
    assert len(attempts(sandbox, world)) == 1


def test_a_malformed_hook_url_fails_that_delivery_only(
    sandbox: Sandbox, world: World, receiver: Receiver
) -> None:
    sandbox.set_app_webhook(world.app.id, "http://[not a host/webhook", APP_SECRET)
    repo = world.user_gh.get_repo(world.repo.full_name)
    repo.create_issue("Lost")
    assert sandbox.wait_for_deliveries()
    sandbox.set_app_webhook(world.app.id, receiver.url, APP_SECRET)
    repo.create_issue("Delivered")
    assert sandbox.wait_for_deliveries()

    lost, delivered = attempts(sandbox, world)
    assert (lost.status_code, lost.redelivery) == (0, False)
    assert delivered.status_code == 200
    assert [r.payload["issue"]["title"] for r in receiver.all()] == ["Delivered"]


def test_an_error_answer_is_logged_with_its_status(sandbox: Sandbox, world: World) -> None:
    broken = Receiver(status=500)
    sandbox.set_app_webhook(world.app.id, broken.start(), APP_SECRET)
    try:
        world.user_gh.get_repo(world.repo.full_name).create_issue("Server error")
        assert sandbox.wait_for_deliveries()
    finally:
        broken.stop()

    [answered] = attempts(sandbox, world)
    assert (answered.status_code, answered.status) == (500, "Invalid HTTP Response: 500")
    assert len(broken.all()) == 1


# --- the App's delivery log -----------------------------------------------------------------


def test_the_log_lists_newest_first_and_pages_with_a_cursor(
    sandbox: Sandbox, hooked: World
) -> None:
    issue = hooked.user_gh.get_repo(hooked.repo.full_name).create_issue("Many")
    for number in range(4):
        issue.create_comment(f"c{number}")
    assert sandbox.wait_for_deliveries()
    expected = [d.id for d in reversed(sandbox.webhook_deliveries(hooked.app.id))]

    seen: list[int] = []
    url: str | None = f"{hooked.api_url}/app/hook/deliveries?per_page=2"
    while url:
        page = httpx.get(url, headers=jwt_headers(hooked), timeout=30)
        assert page.status_code == 200
        assert len(page.json()) <= 2
        seen += [item["id"] for item in page.json()]
        url = page.links.get("next", {}).get("url")

    assert seen == expected
    assert len(seen) == 6  # with the installation's own delivery


def test_one_delivery_shows_request_and_response(
    sandbox: Sandbox, hooked: World, receiver: Receiver
) -> None:
    hooked.user_gh.get_repo(hooked.repo.full_name).create_issue("Detail")
    assert sandbox.wait_for_deliveries()
    [item] = logged(hooked)

    detail = app_api(hooked, "GET", f"/app/hook/deliveries/{item['id']}").json()

    assert (detail["event"], detail["action"], detail["status_code"]) == ("issues", "opened", 200)
    assert detail["request"]["headers"]["X-GitHub-Delivery"] == item["guid"]
    assert detail["request"]["payload"] == receiver.all()[0].payload
    assert detail["response"]["payload"] == "ok"
    assert (detail["installation_id"], detail["repository_id"]) == (
        hooked.installation.id,
        hooked.repo.id,
    )


def test_the_log_filters_by_outcome(sandbox: Sandbox, world: World) -> None:
    broken = Receiver(status=502)
    sandbox.set_app_webhook(world.app.id, broken.start(), APP_SECRET)
    try:
        repo = world.user_gh.get_repo(world.repo.full_name)
        repo.create_issue("fails")
        assert sandbox.wait_for_deliveries()
        broken.status = 200
        repo.create_issue("works")
        assert sandbox.wait_for_deliveries()
    finally:
        broken.stop()

    failures = logged(world, status="failure")
    successes = logged(world, status="success")
    assert [d["status_code"] for d in failures] == [502]
    assert [d["status_code"] for d in successes] == [200]


def test_another_apps_delivery_is_not_found(
    sandbox: Sandbox, hooked: World, app_key: tuple[str, str]
) -> None:
    hooked.user_gh.get_repo(hooked.repo.full_name).create_issue("Mine")
    assert sandbox.wait_for_deliveries()
    [item] = logged(hooked)
    other = build_world(sandbox, hooked.api_url, app_key)

    assert app_api(other, "GET", f"/app/hook/deliveries/{item['id']}").status_code == 404
    assert app_api(other, "POST", f"/app/hook/deliveries/{item['id']}/attempts").status_code == 404
    user = httpx.get(
        f"{hooked.api_url}/app/hook/deliveries",
        headers={"Authorization": f"token {hooked.user.token}"},
    )
    assert user.status_code == 401


def test_redelivery_keeps_the_guid_and_is_marked(
    sandbox: Sandbox, world: World, down_url: str
) -> None:
    sandbox.set_app_webhook(world.app.id, down_url, APP_SECRET)
    world.user_gh.get_repo(world.repo.full_name).create_issue("Missed")
    assert sandbox.wait_for_deliveries()
    [failed] = logged(world)
    back = Receiver()
    sandbox.set_app_webhook(world.app.id, back.start(), APP_SECRET)
    try:
        answer = app_api(world, "POST", f"/app/hook/deliveries/{failed['id']}/attempts")
        assert answer.status_code == 202
        assert sandbox.wait_for_deliveries()
    finally:
        back.stop()

    [again] = back.all()
    assert again.guid == failed["guid"]
    assert again.signed_with(APP_SECRET)
    newest, oldest = logged(world)
    assert (newest["guid"], newest["redelivery"], newest["status_code"]) == (
        failed["guid"],
        True,
        200,
    )
    assert (oldest["id"], oldest["redelivery"], oldest["status_code"]) == (failed["id"], False, 0)


def test_hook_config_moves_deliveries(sandbox: Sandbox, world: World, receiver: Receiver) -> None:
    updated = app_api(
        world, "PATCH", "/app/hook/config", json={"url": receiver.url, "secret": "rotated"}
    )
    assert updated.json() == {
        "url": receiver.url,
        "content_type": "json",
        "secret": "********",
        "insecure_ssl": "0",
    }

    world.user_gh.get_repo(world.repo.full_name).create_issue("To the new URL")
    assert sandbox.wait_for_deliveries()

    [got] = receiver.all()
    assert got.signed_with("rotated")
    assert app_api(world, "GET", "/app/hook/config").json()["url"] == receiver.url


# --- who gets what --------------------------------------------------------------------------


def test_an_app_receives_only_the_events_it_subscribed_to(
    sandbox: Sandbox, sandbox_api_url: str, app_key: tuple[str, str], receiver: Receiver
) -> None:
    owner = sandbox.create_user(f"picky-{len(sandbox.events)}")
    app = sandbox.create_app(owner.login, f"picky-{len(sandbox.events)}", public_key_pem=app_key[1])
    sandbox.set_app_webhook(app.id, receiver.url, APP_SECRET)
    sandbox.create_repo(owner.login, "repo", files={"README.md": "# r\n"})
    installation = sandbox.install_app(app.id, owner.login, events=["issue_comment"])
    gh = make_github(github.Auth.Token(owner.token), sandbox_api_url)
    try:
        issue = gh.get_repo(f"{owner.login}/repo").create_issue("Not for the App")
        issue.create_comment("for the App")
        assert sandbox.wait_for_deliveries()
    finally:
        gh.close()

    # installation events have no repository, so no order relative to the others
    assert sorted(receiver.kinds()) == [("installation", "created"), ("issue_comment", "created")]
    [installed] = receiver.of("installation", "created")
    created = installed.payload
    assert created["installation"]["id"] == installation.id
    assert [r["full_name"] for r in created["repositories"]] == [f"{owner.login}/repo"]


def test_a_repository_without_an_app_uses_the_sandbox_wide_hook(
    sandbox: Sandbox, sandbox_api_url: str, hook_receiver: Receiver
) -> None:
    owner = sandbox.create_user(f"plain-{len(sandbox.events)}")
    sandbox.create_repo(owner.login, "solo", files={"README.md": "# r\n"})
    gh = make_github(github.Auth.Token(owner.token), sandbox_api_url)
    try:
        gh.get_repo(f"{owner.login}/solo").create_issue("Repository hook")
        assert sandbox.wait_for_deliveries()
    finally:
        gh.close()

    [got] = [
        r
        for r in hook_receiver.of("issues", "opened")
        if r.payload["repository"]["full_name"] == f"{owner.login}/solo"
    ]
    assert "installation" not in got.payload
    assert got.headers["x-github-hook-installation-target-type"] == "repository"
    assert got.signed_with(SECRET)


def test_check_events_reach_only_the_app_that_owns_the_run(
    sandbox: Sandbox, hooked: World, receiver: Receiver, app_key: tuple[str, str]
) -> None:
    other = sandbox.create_app(
        hooked.user.login, f"other-{hooked.repo.name}", public_key_pem=app_key[1]
    )
    sandbox.install_app(other.id, hooked.user.login, repositories=[hooked.repo.name])
    elsewhere = Receiver()
    sandbox.set_app_webhook(other.id, elsewhere.start(), APP_SECRET)
    try:
        repo = hooked.app_gh.get_repo(hooked.repo.full_name)
        run = repo.create_check_run(
            "lint",
            hooked.repo.head_sha or "",
            conclusion="failure",
            actions=[{"label": "Fix", "description": "Apply the fixes", "identifier": "fix"}],
        )
        token = sandbox.installation_token(hooked.installation.id)
        rerequest = httpx.post(
            f"{hooked.api_url}/repos/{hooked.repo.full_name}/check-runs/{run.id}/rerequest",
            headers={"Authorization": f"token {token}"},
        )
        assert rerequest.status_code == 201
        sandbox.request_check_run_action(hooked.repo.full_name, run.id, "fix", hooked.user.login)
        assert sandbox.wait_for_deliveries()
    finally:
        elsewhere.stop()

    assert [k for k in receiver.kinds() if k[0] == "check_run"] == [
        ("check_run", "created"),
        ("check_run", "completed"),
        ("check_run", "rerequested"),
        ("check_run", "requested_action"),
    ]
    assert receiver.of("check_run", "requested_action")[0].payload["requested_action"] == {
        "identifier": "fix"
    }
    assert [k for k in elsewhere.kinds() if k[0].startswith("check")] == []


def test_the_admin_surface_marks_ready_and_waits_for_deliveries(
    sandbox: Sandbox, hooked: World, receiver: Receiver
) -> None:
    repo = hooked.user_gh.get_repo(hooked.repo.full_name)
    repo.create_git_ref("refs/heads/topic", hooked.repo.head_sha or "")
    repo.create_file("a.txt", "Add a", "a\n", branch="topic")
    pull = repo.create_pull(base="main", head="topic", title="Draft", draft=True)
    admin = f"{sandbox.base_url}/_sandbox"
    owner, name = hooked.repo.full_name.split("/")

    ready = httpx.post(f"{admin}/repos/{owner}/{name}/pulls/{pull.number}/ready", json={})
    draft = httpx.post(
        f"{admin}/repos/{owner}/{name}/pulls/{pull.number}/draft", json={"login": hooked.user.login}
    )
    waited = httpx.post(f"{admin}/webhooks/wait", json={"timeout": 10})
    missing = httpx.post(f"{admin}/repos/{owner}/{name}/pulls/999/ready", json={})

    assert (ready.status_code, draft.status_code) == (204, 204)
    assert waited.json() == {"drained": True, "pending": 0}
    assert missing.status_code == 400
    assert [k for k in receiver.kinds() if k[0] == "pull_request"][-2:] == [
        ("pull_request", "ready_for_review"),
        ("pull_request", "converted_to_draft"),
    ]
    assert repo.get_pull(pull.number).draft


def test_a_reset_sandbox_forgets_its_delivery_log(tmp_path: Path, receiver: Receiver) -> None:
    own = Sandbox(tmp_path / "fresh", clock=ManualClock())
    with ServerThread(own):
        owner = own.create_user("resetter")
        own.set_webhook(receiver.url, SECRET)
        own.create_repo(owner.login, "r", files={"README.md": "# r\n"})
        httpx.post(
            f"{own.api_url}/repos/resetter/r/issues",
            json={"title": "before the reset"},
            headers={"Authorization": f"token {owner.token}"},
        ).raise_for_status()
        assert own.wait_for_deliveries()
        assert [d.event for d in own.webhook_deliveries()] == ["issues"]

        own.reset()

        assert own.webhook_deliveries() == []
