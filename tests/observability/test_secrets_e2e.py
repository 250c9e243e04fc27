"""No secret in any log line or stored record, over a whole orchestration with known secrets.

``techlead serve`` runs as a real subprocess (JSON log lines on stderr, its ``techlead
worker`` children writing to the same stream) against the GitHub sandbox served by this
process, with distinctive values for every secret it can be given: the webhook secret,
the App's private key (App mode) or a personal access token (token mode), the model
endpoint's key and the dashboard token. The sandbox mints the installation tokens. A
maintainer then does what the demo does: an issue, the label, approval, and the plan
carried out by the demo agent through task pull requests, gates, reviews and merges.
The model endpoint rejects the key and echoes it back, as real ones do, and the agent
prints its environment and its worktree's git configuration and commits them to the
task's pull request, as a hostile agent would.

Afterwards every log line, every file under the data directory (the SQLite store, the
git mirrors' and worktrees' ``.git/config``...), every row of every table of the store,
and everything TechLead wrote to the sandbox (issue and review comments, pull request
titles and bodies, check runs, statuses, every commit of every ref with its changes) is
searched for each secret, raw and base64-, URL- and basic-auth-encoded, and for anything
shaped like a GitHub token or a JWT. ``techlead demo`` gets the same search of its
console-format log file, its store and the repository it built.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot import demo
from bot.demo import (
    DEMO_PROJECT,
    ISSUE_BODY,
    ISSUE_TITLE,
    Person,
    copy_project,
    free_port,
)
from bot.demo_agent import roster_config
from bot.sandbox import Sandbox
from bot.sandbox.state import TokenKind
from tests.support.techlead import served_sandbox

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec-e2e-Kq7Zr2Lm9Vx4Pt6Wb3Nc8Jd5Hf1Yg"
LLM_API_KEY = "sk-e2e-Llm-Wm4Qz8Kx2Vt7Lr9Pb6Nc3Jd1Hf5"
DASHBOARD_TOKEN = "dash-e2e-Vt3Pb8Nc6Jd2Hf9Yg4Kq7Zr1Lm5"
OWNER = "octo-org"
MAINTAINER = "octo-maintainer"
BOT_USER = "shop-bot"
REPO_NAME = "shop-service"
START_TIMEOUT = 30.0
DONE_TIMEOUT = 120.0
QUIET_SECONDS = 3.0
QUIET_TIMEOUT = 60.0
POLL = 0.1


# ---------------------------------------------------------------------------- the world


class EchoingModel(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that refuses the key and quotes it, as real ones do."""

    seen: list[str] = []

    def do_POST(self) -> None:
        EchoingModel.seen.append(self.headers.get("Authorization", ""))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {key}.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test's own output is not under test."""


@pytest.fixture
def model_url() -> Iterator[str]:
    EchoingModel.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoingModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@dataclass
class Serve:
    """``python -m bot serve`` on a free port; stdout and stderr (its workers' too) in a file."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "serve.log"

    def start(self) -> None:
        command = [sys.executable, "-m", "bot", "serve", "--port", str(self.port), "--workers", "2"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=log)
        wait_until(self.healthy, START_TIMEOUT, "techlead serve to answer /healthz")

    def healthy(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"serve exited early:\n{self.log()[-3000:]}"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL)


@dataclass
class World:
    sandbox: Sandbox
    serve: Serve
    maintainer: Person
    repo: str
    secrets: dict[str, str]


def base_env(data_dir: Path, api_url: str, model_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(data_dir.parent / "home"),
        "PYTHONPATH": str(REPO),
        "TECHLEAD_DATA_DIR": str(data_dir),
        "TECHLEAD_GITHUB_API_URL": api_url,
        "TECHLEAD_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TECHLEAD_WRITE_INTERVAL": "0",
        "TECHLEAD_BACKGROUND_PRIORITY": "low",  # beside other tests (serve_process.py)
        "TECHLEAD_LOG_FORMAT": "json",
        "TECHLEAD_LLM_BASE_URL": model_url,
        "TECHLEAD_LLM_MODEL": "e2e-model",
        "TECHLEAD_LLM_API_KEY": LLM_API_KEY,
        "TECHLEAD_LLM_MAX_RETRIES": "0",
        "TECHLEAD_DASHBOARD_TOKEN": DASHBOARD_TOKEN,
    }


# The demo agent, after showing everything it can see: what an agent's code can read is
# what a hostile one would publish.
AGENT = """\
import json, os, pathlib, subprocess, sys
from bot.demo_agent import main

