"""The end-to-end demo: the GitHub sandbox and TechLead in one process, driven as people would.

:func:`run_demo` runs :data:`STAGES` in order on one :class:`DemoRun`; each stage is a
small function that does one thing and prints what happened. A later feature adds its
part by appending a stage (``open_pull_request``, ``show_check_runs``...). The building
blocks are shared with the end-to-end tests and the benchmark:

* :class:`LocalBot` serves the TechLead app (webhook intake and job worker) over real
  HTTP on 127.0.0.1 from a background thread;
* :class:`Person` acts on the sandbox's REST API with a user's token, as a browser would;
* :func:`wait_idle` returns once every webhook was delivered and every job has run.

No network and no GitHub account: everything listens on 127.0.0.1.
"""

from __future__ import annotations

import base64
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import uvicorn

from bot import features
from bot.app import Services, build_services, create_app
from bot.github import GitHubClient
from bot.jobs import JobState
from bot.metrics import Metrics
from bot.plan.checklist import PLAN_MARKER
from bot.plan.waves import plan_waves
from bot.plans import PlanRecord
from bot.sandbox import Sandbox, git_http
from bot.sandbox.app import RESOURCE_MODULES
from bot.sandbox.sandbox import SandboxApp
from bot.sandbox.server import ServerThread
from bot.settings import Settings
from bot.state import open_plan_store
from bot.worker import WorkerConfig

HOST = "127.0.0.1"
OWNER = "octo-org"
MAINTAINER = "octo-maintainer"
REPO_NAME = "shop-service"
APP_SLUG = "techlead"
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105 - a local demo value, not a credential
DEMO_PROJECT = Path(__file__).resolve().parent / "demo_project"
IDLE_TIMEOUT = 20.0
LABEL_MARK = "label → plan comment"
JOB_STEPS = (
    ("config", "config"),
    ("permission", "permission"),
    ("github_issue", "issue"),
    ("research_git", "research (git)"),
    ("research_agents", "research (agents)"),
    ("planning", "planning"),
    ("github_comment", "comment"),
)
TICK_MARK = "approve tick → approved"
POLL_SECONDS = 0.02
STARTUP_TIMEOUT = 10.0
_HIDDEN = re.compile(r"<!--.*?-->\n?", re.DOTALL)
_TAGS = re.compile(r"</?(?:sub|details|summary)>")
_APPROVE_BOX = re.compile(r"^(\s*[-*]\s+\[) (\].*techlead:control approve .*)$", re.MULTILINE)

ISSUE_TITLE = "Coupons: fixed-amount discounts at checkout"
ISSUE_BODY = """\
Customers ask for coupons that take a fixed amount off (like "5 EUR off"), not only a
percentage. Checkout must show the discounted total.

## Tasks

- [ ] Define the coupon API schema for `POST /carts/{id}/coupon` (high)
- [ ] Store coupons in the database with an expiry date (after 1)
- [ ] Compute fixed-amount discounts in the cart total (after 1, 2)
- [ ] Add tests for percentage and fixed-amount coupons (after 3)
- [ ] Document the coupon endpoint in docs/api.md (after 1)
"""


# ------------------------------------------------------------------------ building blocks


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBot:
    """The TechLead app (intake, router, worker, planning feature) on a local port."""

    def __init__(
        self,
        settings: Settings,
        github: GitHubClient,
        *,
        worker: WorkerConfig | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        composition = features.compose()
        self.settings = settings
        self.github = github
        self.services: Services = build_services(
            settings,
            github_factory=github.port,
            metrics=metrics,
            router=composition.router,
            jobs=composition.jobs,
            worker_config=worker or WorkerConfig(poll_seconds=0.1, grace_seconds=5.0),
        )
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, self.services),
            host=HOST,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="techlead", daemon=True)

    @property
    def webhook_url(self) -> str:
        return f"http://{HOST}:{self.port}/webhook"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"TechLead did not start on {self.webhook_url}")
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT)
        self.services.close()

    def idle(self) -> bool:
        """No job waits or runs (retries scheduled for later count as waiting)."""
        by_state = self.services.queue.stats().by_state
        waiting = by_state[JobState.PENDING] or by_state[JobState.RUNNING]
        # A dead-lettered job is stored dead before its on_dead hook has written anything.
        return not waiting and not self.services.worker.busy()

    def plans(self) -> list[PlanRecord]:
        with open_plan_store(self.settings) as store:
            return store.records()

    def plan(self, repo: str, issue: int) -> PlanRecord:
        with open_plan_store(self.settings) as store:
            return store.load(repo, issue)


