"""planning.planner: llm end to end: a labelled issue is planned by the model the
environment configures, over the real webhook, job and GitHub paths; the checklist says
which planner made the plan and the plan record keeps what the model cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import Person
from bot.github import GitHubClient
from bot.plan.checklist import PLAN_MARKER, parse_state
from bot.plan.model import Plan
from tests.llm.conftest import API_KEY
from tests.planning.conftest import ISSUE_BODY, PROJECT_FILES, SECRET, WORKER
from tests.support.openai_stub import OpenAIStub, json_reply, reply
from tests.support.techlead import (
    LocalTechLead,
    no_wait,
    served_sandbox,
    start_techlead,
    techlead_settings,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CONFIG = "planning:\n  planner: llm\n"
ITEMS = (
    "Define the coupon API schema (high)",
    "Store coupons in the database (after 1)",
    "Apply coupons to the cart total (after 1, 2)",
    "Add tests for coupons (after 3)",
)


def model_plan() -> dict[str, object]:
    agents = ("api-architect", "database-expert", "backend-developer", "test-engineer")
    files: tuple[list[str], ...] = (
        ["docs/api.md"],
        [],
        ["src/shop/cart.py"],
        ["tests/test_cart.py"],
    )
    tasks = [
        {
            "id": f"T{n}",
            "title": title,
            "agent": agent,
            "priority": "high" if n == 1 else "medium",
            "category": "tests" if n == 4 else "implementation",
            "depends_on": [f"T{m}" for m in range(1, n)][-1:],
            "files": paths,
            "body": "",
            "reason": f"{agent} owns this",
        }
        for n, (title, agent, paths) in enumerate(zip(ITEMS, agents, files, strict=True), 1)
    ]
    return {"title": "Coupons at checkout", "tasks": tasks}


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[OpenAIStub, str]]:
    served = OpenAIStub(api_key=API_KEY)
    with served.serve() as base_url:
        yield served, base_url


@pytest.fixture(scope="module")
def world(
    stub: tuple[OpenAIStub, str],
    app_key: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalTechLead, Person, str]]:
    _, base_url = stub
    private_key, public_key = app_key
    with served_sandbox(tmp_path_factory.mktemp("llm-sandbox")) as sandbox:
        owner = sandbox.create_user("llm-owner")
        app = sandbox.create_app(owner.login, "techlead-llm", public_key_pem=public_key)
        settings = techlead_settings(
            sandbox.api_url,
            tmp_path_factory.mktemp("llm-data"),
            SECRET,
            app_id=app.id,
            private_key=private_key,
            bot_login=app.bot_login,
            llm_base_url=base_url,
            llm_model="stub-model",
            llm_api_key=API_KEY,
            llm_timeout=20.0,
            llm_max_retries=1,
        )
        client = GitHubClient(settings, sleep=no_wait)
        techlead = start_techlead(sandbox, client, SECRET, worker=WORKER, app_id=app.id)
        files = {**PROJECT_FILES, ".github/techlead.yml": CONFIG}
        repo = sandbox.create_repo(owner.login, "shop-llm", files=files)
        sandbox.install_app(app.id, owner.login, repositories=[repo.name])
        person = Person(sandbox.api_url, owner.login, owner.token)
        try:
            yield techlead, person, repo.full_name
        finally:
            person.close()
            techlead.bot.stop()


def planned(world: tuple[LocalTechLead, Person, str], title: str) -> tuple[Plan, str, int]:
    techlead, person, repo = world
    number = person.open_issue(repo, title, ISSUE_BODY)
    person.label(repo, number, "techlead")
    techlead.settle(60)
    comments = [c["body"] for c in person.comments(repo, number)]
    body = next(c for c in comments if c.lstrip().startswith(PLAN_MARKER))
    plan = parse_state(body)
    assert plan is not None
    return plan, body, number


def test_a_labelled_issue_is_planned_by_the_model(
    stub: tuple[OpenAIStub, str], world: tuple[LocalTechLead, Person, str], tmp_path: Path
) -> None:
    served, _ = stub
    served.push(json_reply(model_plan()))
    plan, body, number = planned(world, "Coupons at checkout")
    assert [task.agent for task in plan.tasks] == [
        "api-architect",
        "database-expert",
        "backend-developer",
        "test-engineer",
    ]
    assert "Planned by the model `stub-model`" in body
    request = json.loads(served.requests[-1]["messages"][1]["content"])
    assert request["issue"]["checklist"][0]["text"] == ITEMS[0]
    assert "src/shop/cart.py" in {row["path"] for row in request["repository_map"]}
    techlead, _, repo = world
    timings = techlead.bot.plan(repo, number).timings
    assert timings["llm_calls"] == 1 and timings["llm_tokens"] > 0


def test_a_model_answer_that_is_not_a_plan_falls_back_with_a_note(
    stub: tuple[OpenAIStub, str], world: tuple[LocalTechLead, Person, str]
) -> None:
    served, _ = stub
    served.push(reply("I would start with the schema."))
    plan, body, _ = planned(world, "Coupons at checkout again")
    assert "The model's plan was not used (the model's answer is not JSON" in body
    assert len(plan.tasks) >= len(ITEMS)
