"""The scripting surface: /_sandbox HTTP endpoints and the ``techlead sandbox`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import github
import httpx
import pytest

from bot.sandbox import ManualClock, Sandbox
from bot.sandbox.server import ServerThread, free_port
from tests.conftest import make_github, make_integration

pytestmark = pytest.mark.sandbox


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(tmp_path / "data", clock=ManualClock(), strict=True)
    server = ServerThread(sandbox)
    url = server.start()
    yield sandbox, url
    server.stop()
    assert sandbox.violations == []


def test_whole_world_scripted_over_http(
    scripted: tuple[Sandbox, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _sandbox, url = scripted
    admin = httpx.Client(base_url=f"{url}/_sandbox", timeout=10)
    request.addfinalizer(admin.close)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n")

    user = admin.post("/users", json={"login": "mona", "name": "Mona"}).json()
    app = admin.post("/apps", json={"owner": "mona", "slug": "helper"}).json()
    repo = admin.post(
        "/repos", json={"owner": "mona", "name": "site", "source": str(tmp_path / "src")}
    ).json()
    installation = admin.post(
        "/installations",
        json={"app_id": app["id"], "account": "mona", "permissions": {"issues": "write"}},
    ).json()

    assert repo["full_name"] == "mona/site" and len(repo["head_sha"]) == 40
    auth = github.Auth.AppAuth(app["id"], app["private_key_pem"])
    bot = make_github(auth.get_installation_auth(installation["id"]), f"{url}/api/v3")
    person = make_github(github.Auth.Token(user["token"]), f"{url}/api/v3")
    integration = make_integration(auth, f"{url}/api/v3")
    for client in (bot, person, integration):
        request.addfinalizer(client.close)
    issue = bot.get_repo("mona/site").create_issue("Hello from the bot")
    assert issue.user.login == app["bot_login"]
    assert person.get_user().name == "Mona"
    assert integration.get_app().slug == "helper"

    events = [e for e in admin.get("/events").json() if e["event"] == "issues"]
    assert [e["action"] for e in events] == ["opened"]
    assert events[0]["payload"]["issue"]["title"] == "Hello from the bot"
    assert events[0]["payload"]["repository"]["full_name"] == "mona/site"
    assert events[0]["payload"]["sender"]["login"] == app["bot_login"]


def test_roles_faults_budgets_clock_and_reset(
    scripted: tuple[Sandbox, str], request: pytest.FixtureRequest
) -> None:
    sandbox, url = scripted
    admin = httpx.Client(base_url=f"{url}/_sandbox", timeout=10)
    request.addfinalizer(admin.close)
    owner = admin.post("/users", json={"login": "owner"}).json()
    reader = admin.post("/users", json={"login": "reader"}).json()
    admin.post("/repos", json={"owner": "owner", "name": "r", "files": {"a.txt": "a"}})
    assert admin.put("/repos/owner/r/roles/reader", json={"role": "triage"}).status_code == 204

    api = httpx.Client(base_url=f"{url}/api/v3", timeout=10)
    request.addfinalizer(api.close)
    auth = {"Authorization": f"token {owner['token']}"}
    permission = api.get("/repos/owner/r/collaborators/reader/permission", headers=auth).json()
    assert permission["role_name"] == "triage"

    fault = admin.post("/faults", json={"kind": "error", "path": "/user", "status": 503})
    assert fault.status_code == 201
    assert api.get("/user", headers=auth).status_code == 503
    assert api.get("/user", headers=auth).status_code == 200

    admin.put(f"/rate_limits/user:{reader['id']}", json={"limit": 10, "remaining": 0})
    limited = api.get("/user", headers={"Authorization": f"token {reader['token']}"})
    assert (limited.status_code, limited.headers["X-RateLimit-Remaining"]) == (403, "0")

    before = sandbox.clock.now()
    assert admin.post("/clock/advance", json={"seconds": 3700}).json()["now"] >= before + 3700
    recovered = api.get("/user", headers={"Authorization": f"token {reader['token']}"})
    assert recovered.status_code == 200

    assert admin.post("/reset").status_code == 204
    assert api.get("/user", headers=auth).status_code == 401


def test_admin_rejects_bad_requests(
    scripted: tuple[Sandbox, str], request: pytest.FixtureRequest
) -> None:
    _, url = scripted
    admin = httpx.Client(base_url=f"{url}/_sandbox", timeout=10)
    request.addfinalizer(admin.close)
    missing = admin.post("/users", json={})
    assert missing.status_code == 400 and "login" in missing.json()["message"]
    admin.post("/users", json={"login": "twice"})
    again = admin.post("/users", json={"login": "twice"})
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    unknown = admin.post("/faults", json={"kind": "meteor", "path": "/"})
    assert unknown.status_code == 400


@pytest.mark.slow
def test_command_serves_and_seeds(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        str(port),
        "--seed",
        "--data-dir",
        str(tmp_path),
        "--webhook-url",
        "http://127.0.0.1:9/hook",
        "--webhook-secret",
        "s3cret",
    ]
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).parents[2])}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert f"http://127.0.0.1:{port}/api/v3" in first
            seeded = json.loads("".join(iter(process.stdout.readline, "}\n")) + "}")
            response = _wait_for(seeded["api_url"] + "/user", seeded["user"]["token"])
            assert response.json()["login"] == seeded["user"]["login"]
            assert seeded["app"]["private_key_pem"].startswith("-----BEGIN RSA PRIVATE KEY-----")
            assert (tmp_path / "repos").is_dir()
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_for(url: str, token: str) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        try:
            return httpx.get(url, headers={"Authorization": f"token {token}"})
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the sandbox never started listening"
            time.sleep(0.1)


def test_command_refuses_half_a_webhook(tmp_path: Path) -> None:
    from bot.cli import main

    code = main(["sandbox", "--data-dir", str(tmp_path), "--webhook-url", "http://x/"], env={})
    assert code == 2


def test_a_data_dir_can_be_reused(tmp_path: Path) -> None:
    for _ in range(2):
        sandbox = Sandbox(tmp_path, clock=ManualClock())
        sandbox.create_user("mona")
        repo = sandbox.create_repo("mona", "site", files={"a.txt": "a"})
        assert repo.head_sha is not None
