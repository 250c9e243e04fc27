"""Credentials: personal tokens, App JWTs and installation tokens, and what each may do."""

from __future__ import annotations

import time
from collections.abc import Callable

import github
import httpx
import jwt
import pytest

from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.keys import generate_key_pair
from tests.conftest import World, unique

pytestmark = pytest.mark.sandbox


def _call(
    api_url: str, path: str, token: str, method: str = "GET", **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    return httpx.request(method, api_url + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def _jwt(world: World, sandbox: Sandbox, *, iat: float, exp: float, key: str | None = None) -> str:
    claims = {"iat": int(iat), "exp": int(exp), "iss": str(world.app.id)}
    return jwt.encode(claims, key or world.private_key, algorithm="RS256")


def test_user_token_reads_the_authenticated_user(world: World) -> None:
    me = world.user_gh.get_user()
    assert me.login == world.user.login
    assert me.name == "Repo Owner"


def test_wrong_token_is_bad_credentials(
    sandbox_api_url: str, github_for: Callable[[str], github.Github]
) -> None:
    with pytest.raises(github.BadCredentialsException) as caught:
        github_for("ghp_not-a-real-token").get_user().login  # noqa: B018
    assert caught.value.status == 401
    assert caught.value.data["message"] == "Bad credentials"


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset", "message"),
    [
        (-700, -60, "'Expiration time' claim ('exp') must be a numeric value"),
        (120, 400, "'Issued at' claim ('iat') must be an Integer"),
        (-30, 900, "'Expiration time' claim ('exp') is too far in the future"),
    ],
    ids=["expired", "iat-in-the-future", "exp-too-far"],
)
def test_bad_jwt_times_are_rejected(
    world: World, sandbox: Sandbox, iat_offset: int, exp_offset: int, message: str
) -> None:
    now = sandbox.clock.now()
    token = _jwt(world, sandbox, iat=now + iat_offset, exp=now + exp_offset)
    response = _call(sandbox.api_url, "/app", token)
    assert response.status_code == 401
    assert response.json()["message"].startswith(message)


def test_jwt_within_drift_and_max_lifetime_is_accepted(world: World, sandbox: Sandbox) -> None:
    now = sandbox.clock.now()
    token = _jwt(world, sandbox, iat=now + 50, exp=now + 590)
    response = _call(sandbox.api_url, "/app", token)
    assert response.status_code == 200
    assert response.json()["slug"] == world.app.slug


def test_jwt_signed_with_another_key_is_rejected(world: World, sandbox: Sandbox) -> None:
    other_private, _ = generate_key_pair()
    now = sandbox.clock.now()
    token = _jwt(world, sandbox, iat=now - 60, exp=now + 300, key=other_private)
    response = _call(sandbox.api_url, "/app", token)
    assert response.status_code == 401
    assert response.json()["message"] == "A JSON web token could not be decoded"


def test_app_jwt_reaches_only_app_endpoints(world: World, sandbox: Sandbox) -> None:
    now = sandbox.clock.now()
    token = _jwt(world, sandbox, iat=now - 60, exp=now + 300)
    response = _call(sandbox.api_url, f"/repos/{world.repo.full_name}/issues", token)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"


def test_personal_token_cannot_call_app_endpoints(world: World, sandbox: Sandbox) -> None:
    response = _call(sandbox.api_url, "/app", world.user.token)
    assert response.status_code == 401


def test_integration_lists_installations_and_mints_tokens(world: World) -> None:
    installation = world.integration.get_repo_installation(world.user.login, world.repo.name)
    assert installation.id == world.installation.id
    assert [i.id for i in world.integration.get_installations()] == [world.installation.id]
    token = world.integration.get_access_token(world.installation.id)
    assert token.token.startswith("ghs_")
    remaining = token.expires_at.timestamp() - time.time()
    assert 3500 < remaining <= 3600
    assert token.permissions["issues"] == "write"


def test_installation_token_cannot_read_the_user_endpoint(world: World, sandbox: Sandbox) -> None:
    token = sandbox.installation_token(world.installation.id)
    response = _call(sandbox.api_url, "/user", token)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"


def test_installation_token_expires_after_an_hour(world: World, sandbox: Sandbox) -> None:
    token = sandbox.installation_token(world.installation.id)
    path = f"/repos/{world.repo.full_name}/issues"
    assert _call(sandbox.api_url, path, token).status_code == 200
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(3601)
    response = _call(sandbox.api_url, path, token)
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


@pytest.mark.parametrize(
    ("private", "status"), [(False, 403), (True, 404)], ids=["public-repo", "private-repo"]
)
def test_installation_token_outside_its_repositories(
    world: World, sandbox: Sandbox, private: bool, status: int
) -> None:
    other = sandbox.create_repo(world.user.login, unique("elsewhere"), private=private)
    with pytest.raises(github.GithubException) as caught:
        world.app_gh.get_repo(other.full_name).create_issue("not mine")
    assert caught.value.status == status
    with sandbox.state.lock:
        assert sandbox.repo(other.full_name).issues == {}


def test_token_narrowed_to_fewer_permissions(world: World, sandbox: Sandbox) -> None:
    token = sandbox.installation_token(world.installation.id, permissions={"issues": "read"})
    path = f"/repos/{world.repo.full_name}/issues"
    assert _call(sandbox.api_url, path, token).status_code == 200
    response = _call(sandbox.api_url, path, token, "POST", json={"title": "x"})
    assert response.status_code == 403


def test_user_without_access_to_private_repo_sees_not_found(
    sandbox: Sandbox,
    world_factory: Callable[..., World],
    github_for: Callable[[str], github.Github],
) -> None:
    world = world_factory(private=True)
    stranger = sandbox.create_user(unique("stranger"))
    with pytest.raises(github.UnknownObjectException):
        github_for(stranger.token).get_repo(world.repo.full_name).id  # noqa: B018
