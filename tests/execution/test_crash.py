"""kill -9 of ``techlead serve`` at random moments while a plan executes, then restart.

The sandbox GitHub runs in this process; ``techlead serve`` runs as a real subprocess in
App mode (jobs on threads, the missed-deliveries sweep on). The test kills it several
times while tasks run, restarts it on the same data directory and port, and checks that
the plan completes with exactly one branch and one pull request per task, one
integration pull request and one plan comment.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import Person
from bot.features.execution.store import RunStore
from bot.plan.checklist import PLAN_MARKER
from bot.plans import PlanStore
from bot.sandbox import Sandbox
from tests.execution.conftest import FILES, config_text
from tests.intake.conftest import SECRET
from tests.intake.serve_process import ServeProcess, wait_for
from tests.support.techlead import served_sandbox

pytestmark = pytest.mark.slow
TIMEOUT = 120.0
KILLS = 3
BODY = """\
Coupons.

- [ ] Define the coupon schema
- [ ] Add the coupon database table
- [ ] Document the cart
- [ ] Apply coupons to the cart (after 1, 2)
"""


@pytest.fixture
def world(tmp_path: Path, app_key: tuple[str, str]) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    private_key, public_key = app_key
    with served_sandbox(tmp_path / "github") as sandbox:
        owner = sandbox.create_user("shop-owner")
        app = sandbox.create_app(owner.login, "techlead-exec-crash", public_key_pem=public_key)
        repo = sandbox.create_repo(
            owner.login, "shop", files={**FILES, ".github/techlead.yml": config_text()}
        )
        sandbox.install_app(app.id, owner.login, repositories=[repo.name])
        env = {
            "TECHLEAD_APP_ID": str(app.id),
            "TECHLEAD_PRIVATE_KEY": private_key,
            "TECHLEAD_BOT_LOGIN": app.bot_login,
            "TECHLEAD_GITHUB_API_URL": sandbox.api_url,
            "TECHLEAD_WRITE_INTERVAL": "0",
        }
        sandbox.set_app_webhook(app.id, None, SECRET)
        yield sandbox, {**env, "APP_ID": str(app.id)}


def start(data: Path, env: dict[str, str], port: int | None = None) -> ServeProcess:
    serve_env = {key: value for key, value in env.items() if key != "APP_ID"}
    args = ["--workers", "0", "--threads", "6", "--sweep-every", "0.02"]
    server = ServeProcess(data, plugins="", extra_args=args, extra_env=serve_env)
    if port is not None:
        server.port = port
    return server.start()


def done(data: Path, issue: int) -> bool:
    with PlanStore.open(data) as plans:
        plan = plans.load("shop-owner/shop", issue).plan
    return plan is not None and plan.state.value == "done"


def test_kill_9_at_random_moments_mid_plan_completes_without_duplicates(
    world: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    sandbox, env = world
    data = tmp_path / "data"
    servers = [start(data, env)]
    chance = random.Random(20261206)
    try:
        sandbox.set_app_webhook(int(env["APP_ID"]), f"{servers[0].url}/webhook", SECRET)
        user = sandbox.create_user("maintainer")
        sandbox.set_role("shop-owner/shop", user.login, "write")
        maintainer = Person(sandbox.api_url, user.login, user.token)
        issue = maintainer.open_issue("shop-owner/shop", "Coupons at checkout", BODY)
        maintainer.label("shop-owner/shop", issue, "techlead")
        wait_for(lambda: _plan_comment(maintainer, issue) is not None, TIMEOUT, "the plan")
        maintainer.comment("shop-owner/shop", issue, "/techlead approve")
        mid_task = 0
        for _ in range(KILLS):
            time.sleep(chance.uniform(0.3, 2.0))
            servers[-1].kill()
            mid_task += _in_flight(data, issue)
            servers.append(start(data, env, port=servers[-1].port))
        last = servers[-1]
        try:
            wait_for(lambda: done(data, issue), TIMEOUT, "the plan to finish after the kills")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {last.jobs()}\n{last.log()[-4000:]}") from None

        assert mid_task, "no kill landed while a task was under way"
        with RunStore.open(data) as runs:
            run = runs.load("shop-owner/shop", issue)
        pulls = maintainer.call("GET", "/repos/shop-owner/shop/pulls?state=all&per_page=100")
        heads = [p["head"]["ref"] for p in pulls]
        assert sorted(heads) == sorted({*heads}), heads  # no branch has two pull requests
        assert sorted(heads) == sorted(
            [run.integration_branch, *(t.branch for t in run.tasks.values())]
        )
        assert all("try" not in head for head in heads)
        comments = maintainer.comments("shop-owner/shop", issue)
        plan_comments = [c for c in comments if str(c["body"]).startswith(PLAN_MARKER)]
        assert len(plan_comments) == 1
        bodies = [str(c["body"]) for c in comments]
        assert len(bodies) == len(set(bodies)), bodies
        maintainer.close()
    finally:
        for server in servers:
            server.stop()


def _plan_comment(person: Person, issue: int) -> dict[str, object] | None:
    found = [
        c
        for c in person.comments("shop-owner/shop", issue)
        if str(c["body"]).startswith(PLAN_MARKER)
    ]
    return found[0] if found else None


def _in_flight(data: Path, issue: int) -> bool:
    with RunStore.open(data) as runs:
        run = runs.load("shop-owner/shop", issue)
    return any(task.phase.in_flight for task in run.tasks.values())