def app_settings(sandbox: Sandbox, app: SandboxApp, data_dir: Path, secret: str) -> Settings:
    """TechLead's settings as the sandbox ``app``, without write pacing (a local run)."""
    return Settings(
        webhook_secrets=(secret,),
        app_id=app.id,
        private_key=app.private_key_pem,
        api_url=sandbox.api_url,
        data_dir=data_dir,
        write_interval=0.0,
        bot_login=app.bot_login,
    )


def wait_idle(sandbox: Sandbox, bot: LocalBot, timeout: float = IDLE_TIMEOUT) -> bool:
    """True once the sandbox has delivered every webhook and the bot has run every job.

    A job's writes queue new deliveries before the job ends, and a delivery's jobs are
    stored before its 202 answer, so both being idle twice in a row means settled.
    """
    deadline = time.monotonic() + timeout
    settled = 0
    while time.monotonic() < deadline:
        left = max(deadline - time.monotonic(), 0.0)
        if sandbox.wait_for_deliveries(left) and bot.idle():
            settled += 1
            if settled == 2:
                return True
        else:
            settled = 0
        time.sleep(POLL_SECONDS)
    return False


def wait_for(check: Callable[[], bool], timeout: float = IDLE_TIMEOUT) -> bool:
    """Poll ``check`` until it holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


class Person:
    """Someone using GitHub (the sandbox) through its REST API with their own token."""

    def __init__(self, api_url: str, login: str, token: str) -> None:
        self.login = login
        self._http = httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
            timeout=15.0,
        )

    def call(self, verb: str, path: str, body: Any = None) -> Any:
        answer = self._http.request(verb, path, json=body)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def open_issue(self, repo: str, title: str, body: str) -> int:
        return int(
            self.call("POST", f"/repos/{repo}/issues", {"title": title, "body": body})["number"]
        )

    def label(self, repo: str, issue: int, label: str) -> None:
        self.call("POST", f"/repos/{repo}/issues/{issue}/labels", {"labels": [label]})

    def unlabel(self, repo: str, issue: int, label: str) -> None:
        self.call("DELETE", f"/repos/{repo}/issues/{issue}/labels/{label}")

    def comment(self, repo: str, issue: int, body: str) -> int:
        return int(
            self.call("POST", f"/repos/{repo}/issues/{issue}/comments", {"body": body})["id"]
        )

    def comments(self, repo: str, issue: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call(
            "GET", f"/repos/{repo}/issues/{issue}/comments?per_page=100"
        )
        return found

    def edit_comment(self, repo: str, comment_id: int, body: str) -> None:
        self.call("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", {"body": body})

    def edit_issue(self, repo: str, issue: int, **fields: Any) -> None:
        self.call("PATCH", f"/repos/{repo}/issues/{issue}", fields)

    def plan_comment(self, repo: str, issue: int) -> dict[str, Any] | None:
        return next(
            (c for c in self.comments(repo, issue) if c["body"].lstrip().startswith(PLAN_MARKER)),
            None,
        )

    def close(self) -> None:
        self._http.close()


def tick_approve(body: str) -> str:
    """``body`` with the approve box ticked, as a person clicking it would leave it."""
    return _APPROVE_BOX.sub(r"\1x\2", body, count=1)


def readable(body: str) -> str:
    """A checklist body for a terminal: hidden markers and HTML tags removed."""
    return _TAGS.sub("", _HIDDEN.sub("", body)).strip()


def sandbox_modules() -> tuple[Any, ...]:
    """The sandbox's resource modules plus git's smart HTTP (research clones over it)."""
    modules = tuple(RESOURCE_MODULES)
    return modules if git_http in modules else (*modules, git_http)


def copy_project(source: Path, target: Path) -> Path:
    """A clean copy of a project directory (no caches), ready to become a repository."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache")
    shutil.copytree(source, target, ignore=ignore)
    return target


# ------------------------------------------------------------------------------ the demo


@dataclass
class DemoRun:
    """What the stages share: where things live, who acts, and what was measured."""

    data_dir: Path
    out: TextIO
    sandbox: Sandbox | None = None
    github: GitHubClient | None = None
    bot: LocalBot | None = None
    maintainer: Person | None = None
    repo: str = f"{OWNER}/{REPO_NAME}"
    issue: int = 0
    comment_id: int = 0
    marks: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    app: Any = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def heading(self, text: str) -> None:
        self.say()
        self.say(f"== {text} ==")

    def require(self) -> tuple[Sandbox, LocalBot, Person]:
        assert self.sandbox and self.bot and self.maintainer, "an earlier stage did not run"
        return self.sandbox, self.bot, self.maintainer

    def settle(self) -> None:
        sandbox, bot, _ = self.require()
        if not wait_idle(sandbox, bot):
            raise RuntimeError("TechLead did not finish its work in time")


