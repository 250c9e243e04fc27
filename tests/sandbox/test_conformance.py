"""Every request and response is checked against GitHub's REST API description."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import github
import httpx
import pytest

from bot.errors import SandboxError
from bot.sandbox import ManualClock, Sandbox, builders, users
from bot.sandbox.conformance import SPEC_PATH, Spec
from bot.sandbox.permissions import APP_ONLY, APP_PERMISSIONS, USER_ROLES
from bot.sandbox.routing import Ctx, Router
from bot.sandbox.server import ServerThread
from tests.conftest import World

pytestmark = pytest.mark.sandbox

FIXTURE_SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "rest-api.json"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec.load()


def _module(name: str, router: Router) -> types.ModuleType:
    module = types.ModuleType(name)
    module.router = router  # type: ignore[attr-defined]
    return module


def test_shipped_description_is_the_fixture_copy() -> None:
    assert SPEC_PATH.read_bytes() == FIXTURE_SPEC.read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/api/v3/nope", "/api/v3/repos/a/b/issues/1/no-such-thing", "/api/v3/repos/a/b/issues/x"],
    ids=["unknown-root", "unknown-subresource", "non-numeric-number"],
)
def test_unknown_operation_is_github_404(world: World, sandbox: Sandbox, path: str) -> None:
    response = httpx.get(
        f"{sandbox.base_url}{path}", headers={"Authorization": f"token {world.user.token}"}
    )
    assert response.status_code == 404
    assert response.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }


def test_wrong_method_is_404_like_github(world: World, sandbox: Sandbox) -> None:
    response = httpx.put(
        f"{sandbox.api_url}/repos/{world.repo.full_name}/issues",
        headers={"Authorization": f"token {world.user.token}"},
        json={},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"body": "no title"}, 'Invalid request.\n\n"title" wasn\'t supplied.', "title"),
        (
            {"title": "t", "labels": "bug"},
            "Invalid request.\n\nFor 'properties/labels', \"bug\" is not an array.",
            "labels",
        ),
        (
            {"title": "t", "assignees": [1]},
            "Invalid request.\n\nFor 'properties/assignees/0', 1 is not a string.",
            "assignees.0",
        ),
    ],
    ids=["missing-title", "labels-not-array", "assignee-not-string"],
)
def test_invalid_body_is_422_in_github_shape(
    world: World, sandbox: Sandbox, body: dict[str, Any], message: str, field: str
) -> None:
    response = httpx.post(
        f"{sandbox.api_url}/repos/{world.repo.full_name}/issues",
        headers={"Authorization": f"token {world.user.token}"},
        json=body,
    )
    assert response.status_code == 422
    payload = response.json()
    assert payload["message"] == message
    assert payload["errors"][0]["field"] == field
    assert (
        payload["documentation_url"] == "https://docs.github.com/rest/issues/issues#create-an-issue"
    )
    assert payload["status"] == "422"
    with sandbox.state.lock:
        assert sandbox.repo(world.repo.full_name).issues == {}


def test_empty_label_name_is_rejected_through_pygithub(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    with pytest.raises(github.GithubException) as caught:
        repo.create_label("", "ff0000")
    assert caught.value.status == 422
    assert caught.value.data["errors"][0] == {
        "resource": "Label",
        "code": "missing_field",
        "field": "name",
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"{not json", "Problems parsing JSON"), (b'"a string"', "Body should be a JSON object")],
    ids=["broken-json", "not-an-object"],
)
def test_unparseable_body_is_400(world: World, sandbox: Sandbox, raw: bytes, message: str) -> None:
    response = httpx.post(
        f"{sandbox.api_url}/repos/{world.repo.full_name}/issues",
        headers={"Authorization": f"token {world.user.token}"},
        content=raw,
    )
    assert (response.status_code, response.json()["message"]) == (400, message)


def test_invalid_query_parameter_is_422(world: World, sandbox: Sandbox) -> None:
    response = httpx.get(
        f"{sandbox.api_url}/repos/{world.repo.full_name}/issues?state=sideways",
        headers={"Authorization": f"token {world.user.token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "state"


def test_validator_reports_a_response_missing_a_required_field(tmp_path: Path) -> None:
    router = Router()

    @router.get("/users/{username}")
    def broken_user(ctx: Ctx) -> dict[str, Any]:
        user = ctx.state.user_by_login(ctx.params["username"])
        assert user is not None
        body = builders.public_user(ctx.urls, ctx.state, user)
        del body["login"]
        return body

    sandbox = Sandbox(
        tmp_path, clock=ManualClock(), strict=True, modules=[_module("broken", router)]
    )
    person = sandbox.create_user("mona")
    with ServerThread(sandbox) as url:
        response = httpx.get(
            f"{url}/api/v3/users/mona", headers={"Authorization": f"token {person.token}"}
        )
    assert response.status_code == 200
    [violation] = sandbox.violations
    assert violation.operation_id == "users/get-by-username"
    assert any("'login' is a required property" in problem for problem in violation.problems)


def test_correct_responses_record_no_violation(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, clock=ManualClock(), strict=True, modules=[users])
    person = sandbox.create_user("mona")
    with ServerThread(sandbox) as url:
        response = httpx.get(
            f"{url}/api/v3/users/mona", headers={"Authorization": f"token {person.token}"}
        )
    assert response.json()["login"] == "mona"
    assert sandbox.violations == []


def test_undocumented_route_cannot_be_registered(tmp_path: Path) -> None:
    router = Router()
    router.get("/repos/{owner}/{repo}/made-up")(lambda ctx: {})
    with pytest.raises(SandboxError, match="not an operation"):
        Sandbox(tmp_path, modules=[_module("made_up", router)])


def test_permission_table_names_only_documented_operations(spec: Spec) -> None:
    documented = set(spec.by_id)
    assert set(APP_PERMISSIONS) - documented == set()
    assert set(USER_ROLES) - documented == set()
    assert set(APP_PERMISSIONS) >= APP_ONLY


def test_every_repository_operation_has_an_app_permission(spec: Spec) -> None:
    jwt_only = {"apps/get-repo-installation"}
    repo_ops = {op.operation_id for op in spec.operations if op.template.startswith("/repos/")}
    assert repo_ops - set(APP_PERMISSIONS) - jwt_only == set()


def test_every_description_example_of_an_issue_validates(spec: Spec) -> None:
    example = spec.document["components"]["examples"]["issue"]["value"]
    op = spec.by_id["issues/get"]
    assert spec.response_problems(op, 200, json.loads(json.dumps(example))) == []


def test_commit_by_an_unknown_email_has_a_null_author(world: World, sandbox: Sandbox) -> None:
    # GitHub's description puts ``nullable`` beside a ``oneOf``; GitHub sends null here.
    repo = world.user_gh.get_repo(f"{world.repo.owner}/{world.repo.name}")
    stranger = github.InputGitAuthor("Nobody", "nobody@example.invalid")
    made = repo.create_file("notes.txt", "Add notes", "hello\n", author=stranger)
    commit = repo.get_commit(made["commit"].sha)
    assert commit.author is None
    assert commit.commit.author.email == "nobody@example.invalid"
    assert sandbox.violations == []