seen = json.dumps(dict(os.environ), indent=1, sort_keys=True)
git = subprocess.run(["git", "config", "--list", "--show-origin"], capture_output=True, text=True)
print(seen, git.stdout, git.stderr)
print(seen, file=sys.stderr)
task = os.environ.get("TECHLEAD_TASK_ID", "T")
notes = pathlib.Path("notes")
notes.mkdir(exist_ok=True)
(notes / f"seen-by-{task}.txt").write_text(seen + git.stdout)
sys.exit(main())
"""


def repo_config(agent: Path) -> str:
    """The demo project's settings, the model planner, and the agent for everyone."""
    own = (DEMO_PROJECT / ".github" / "techlead.yml").read_text(encoding="utf-8")
    roster = roster_config().replace("-m bot.demo_agent", str(agent))
    return own.replace("planning:\n", "planning:\n  planner: llm\n", 1) + roster


@pytest.fixture(params=["app", "token"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, app_key: tuple[str, str], model_url: str
) -> Iterator[World]:
    private_key, public_key = app_key
    with served_sandbox(tmp_path / "github") as sandbox:
        sandbox.create_user(OWNER)
        maintainer = sandbox.create_user(MAINTAINER)
        source = copy_project(DEMO_PROJECT, tmp_path / "project" / REPO_NAME)
        agent = tmp_path / "agent.py"
        agent.write_text(AGENT, encoding="utf-8")
        (source / ".github" / "techlead.yml").write_text(repo_config(agent), encoding="utf-8")
        repo = sandbox.create_repo(OWNER, REPO_NAME, source=source)
        sandbox.set_role(repo.full_name, MAINTAINER, "write")
        data_dir = tmp_path / "techlead"
        (tmp_path / "home").mkdir()
        env = base_env(data_dir, sandbox.api_url, model_url)
        secrets = {
            "webhook secret": WEBHOOK_SECRET,
            "model key": LLM_API_KEY,
            "dashboard token": DASHBOARD_TOKEN,
        }
        if request.param == "app":
            app = sandbox.create_app(OWNER, "techlead", public_key_pem=public_key)
            sandbox.install_app(app.id, OWNER, repositories=[REPO_NAME])
            env |= {
                "TECHLEAD_APP_ID": str(app.id),
                "TECHLEAD_PRIVATE_KEY": private_key,
                "TECHLEAD_BOT_LOGIN": app.bot_login,
            }
            secrets |= pem_lines(private_key)
        else:
            bot = sandbox.create_user(BOT_USER)
            sandbox.set_role(repo.full_name, BOT_USER, "write")
            env |= {"TECHLEAD_GITHUB_TOKEN": bot.token, "TECHLEAD_BOT_LOGIN": BOT_USER}
            secrets["personal access token"] = bot.token
        serve = Serve(data_dir, env)
        serve.start()
        if request.param == "app":
            sandbox.set_app_webhook(app.id, f"{serve.url}/webhook", WEBHOOK_SECRET)
        else:
            sandbox.set_webhook(f"{serve.url}/webhook", WEBHOOK_SECRET)
        person = Person(sandbox.api_url, maintainer.login, maintainer.token)
        try:
            yield World(sandbox, serve, person, repo.full_name, secrets)
        finally:
            person.close()
            serve.stop()


def pem_lines(private_key: str) -> dict[str, str]:
    """Each base64 line of the key: any one of them in a log is a leak."""
    body = [line for line in private_key.splitlines() if line and not line.startswith("-----")]
    return {f"private key line {index}": line for index, line in enumerate(body, 1)}


# ---------------------------------------------------------------------------- driving


def orchestrate(world: World) -> None:
    """Issue, label, plan, approve, and the plan carried out to the end."""
    person, repo = world.maintainer, world.repo
    issue = person.open_issue(repo, ISSUE_TITLE, ISSUE_BODY)
    person.label(repo, issue, "techlead")
    wait_until(lambda: plan_state(world, issue) == "awaiting approval", DONE_TIMEOUT, "a plan")
    person.comment(repo, issue, "/techlead approve")
    wait_until(lambda: plan_state(world, issue) in ("done", "cancelled"), DONE_TIMEOUT, "done")
    assert plan_state(world, issue) == "done", world.serve.log()[-3000:]
    ask_for_the_dashboard(world)
    settle(world)


def plan_state(world: World, issue: int) -> str:
    """The state word in the plan comment's heading (``… · done · v2``)."""
    comment = world.maintainer.plan_comment(world.repo, issue)
    if comment is None:
        return ""
    heading = next(line for line in comment["body"].splitlines() if line.startswith("## "))
    return heading.split(" · ")[1] if " · " in heading else ""


def ask_for_the_dashboard(world: World) -> None:
    """The dashboard with its token in the query and in a header (404 without one)."""
    url = f"{world.serve.url}/dashboard"
    httpx.get(url, params={"token": DASHBOARD_TOKEN}, timeout=10)
    httpx.get(url, headers={"Authorization": f"Bearer {DASHBOARD_TOKEN}"}, timeout=10)


def settle(world: World) -> None:
    """Every webhook delivered and the log quiet for a while: the remaining jobs ran."""
    assert world.sandbox.wait_for_deliveries(QUIET_TIMEOUT)
    deadline = time.monotonic() + QUIET_TIMEOUT
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = world.serve.log_path.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS:
            break
        time.sleep(POLL)
    world.serve.stop()


# ---------------------------------------------------------------------------- searching


def encodings(name: str, secret: str) -> dict[str, str]:
    """The secret and the encoded forms it could travel in, each named for the message."""
    raw = secret.encode()
    forms = {name: secret, f"{name} (URL-encoded)": urllib.parse.quote(secret, safe="")}
    for kind, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for offset in range(3):
            # Inside a longer base64 text the secret starts at any offset modulo 3: the
            # characters that depend only on the secret's own bytes are searched for.
            encoded = encode(b"\0" * offset + raw).decode()
            start = (offset * 8 + 5) // 6  # characters holding a pad bit
            forms[f"{name} ({kind}, offset {offset})"] = encoded[start:-4]
    basic = base64.b64encode(f"x-access-token:{secret}".encode()).decode()
    forms[f"{name} (basic auth)"] = basic[:-4]
    return {label: form for label, form in forms.items() if len(form) >= 16}


def store_rows(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Every row of every table of every SQLite database under the data directory."""
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.read_bytes()[:16] != b"SQLite format 3\x00":
            continue
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    yield f"{path.name}:{table}", repr(row)


def data_files(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Every file under the data directory as text (binary bytes kept as escapes)."""
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(data_dir)), path.read_bytes().decode("latin-1")


def sandbox_records(sandbox: Sandbox, full_name: str) -> Iterator[tuple[str, str]]:
    """What TechLead wrote to GitHub: comments, issues and pulls, checks, statuses, commits."""
    repo = sandbox.repo(full_name)
    with sandbox.state.lock:
        yield "issues and pulls", repr(list(repo.issues.values()))
        yield "issue comments", repr(list(repo.comments.values()))
        yield "check runs", repr(list(repo.check_runs.values()))
        yield "statuses", repr(list(repo.statuses))
        yield "pull requests, reviews, review comments", repr(repo.extensions)
    yield "commits", repo.git.text("log", "--all", "--patch", "--format=%H%n%B")


def the_log(world: World) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(world.serve.log().splitlines(), 1):
        yield f"serve.log line {number}", line


# Credentials whose values the test cannot know (the App's JWTs, tokens of any kind)
# still have a shape. https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/
SHAPES = {
    "a GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})"),
    "a JWT": re.compile(r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}"),
}