Stage = Callable[[DemoRun], None]


def start_sandbox(run: DemoRun) -> None:
    run.heading("Starting a local GitHub (the sandbox)")
    sandbox = Sandbox(run.data_dir / "github", modules=sandbox_modules())
    server = ServerThread(sandbox)
    server.start()
    run.cleanups.append(server.stop)
    run.sandbox = sandbox
    run.say(f"GitHub API at {sandbox.api_url}")


def create_accounts(run: DemoRun) -> None:
    sandbox = run.sandbox
    assert sandbox is not None
    run.heading("Creating people, the repository and the TechLead App")
    sandbox.create_user(OWNER, name="Octo Org")
    maintainer = sandbox.create_user(MAINTAINER, name="Octo Maintainer")
    source = copy_project(DEMO_PROJECT, run.data_dir / "project" / REPO_NAME)
    repo = sandbox.create_repo(OWNER, REPO_NAME, source=source, description="Carts and coupons")
    sandbox.set_role(repo.full_name, MAINTAINER, "write")
    run.app = sandbox.create_app(OWNER, APP_SLUG, name="TechLead")
    installation = sandbox.install_app(run.app.id, OWNER, repositories=[REPO_NAME])
    run.maintainer = Person(sandbox.api_url, maintainer.login, maintainer.token)
    run.cleanups.append(run.maintainer.close)
    files = sum(1 for path in source.rglob("*") if path.is_file())
    run.say(f"repository {repo.full_name}: {files} files from the sample project")
    run.say(f"@{MAINTAINER} has write access")
    run.say(f"App {run.app.slug} (id {run.app.id}) installed as installation {installation.id}")


def start_techlead(run: DemoRun) -> None:
    sandbox = run.sandbox
    assert sandbox is not None and run.app is not None
    run.heading("Starting TechLead (webhook server and job worker)")
    settings = app_settings(sandbox, run.app, run.data_dir / "techlead", WEBHOOK_SECRET)
    # The client reports to the app's metrics, which keep its rate-limit budget for the
    # dashboard, as ``techlead serve`` composes them.
    metrics = Metrics()
    run.github = GitHubClient(
        settings,
        on_request=metrics.record_github_request,
        on_rate_limit=metrics.set_rate_limit_remaining,
    )
    run.bot = LocalBot(settings, run.github, metrics=metrics)
    run.bot.start()
    run.cleanups.append(run.bot.stop)
    sandbox.set_app_webhook(run.app.id, run.bot.webhook_url, WEBHOOK_SECRET)
    run.say(f"webhooks of the App go to {run.bot.webhook_url}")


def open_issue(run: DemoRun) -> None:
    _, _, maintainer = run.require()
    run.heading(f"@{MAINTAINER} opens an issue")
    run.issue = maintainer.open_issue(run.repo, ISSUE_TITLE, ISSUE_BODY)
    run.say(f"#{run.issue} {ISSUE_TITLE}")
    run.say(ISSUE_BODY.rstrip())


def label_issue(run: DemoRun) -> None:
    sandbox, _, maintainer = run.require()
    run.heading(f"@{MAINTAINER} adds the label 'techlead'")
    started = time.perf_counter()
    maintainer.label(run.repo, run.issue, "techlead")
    if not wait_for(lambda: _plan_comment_exists(sandbox, run.repo, run.issue)):
        raise RuntimeError("no plan comment appeared")
    run.marks[LABEL_MARK] = time.perf_counter() - started
    run.settle()
    _, bot, _ = run.require()
    run.timings = dict(bot.plan(run.repo, run.issue).timings)


def show_plan(run: DemoRun) -> None:
    _, _, maintainer = run.require()
    comment = maintainer.plan_comment(run.repo, run.issue)
    assert comment is not None
    run.comment_id = int(comment["id"])
    run.heading("TechLead's plan comment (as GitHub shows it, hidden state left out)")
    run.say(readable(comment["body"]))


def approve_by_tick(run: DemoRun) -> None:
    _, _, maintainer = run.require()
    run.heading(f"@{MAINTAINER} ticks 'Approve this plan'")
    comment = maintainer.plan_comment(run.repo, run.issue)
    assert comment is not None
    started = time.perf_counter()
    maintainer.edit_comment(run.repo, run.comment_id, tick_approve(comment["body"]))
    run.settle()
    run.marks[TICK_MARK] = time.perf_counter() - started


