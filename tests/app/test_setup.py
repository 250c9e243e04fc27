"""Registering the GitHub App through /setup: the manifest flow end to end against the sandbox.

The browser's part (posting the manifest to GitHub and confirming) is played by
``bot.sandbox.manifests.confirm``; everything else is real HTTP on 127.0.0.1: the
TechLead app's pages, GitHub's redirect back, and the code's exchange.
"""

from __future__ import annotations

import html
import json
import re
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from structlog.testing import capture_logs

from bot.app import create_app
from bot.app_setup import CREDENTIALS_FILE, PRIVATE_KEY_FILE, Target, load_manifest
from bot.sandbox import Sandbox, manifests, webhooks
from bot.sandbox.server import free_port
from bot.settings import Settings
from tests.support.techlead import served_sandbox

pytestmark = pytest.mark.sandbox

_FORM = re.compile(
    r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="manifest" value="([^"]+)">'
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("setup-sandbox")) as served:
        served.create_user("octo-admin")
        yield served


@dataclass
class Served:
    url: str
    data_dir: Path
    http: httpx.Client


@pytest.fixture
def techlead(tmp_path: Path) -> Iterator[Served]:
    """The TechLead app with no App credentials yet, served on a local port."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, write_interval=0.0)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, start_worker=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=15) as http:
        yield Served(url, data_dir, http)
    server.should_exit = True
    thread.join(10)
    app_services = config.app.state.services  # type: ignore[attr-defined]
    app_services.close()


def confirm_form(techlead: Served, sandbox: Sandbox) -> tuple[str, dict[str, object]]:
    """The second /setup page's form: where it posts, and the manifest it carries."""
    page = techlead.http.get("/setup", params={"github": sandbox.base_url})
    assert page.status_code == 200, page.text
    found = _FORM.search(page.text)
    assert found is not None, page.text
    return html.unescape(found.group(1)), json.loads(html.unescape(found.group(2)))


def state_of(action: str) -> str:
    return action.split("state=", 1)[1]


def test_the_first_page_shows_what_the_app_asks_for(techlead: Served) -> None:
    page = techlead.http.get("/setup")
    assert page.status_code == 200
    assert "contents: write" in page.text and "pull_request_review" in page.text
    assert f"{techlead.url}/webhook" in page.text


def test_registering_stores_working_credentials_readable_by_the_owner_only(
    techlead: Served, sandbox: Sandbox
) -> None:
    action, manifest = confirm_form(techlead, sandbox)
    assert action.startswith(f"{sandbox.base_url}/settings/apps/new?state=")
    assert manifest["default_permissions"] == load_manifest()["default_permissions"]
    assert manifest["hook_attributes"] == {"url": f"{techlead.url}/webhook", "active": True}
    code = manifests.confirm(sandbox, manifest, "octo-admin")

    with capture_logs() as logged:
        done = techlead.http.get(
            "/setup/callback", params={"code": code, "state": state_of(action)}
        )

    assert done.status_code == 200, done.text
    stored = json.loads((techlead.data_dir / CREDENTIALS_FILE).read_text())
    key = (techlead.data_dir / PRIVATE_KEY_FILE).read_text()
    for path in (CREDENTIALS_FILE, PRIVATE_KEY_FILE):
        assert stat.S_IMODE((techlead.data_dir / path).stat().st_mode) == 0o600
    assert [entry["event"] for entry in logged] == ["github_app_registered"]
    for secret in (key.strip(), stored["webhook_secret"], stored["client_secret"]):
        assert secret not in done.text, "secrets stay in the files"
        assert secret not in repr(logged), "and out of the log"
    app = sandbox.state.apps[stored["id"]]
    assert app.permissions == manifest["default_permissions"]
    assert app.events == manifest["default_events"]
    hook = webhooks.service_of(sandbox.services).configs[app.id]
    assert (hook.url, hook.secret) == (f"{techlead.url}/webhook", stored["webhook_secret"])
    env = {
        "TECHLEAD_APP_ID": str(stored["id"]),
        "TECHLEAD_PRIVATE_KEY_PATH": str(techlead.data_dir / PRIVATE_KEY_FILE),
    }
    assert Settings.from_env(env).private_key == key.strip()
    assert f"TECHLEAD_APP_ID={stored['id']}" in done.text

    again = techlead.http.get("/setup")
    assert again.status_code == 409, "a second App is never registered"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"code": "abc", "state": "forged"}, 400),
        ({"state": "forged"}, 400),
    ],
    ids=["unknown-state", "no-code"],
)
def test_a_callback_without_a_state_we_issued_is_refused(
    techlead: Served, params: dict[str, str], status: int
) -> None:
    answer = techlead.http.get("/setup/callback", params=params)
    assert answer.status_code == status
    assert not (techlead.data_dir / CREDENTIALS_FILE).exists()


def test_a_used_or_unknown_code_stores_nothing(techlead: Served, sandbox: Sandbox) -> None:
    action, _ = confirm_form(techlead, sandbox)
    answer = techlead.http.get(
        "/setup/callback", params={"code": "never-issued", "state": state_of(action)}
    )
    assert answer.status_code == 502
    assert "HTTP 404" in answer.text
    assert not (techlead.data_dir / CREDENTIALS_FILE).exists()


@pytest.mark.parametrize(
    ("web", "org", "api", "new_app"),
    [
        (
            "https://github.com",
            "",
            "https://api.github.com",
            "https://github.com/settings/apps/new",
        ),
        (
            "https://ghe.example.com/",
            "platform",
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/organizations/platform/settings/apps/new",
        ),
    ],
    ids=["github.com", "ghes-organization"],
)
def test_where_the_manifest_goes(web: str, org: str, api: str, new_app: str) -> None:
    target = Target.parse(web, org)
    assert target.api == api
    assert target.new_app_url("s1") == f"{new_app}?state=s1"


@pytest.mark.parametrize(
    "web", ["ftp://github.com", "http://github.com", "https://user:pw@ghe.example.com"]
)
def test_an_unsafe_github_address_is_refused(techlead: Served, web: str) -> None:
    answer = techlead.http.get("/setup", params={"github": web})
    assert answer.status_code == 400