def leaks(secrets: dict[str, str], places: Iterator[tuple[str, str]]) -> list[str]:
    forms = {
        label: form
        for name, secret in secrets.items()
        for label, form in encodings(name, secret).items()
    }
    found = []
    for where, text in places:
        found += [
            shown(label, where, text, text.find(form))
            for label, form in forms.items()
            if form in text
        ]
        found += [
            shown(label, where, text, m.start())
            for label, shape in SHAPES.items()
            if (m := shape.search(text))
        ]
    return found


def shown(label: str, where: str, text: str, at: int) -> str:
    return f"{label} in {where}: ...{text[max(at - 80, 0) : at + 80]}..."


# ---------------------------------------------------------------------------- the test


def test_no_secret_reaches_a_log_line_or_a_stored_record(world: World) -> None:
    orchestrate(world)
    minted = [
        token.value
        for token in world.sandbox.state.tokens.values()
        if token.kind is TokenKind.INSTALLATION
    ]
    secrets = dict(world.secrets)
    secrets |= {f"installation token {index}": value for index, value in enumerate(minted, 1)}
    if "personal access token" not in secrets:
        assert minted, "TechLead never asked for an installation token"

    # The run really used every secret: the model got the key, GitHub the token, git the
    # clones, and the log has the lines of a whole orchestration.
    assert f"Bearer {LLM_API_KEY}" in EchoingModel.seen
    data_dir = world.serve.data_dir
    git_configs = [
        path
        for path in data_dir.rglob("config")
        if path.parent.name == ".git" or path.parent.suffix == ".git"
    ]
    log = world.serve.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    from_jobs = [line for line in lines if line.get("job_id") is not None]
    assert len(lines) > 100 and from_jobs and len(from_jobs) < len(lines), log[-2000:]

    commits = world.sandbox.repo(world.repo).git.text("log", "--all", "--name-only")
    assert "notes/seen-by-T1.txt" in commits, "the agent's view of its environment was not pushed"

    found = leaks(secrets, the_log(world))
    found += leaks(secrets, store_rows(data_dir))
    found += leaks(secrets, data_files(data_dir))
    found += leaks(secrets, sandbox_records(world.sandbox, world.repo))
    assert found == [], "\n".join(found[:20])
    assert git_configs, "no clone was made: the .git/config check proved nothing"