def show_state(run: DemoRun) -> None:
    _, bot, maintainer = run.require()
    record = bot.plan(run.repo, run.issue)
    state = record.state.value if record.state else "none"
    run.heading("The plan after approval")
    run.say(f"plan store: version {record.plan.version if record.plan else 0}, state {state}")
    comment = maintainer.plan_comment(run.repo, run.issue)
    assert comment is not None
    run.say(_controls_section(readable(comment["body"])))


def gate_pull_request(run: DemoRun) -> None:
    """A pull request with an unused import and a shell call: the gates' check runs."""
    _, _, maintainer = run.require()
    run.heading(f"@{MAINTAINER} opens a pull request; TechLead's quality gates check it")
    branch, path = "coupon-lookup", "src/shop/coupon_lookup.py"
    code = (
        "import os\nimport subprocess\n\n\n"
        'def lookup(code):\n    return subprocess.run(f"grep {code} coupons.txt", shell=True)\n'
    )
    main = maintainer.call("GET", f"/repos/{run.repo}/git/ref/heads/main")["object"]["sha"]
    ref = {"ref": f"refs/heads/{branch}", "sha": main}
    maintainer.call("POST", f"/repos/{run.repo}/git/refs", ref)
    content = base64.b64encode(code.encode()).decode()
    change = {"message": "Look coupons up", "content": content, "branch": branch}
    maintainer.call("PUT", f"/repos/{run.repo}/contents/{path}", change)
    started = time.perf_counter()
    pull = {"title": "Coupon lookup", "head": branch, "base": "main"}
    head = maintainer.call("POST", f"/repos/{run.repo}/pulls", pull)["head"]["sha"]
    run.settle()
    run.marks["pull request → completed check runs"] = time.perf_counter() - started
    checks = maintainer.call("GET", f"/repos/{run.repo}/commits/{head}/check-runs")
    for check in sorted(checks["check_runs"], key=lambda item: item["name"]):
        run.say(f"{check['name']}: {check['conclusion']} · {check['output']['title']}")
        notes = maintainer.call("GET", f"/repos/{run.repo}/check-runs/{check['id']}/annotations")
        for note in notes:
            run.say(f"  {note['path']}:{note['start_line']} {note['title']}")


def summarise(run: DemoRun) -> None:
    _, bot, _ = run.require()
    assert run.github is not None
    record = bot.plan(run.repo, run.issue)
    run.heading("Summary")
    if record.plan is not None and record.findings is not None:
        waves = len(plan_waves(record.plan))
        run.say(
            f"plan: {len(record.plan.tasks)} tasks in {waves} waves, "
            f"from {record.findings.file_count} files researched"
        )
    for name, seconds in run.marks.items():
        run.say(f"{name}: {seconds:.2f} s")
        if name == LABEL_MARK:
            run.say(f"  planning job: {job_steps(run.timings)}")
    stats = run.github.stats
    run.say(f"GitHub requests made by TechLead: {stats.total()}")
    for (route, status), count in sorted(stats.counts().items()):
        run.say(f"  {count:>3}  {route} → {status}")


STAGES: tuple[Stage, ...] = (
    start_sandbox,
    create_accounts,
    start_techlead,
    open_issue,
    label_issue,
    show_plan,
    approve_by_tick,
    show_state,
    gate_pull_request,
    summarise,
)


def run_demo(data_dir: Path, out: TextIO, stages: Sequence[Stage] = STAGES) -> int:
    """Run the stages in order, then stop everything; 0 when every stage succeeded."""
    run = DemoRun(data_dir, out)
    started = time.perf_counter()
    try:
        for stage in stages:
            stage(run)
    finally:
        for cleanup in reversed(run.cleanups):
            cleanup()
    run.say()
    run.say(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    return 0


@contextmanager
def demo_dir(given: Path | None) -> Iterator[Path]:
    """``given`` (created if needed), or a temporary directory removed afterwards."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="techlead-demo-") as tmp:
        yield Path(tmp)


def job_steps(timings: dict[str, float]) -> str:
    """The planning job's recorded steps in the order they run, for people."""
    steps = [f"{label} {timings[key] * 1000:.0f} ms" for key, label in JOB_STEPS if key in timings]
    return " · ".join(steps)


def _plan_comment_exists(sandbox: Sandbox, repo: str, issue: int) -> bool:
    with sandbox.state.lock:
        comments = list(sandbox.repo(repo).comments.values())
    return any(c.issue_number == issue and c.body.startswith(PLAN_MARKER) for c in comments)


def _controls_section(body: str) -> str:
    start = body.find("### Controls")
    if start < 0:
        return body
    end = body.find("\n### ", start + 1)
    footer = body.find("\nPlan version", start + 1)
    stops = [index for index in (end, footer) if index > 0]
    return body[start : min(stops)].strip() if stops else body[start:].strip()
