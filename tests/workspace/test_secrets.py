"""Credentials reach git only through per-command environment, never disk, logs or errors."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.errors import WorkspaceError
from bot.workspace import Identity, Workspace, auth_header
from tests.workspace.conftest import Remotes, Upstream, WorkspaceFactory

TOKEN = "ghs_FAKEtoken0123456789abcdefABCDEF"
CREDS = ("x-access-token", TOKEN)
SECRET_FORMS = (TOKEN, base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode())
AUTHOR = Identity("Ada", "ada@example.invalid")


def files_containing_secrets(root: Path) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and any(s.encode() in path.read_bytes() for s in SECRET_FORMS):
            hits.append(path)
    return hits


def assert_clean(text: str) -> None:
    for secret in SECRET_FORMS:
        assert secret not in text


@pytest.fixture
def authed(make_workspace: WorkspaceFactory) -> Workspace:
    return make_workspace(credentials=lambda repo: CREDS)


def test_a_full_round_of_work_leaves_no_token_on_disk_or_in_logs(
    authed: Workspace,
    upstream: Upstream,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # GitPython logs every command line at DEBUG
    main = authed.fetch("octo/app", ["main"])["main"]
    with authed.worktree("octo/app", main) as tree:
        (tree.path / "f.txt").write_text("f\n")
        sha = tree.commit_all("f", author=AUTHOR, trailers=[("TechLead-Task", "T1")])
        tree.push("techlead/T1", expected=None)
        gitfile = (tree.path / ".git").read_text()
        assert files_containing_secrets(tree.path) == []
    authed.remote_sha("octo/app", "techlead/T1")
    authed.cleanup()

    assert sha == upstream.branches()["techlead/T1"]
    assert gitfile.startswith("gitdir: ")
    assert_clean(gitfile)
    assert files_containing_secrets(tmp_path / "data") == []
    assert "git" in caplog.text  # logging did happen, and is clean
    assert_clean(caplog.text)
    out, err = capfd.readouterr()
    assert_clean(out + err)


class AuthRecorder(BaseHTTPRequestHandler):
    """Refuses every request like GitHub without valid credentials, keeping what it was sent."""

    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        body = f"Bad credentials for {self.headers.get('Authorization')}\n".encode()
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    AuthRecorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), AuthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/octo/app.git"
    server.shutdown()
    server.server_close()


def test_the_token_travels_as_a_basic_auth_header_and_failures_do_not_echo_it(
    authed: Workspace,
    remotes: Remotes,
    refusing_server: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    remotes.urls["octo/app"] = refusing_server

    with pytest.raises(WorkspaceError) as caught:
        authed.fetch("octo/app", ["main"])

    assert AuthRecorder.seen and set(AuthRecorder.seen) == {auth_header(CREDS).split(": ", 1)[1]}
    assert "authentication failed" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert_clean(str(caught.value))
    assert_clean(caplog.text)


def test_credentials_are_asked_for_on_every_network_command(
    make_workspace: WorkspaceFactory, upstream: Upstream
) -> None:
    asked: list[str] = []

    def provider(repo: str) -> tuple[str, str]:
        asked.append(repo)
        return ("x-access-token", f"token-{len(asked)}")

    workspace = make_workspace(credentials=provider)
    workspace.fetch("octo/app", ["main"])
    workspace.fetch("octo/app", ["main"])
    workspace.remote_sha("octo/app", "main")

    assert asked == ["octo/app"] * 3


def test_a_remote_url_with_credentials_is_refused(authed: Workspace, remotes: Remotes) -> None:
    remotes.urls["octo/app"] = f"https://x-access-token:{TOKEN}@github.com/octo/app.git"

    with pytest.raises(WorkspaceError, match="must not carry credentials") as caught:
        authed.fetch("octo/app", ["main"])
    assert_clean(str(caught.value))
