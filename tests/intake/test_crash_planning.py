"""kill -9 in the middle of real planning: serve, or one of its worker processes.

The sandbox GitHub runs in this process; ``techlead serve`` runs as a real subprocess
in App mode against it. The sandbox holds the plan comment's POST for a few seconds,
the test kills a process while that request is in flight (the sandbox still creates
the comment: the client died, not the server), and the restarted work must find that
comment by its marker instead of posting a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import Person
from bot.owners import owner_pid
from bot.plan.checklist import PLAN_MARKER
from bot.sandbox import Sandbox
from bot.sandbox.faults import Fault
from tests.intake.conftest import SECRET
from tests.intake.serve_process import ServeProcess, wait_for
from tests.support.techlead import served_sandbox

pytestmark = pytest.mark.slow
TIMEOUT = 45.0  # the retry waits out the dead attempt's in-flight grace (10 s)
HOLD_SECONDS = 3.0
FILES = {
    "README.md": "# Shop\n\nCarts and coupons.\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1.0"\n',
    "src/shop/__init__.py": "",
    "src/shop/cart.py": "def total(items):\n    return sum(p for _, p in items)\n",
    "tests/test_cart.py": "def test_total():\n    assert True\n",
}
BODY = "Checkout needs coupons.\n\n- [ ] Define the coupon schema\n- [ ] Apply coupons (after 1)\n"


@pytest.fixture
def world(tmp_path: Path, app_key: tuple[str, str]) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    private_key, public_key = app_key
    with served_sandbox(tmp_path / "github") as sandbox:
        owner = sandbox.create_user("shop-owner")
        app = sandbox.create_app(owner.login, "techlead-crash", public_key_pem=public_key)
        repo = sandbox.create_repo(owner.login, "shop", files=FILES)
        sandbox.install_app(app.id, owner.login, repositories=[repo.name])
        env = {
            "TECHLEAD_APP_ID": str(app.id),
            "TECHLEAD_PRIVATE_KEY": private_key,
            "TECHLEAD_BOT_LOGIN": app.bot_login,
            "TECHLEAD_GITHUB_API_URL": sandbox.api_url,
            "TECHLEAD_WRITE_INTERVAL": "0",
            "APP_ID": str(app.id),
        }
        yield sandbox, env


def start(data: Path, env: dict[str, str], port: int | None = None) -> ServeProcess:
    serve_env = {key: value for key, value in env.items() if key != "APP_ID"}
    server = ServeProcess(data, plugins="", extra_env=serve_env)
    if port is not None:
        server.port = port
    return server.start()


def plan_comments(person: Person, repo: str, issue: int) -> list[dict[str, object]]:
    return [c for c in person.comments(repo, issue) if str(c["body"]).startswith(PLAN_MARKER)]


def hold_the_plan_comment(sandbox: Sandbox) -> Fault:
    return sandbox.faults.latency(
        "/repos/*/issues/*/comments", HOLD_SECONDS, count=1, method="POST"
    )


@pytest.mark.parametrize("victim", ["serve", "worker-process"])
def test_a_kill_during_the_plan_comment_post_ends_with_exactly_one_plan_comment(
    victim: str, world: tuple[Sandbox, dict[str, str]], tmp_path: Path
) -> None:
    sandbox, env = world
    data = tmp_path / "data"
    first = start(data, env)
    servers = [first]
    maintainer: Person | None = None
    try:
        sandbox.set_app_webhook(int(env["APP_ID"]), f"{first.url}/webhook", SECRET)
        maintainer_user = sandbox.create_user("maintainer")
        sandbox.set_role("shop-owner/shop", maintainer_user.login, "write")
        maintainer = Person(sandbox.api_url, maintainer_user.login, maintainer_user.token)
        issue = maintainer.open_issue("shop-owner/shop", "Coupons at checkout", BODY)
        held = hold_the_plan_comment(sandbox)
        maintainer.label("shop-owner/shop", issue, "techlead")
        wait_for(lambda: held.hits == 1, TIMEOUT, "the plan comment's POST")

        running = [job for job in first.jobs() if job["state"] == "running"]
        assert [job["kind"] for job in running] == ["plan.run"]
        if victim == "serve":
            first.kill()  # its worker processes die with it
            servers.append(start(data, env, port=first.port))
        else:
            pid = owner_pid(str(running[0]["lease_owner"]))
            assert pid is not None
            import os
            import signal

            os.kill(pid, signal.SIGKILL)
        last = servers[-1]

        def planned() -> bool:
            jobs = [job for job in last.jobs() if job["kind"] == "plan.run"]
            return bool(jobs) and all(job["state"] == "done" for job in jobs)

        try:
            wait_for(planned, TIMEOUT, "the plan job to finish after the kill")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {last.jobs()}\n{last.log()[-3000:]}") from None
        found = plan_comments(maintainer, "shop-owner/shop", issue)
        assert len(found) == 1, [c["body"] for c in found]
        assert "Define the coupon schema" in str(found[0]["body"])
    finally:
        if maintainer is not None:
            maintainer.close()  # also when an assertion failed: no socket left to a later test
        for server in servers:
            server.stop()
