"""Two ``techlead worker`` processes on one Redis, each with its own data dir (as if on two
machines), behind one webhook intake: a plan labelled, approved and executed to its
integration pull request, with one plan comment and one pull request per task.

Each worker loads and saves the plan and the execution record the other wrote (they live
in Redis, not in either data dir), so neither posts a second plan comment or opens a
second pull request for a task.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from bot import features
from bot.app import Services, build_services, create_app
from bot.demo import Person
from bot.features.execution.store import RunStore
from bot.plan.checklist import PLAN_MARKER
from bot.plan.model import PlanState
from bot.plans import PlanStore
from bot.sandbox import Sandbox
from bot.settings import Settings
from bot.state import close_clients, open_plan_store, open_run_store
from tests.execution.conftest import FILES, config_text
from tests.intake.serve_process import free_port, wait_for
from tests.queue_contract import redis_server
from tests.support.techlead import served_sandbox

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SECRET = "two-workers-webhook-secret"
REPO = "shop-owner/shop"
TIMEOUT = 150.0
BODY = """\
Coupons.

- [ ] Define the coupon schema
- [ ] Add the coupon database table
"""


@dataclass
class Intake:
    """The webhook server alone (no job runs here): deliveries go to the Redis queue."""

    services: Services
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.services.close()


def start_intake(settings: Settings) -> Intake:
    composition = features.compose()
    services = build_services(settings, router=composition.router, jobs=composition.jobs)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, services, start_worker=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="intake", daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the intake to listen")
    return Intake(services, server, thread, port)


def start_worker(env: dict[str, str], data: Path) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True)
    with (data / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            cwd=ROOT,
            env={**env, "TECHLEAD_DATA_DIR": str(data)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if not redis_server.available():
        pytest.skip(redis_server.MISSING)
    (tmp_path / "redis").mkdir()
    with redis_server.redis_server(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def world(
    tmp_path: Path, app_key: tuple[str, str], redis_url: str
) -> Iterator[tuple[Sandbox, dict[str, str], int]]:
    private_key, public_key = app_key
    with served_sandbox(tmp_path / "github") as sandbox:
        owner = sandbox.create_user("shop-owner")
        app = sandbox.create_app(owner.login, "techlead-two-workers", public_key_pem=public_key)
        repo = sandbox.create_repo(
            owner.login, "shop", files={**FILES, ".github/techlead.yml": config_text()}
        )
        sandbox.install_app(app.id, owner.login, repositories=[repo.name])
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "TECHLEAD_WEBHOOK_SECRET": SECRET,
            "TECHLEAD_QUEUE_URL": redis_url,
            "TECHLEAD_APP_ID": str(app.id),
            "TECHLEAD_PRIVATE_KEY": private_key,
            "TECHLEAD_BOT_LOGIN": app.bot_login,
            "TECHLEAD_GITHUB_API_URL": sandbox.api_url,
            "TECHLEAD_WRITE_INTERVAL": "0",
            "TECHLEAD_BACKGROUND_PRIORITY": "low",  # beside other tests (serve_process.py)
        }
        yield sandbox, env, app.id


def test_two_workers_on_two_data_dirs_share_one_plan_and_one_execution(
    world: tuple[Sandbox, dict[str, str], int], tmp_path: Path
) -> None:
    sandbox, env, app_id = world
    settings = Settings.from_env({**env, "TECHLEAD_DATA_DIR": str(tmp_path / "intake")})
    intake = start_intake(settings)
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    workers = [start_worker(env, data) for data in machines]
    try:
        sandbox.set_app_webhook(app_id, intake.url, SECRET)
        user = sandbox.create_user("maintainer")
        sandbox.set_role(REPO, user.login, "write")
        maintainer = Person(sandbox.api_url, user.login, user.token)
        issue = maintainer.open_issue(REPO, "Coupons at checkout", BODY)
        maintainer.label(REPO, issue, "techlead")
        wait_for(lambda: plan_comments(maintainer, issue), TIMEOUT, "the plan comment")
        maintainer.comment(REPO, issue, "/techlead approve")
        try:
            wait_for(lambda: done(settings, issue), TIMEOUT, "the plan to finish")
        except AssertionError as exc:
            logs = "\n".join((data / "worker.log").read_text()[-3000:] for data in machines)
            raise AssertionError(f"{exc}\n{logs}") from None

        assert len(plan_comments(maintainer, issue)) == 1, "one plan comment"
        with open_run_store(settings) as runs:
            run = runs.load(REPO, issue)
        pulls = maintainer.call("GET", f"/repos/{REPO}/pulls?state=all&per_page=100")
        heads = sorted(pull["head"]["ref"] for pull in pulls)
        assert heads == sorted({*heads}), "no branch has two pull requests"
        wanted = [run.integration_branch, *(task.branch for task in run.tasks.values())]
        assert heads == sorted(wanted) and len(run.tasks) == 2
        assert run.integration_pr is not None
        bodies = [str(c["body"]) for c in maintainer.comments(REPO, issue)]
        assert len(bodies) == len(set(bodies)), "no comment was posted twice"
        for data in machines:
            with PlanStore.open(data) as plans, RunStore.open(data) as local_runs:
                assert plans.records() == [] and local_runs.runs() == [], "nothing per machine"
        ran = [(data / "worker.log").read_text().count('"job_kind"') for data in machines]
        assert all(ran), f"both workers ran jobs: {ran}"
        maintainer.close()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        intake.stop()
        close_clients()


def plan_comments(person: Person, issue: int) -> list[dict[str, object]]:
    found = person.comments(REPO, issue)
    return [c for c in found if str(c["body"]).startswith(PLAN_MARKER)]


def done(settings: Settings, issue: int) -> bool:
    with open_plan_store(settings) as plans:
        plan = plans.load(REPO, issue).plan
    time.sleep(0.2)
    return plan is not None and plan.state is PlanState.DONE