# ---------------------------------------------------------------------------- the search itself

ODD_SECRET = "s3cr3t/with+odd=chars and-a-space"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"error: the key {ODD_SECRET} was refused",
        '{"event": "x", "url": "https://h/?token=' + urllib.parse.quote(ODD_SECRET, safe="") + '"}',
        "content: " + b64(f"key = {ODD_SECRET}\n"),
        "content: " + b64(f"k = {ODD_SECRET}"),
        "content: " + b64(f"k={ODD_SECRET}"),
        "Authorization: Basic " + b64(f"x-access-token:{ODD_SECRET}"),
        base64.urlsafe_b64encode(f"..{ODD_SECRET}..".encode()).decode(),
    ],
    ids=[
        "raw",
        "url-encoded",
        "base64-offset-0",
        "base64-offset-1",
        "base64-offset-2",
        "basic-auth",
        "base64url",
    ],
)
def test_the_search_finds_a_secret_however_it_travels(text: str) -> None:
    assert leaks({"the secret": ODD_SECRET}, iter([("a place", text)])) != []


@pytest.mark.parametrize(
    "text",
    [
        "authorization: token ghs_" + "A1b2C3d4" * 5,
        "jwt=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMiLCJpYXQiOjE3fQ.c2lnbmF0dXJl",
    ],
    ids=["installation-token", "jwt"],
)
def test_the_search_finds_any_credential_by_its_shape(text: str) -> None:
    assert leaks({}, iter([("a place", text)])) != []


def test_the_search_finds_nothing_in_clean_text() -> None:
    clean = [("a place", "token [REDACTED] and " + b64("x-access-token:[REDACTED]"))]
    assert leaks({"the secret": ODD_SECRET}, iter(clean)) == []


# ---------------------------------------------------------------------------- the demo

DEMO_TIMEOUT = 150


def test_the_demo_log_holds_no_secret(tmp_path: Path) -> None:
    """``techlead demo``: its console-format log file, its store and the repository it built.

    The demo mints its App key inside its own process, so besides its webhook secret the
    search is by shape: a private key block, a GitHub token, a JWT.
    """
    data_dir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = (data_dir / "techlead.log").read_text(encoding="utf-8")
    assert log.count("\n") > 100 and "delivery_routed" in log

    def places() -> Iterator[tuple[str, str]]:
        yield "the demo's terminal output", done.stdout + done.stderr
        for number, line in enumerate(log.splitlines(), 1):
            yield f"techlead.log line {number}", line
        yield from store_rows(data_dir / "techlead")
        yield from data_files(data_dir / "techlead")
        for bare in sorted((data_dir / "github").rglob("*.git")):
            patch = ["git", "-C", str(bare), "log", "--all", "--patch", "--format=%H%n%B"]
            yield bare.name, subprocess.run(patch, capture_output=True, text=True).stdout

    found = leaks({"webhook secret": demo.WEBHOOK_SECRET}, places())
    found += [f"a private key in {where}" for where, text in places() if "PRIVATE KEY" in text]
    assert found == [], "\n".join(found[:20])
