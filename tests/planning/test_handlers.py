"""Which deliveries schedule which planning job (real GitHub payloads, no GitHub calls)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.errors import SettingsError
from bot.features import github_factory
from bot.features.planning import router
from bot.features.planning.decide import Reason
from bot.features.planning.requests import (
    CancelRequest,
    CommandRequest,
    Kind,
    PlanRequest,
    TickRequest,
    from_payload,
)
from bot.github import GitHubApi
from bot.jobs import JobSpec
from bot.plan.checklist import render
from bot.plan.commands import CommandKind
from bot.plan.model import CancelReason, Plan, Task
from bot.router import Event
from bot.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
PLAN = Plan("Coupons", (Task("T1", "Define the API", "api-architect"),), issue_number=1)


def payload(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target.setdefault(key, {})
        target[last] = value
    return data


def scheduled(event_name: str, data: dict[str, Any]) -> list[JobSpec]:
    event = Event.from_payload(event_name, "delivery-1", data)
    specs: list[JobSpec] = []
    for route in router.matching(event, "techlead[bot]"):
        specs.extend(route.handler(event, None) or [])  # type: ignore[arg-type]
    return specs


def only(specs: list[JobSpec], kind: Kind) -> dict[str, Any]:
    assert [spec.kind for spec in specs] == [kind.value]
    return dict(specs[0].payload)


def ticked(body: str) -> str:
    return body.replace("- [ ] **Approve", "- [x] **Approve", 1)


def test_a_label_schedules_planning_with_the_label_and_sender() -> None:
    request = from_payload(
        PlanRequest, only(scheduled("issues", payload("issues.labeled")), Kind.RUN)
    )
    assert request == PlanRequest(
        "Codertocat/Hello-World", 1, Reason.LABELED, request.actor, label="bug"
    )
    assert (request.actor.login, request.actor.type) == ("Codertocat", "User")


@pytest.mark.parametrize(
    ("event", "data", "kind", "reason"),
    [
        ("issues", payload("issues.unlabeled"), Kind.CANCEL, CancelReason.LABEL_REMOVED),
        (
            "issues",
            payload("issues.reopened", action="closed"),
            Kind.CANCEL,
            CancelReason.ISSUE_CLOSED,
        ),
        ("issues", payload("issues.reopened"), Kind.RUN, Reason.REOPENED),
        (
            "issues",
            payload("issues.edited", changes={"body": {"from": "old"}}),
            Kind.RUN,
            Reason.EDITED,
        ),
    ],
    ids=["unlabeled", "closed", "reopened", "body-edited"],
)
def test_issue_events(event: str, data: dict[str, Any], kind: Kind, reason: object) -> None:
    found = only(scheduled(event, data), kind)
    request_type = CancelRequest if kind is Kind.CANCEL else PlanRequest
    assert from_payload(request_type, found).reason == reason


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("issues", payload("issues.edited", changes={"title": {"from": "old"}})),
        ("issues", payload("issues.reopened", issue__labels=[])),
        ("issues", payload("issues.labeled", issue__pull_request={"url": "x"})),
        ("issues", payload("issues.labeled", sender={"login": "dependabot[bot]", "type": "Bot"})),
        ("issues", payload("issues.opened")),
        ("issue_comment", payload("issue_comment.created", comment__body="LGTM, thanks!")),
        ("issue_comment", payload("issue_comment.created", issue__pull_request={"url": "x"})),
        (
            "issue_comment",
            payload("issue_comment.created", sender={"login": "techlead[bot]", "type": "Bot"}),
        ),
        ("issue_comment", payload("issue_comment.edited", comment__body="not a plan")),
        ("issue_comment", payload("issue_comment.edited", comment__body=render(PLAN))),
    ],
    ids=[
        "title-edited",
        "reopened-unlabelled",
        "pull-request",
        "bot-label",
        "opened",
        "comment-without-command",
        "comment-on-pull-request",
        "own-comment",
        "edited-other-comment",
        "plan-edited-without-ticks",
    ],
)
def test_deliveries_that_schedule_nothing(event: str, data: dict[str, Any]) -> None:
    assert scheduled(event, data) == []


def test_a_reopened_issue_carries_its_labels_for_the_job() -> None:
    data = payload("issues.reopened", issue__labels=[{"name": "techlead"}, {"name": "bug"}])
    request = from_payload(PlanRequest, only(scheduled("issues", data), Kind.RUN))
    assert request.labels == ("techlead", "bug")


def test_a_command_comment_schedules_its_body() -> None:
    data = payload("issue_comment.created", comment__body="Thanks!\n/techlead approve")
    request = from_payload(CommandRequest, only(scheduled("issue_comment", data), Kind.COMMAND))
    assert request.body == "Thanks!\n/techlead approve"
    assert request.comment_id == data["comment"]["id"]


def test_a_ticked_plan_box_schedules_the_tick_with_its_version() -> None:
    before = render(PLAN)
    data = payload(
        "issue_comment.edited", comment__body=ticked(before), changes={"body": {"from": before}}
    )
    request = from_payload(TickRequest, only(scheduled("issue_comment", data), Kind.TICKS))
    assert [(t.kind, t.version) for t in request.ticks] == [(CommandKind.APPROVE, 1)]


def test_a_box_already_ticked_before_the_edit_is_not_a_new_tick() -> None:
    before = ticked(render(PLAN))
    data = payload(
        "issue_comment.edited", comment__body=before + " ", changes={"body": {"from": before}}
    )
    assert scheduled("issue_comment", data) == []


def test_github_factory_builds_ports_only_with_credentials() -> None:
    factory = github_factory(Settings(github_token="ghp_" + "x" * 36))
    assert isinstance(factory(None), GitHubApi)
    with pytest.raises(SettingsError, match="TECHLEAD_GITHUB_TOKEN"):
        github_factory(Settings())(7)
