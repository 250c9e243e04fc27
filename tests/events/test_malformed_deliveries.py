"""Signed deliveries whose payload lacks or mistypes a field a handler reads.

Each one is accepted (it is signed, and GitHub would not send it again), routed once,
recorded as skipped with the field's path, and changes nothing on GitHub: no retry, no
dead letter, no comment. A well-formed twin of each is scheduled, so the skip is the
payload's doing and not a handler that never runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.jobs import JobState
from bot.router import ROUTE_KIND, RouteOutcome
from tests.events.conftest import DELETE, FieldPath, TechLead

MALFORMED_OUTCOME = RouteOutcome.MALFORMED.value
CASES: list[tuple[str, str, dict[FieldPath, object]]] = [
    ("issue_comment", "issue_comment.created", {("comment", "id"): DELETE}),
    ("issue_comment", "issue_comment.created", {("comment", "id"): "abc"}),
    ("issue_comment", "issue_comment.created", {("comment", "id"): None}),
    ("issue_comment", "issue_comment.created", {("comment", "id"): 2**63}),
    ("issue_comment", "issue_comment.created", {("comment", "id"): True}),
    ("issue_comment", "issue_comment.created", {("comment", "body"): "/techlead plan \ud800"}),
    ("issues", "issues.reopened", {("issue", "labels"): 5}),
    ("issues", "issues.reopened", {("issue", "labels"): [{"name": 5}]}),
    ("issues", "issues.labeled", {("issue", "number"): "7"}),
    ("issues", "issues.labeled", {("issue",): None}),
    ("issues", "issues.labeled", {("repository", "full_name"): "../../etc"}),
    ("check_run", "check_run.rerequested", {("check_run", "external_id"): "techlead:L1:\u00b2"}),
    ("check_run", "check_run.rerequested", {("check_run", "head_sha"): "HEAD; rm -rf /"}),
    ("pull_request", "pull_request.opened", {("pull_request", "head"): []}),
    ("check_suite", "check_suite.requested", {("check_suite", "pull_requests"): {"0": 1}}),
]
IDS = [
    "comment-id-missing",
    "comment-id-text",
    "comment-id-null",
    "comment-id-over-64-bits",
    "comment-id-boolean",
    "comment-body-lone-surrogate",
    "labels-a-number",
    "label-name-a-number",
    "issue-number-text",
    "issue-null",
    "repository-dots",
    "external-id-superscript-digit",
    "head-sha-not-hex",
    "head-an-array",
    "pull-requests-an-object",
]
TRIGGERS: dict[str, dict[FieldPath, object]] = {
    # What makes each fixture reach a handler that schedules work when well formed.
    "issue_comment.created": {("comment", "body"): "/techlead plan"},
    "issues.reopened": {("issue", "labels"): [{"name": "techlead"}]},
    "issues.labeled": {("label", "name"): "techlead"},
    "check_run.rerequested": {("check_run", "external_id"): "techlead:L1:1"},
}


def deliver(techlead: TechLead, event: str, name: str, changes: dict[FieldPath, object]) -> str:
    data: dict[str, Any] = techlead.delivery(name, {**TRIGGERS.get(name, {}), **changes})
    return techlead.post(event, data)


@pytest.mark.parametrize(("event", "name", "changes"), CASES, ids=IDS)
def test_a_malformed_delivery_is_skipped_once_and_writes_nothing(
    techlead: TechLead, event: str, name: str, changes: dict[FieldPath, object]
) -> None:
    delivery_id = deliver(techlead, event, name, changes)
    ran = techlead.drain()

    assert [(job.kind, job.state, job.attempts) for job in ran] == [
        (ROUTE_KIND, JobState.DONE, 1)
    ], "routed once, not retried"
    assert techlead.outcome(delivery_id) == MALFORMED_OUTCOME
    assert techlead.writes() == []
    checks = techlead.http.get("/healthz").json()["checks"]
    assert (checks["store"], checks["intake_writer"]) == ("ok", "ok")


@pytest.mark.parametrize(
    ("event", "name"),
    sorted({(event, name) for event, name, _ in CASES}),
    ids=lambda value: str(value),
)
def test_the_same_delivery_well_formed_is_scheduled(
    techlead: TechLead, event: str, name: str
) -> None:
    delivery_id = deliver(techlead, event, name, {})
    techlead.drain()
    assert techlead.outcome(delivery_id) == RouteOutcome.SCHEDULED.value


def test_the_log_names_the_field_and_never_the_value(
    techlead: TechLead, capsys: pytest.CaptureFixture[str]
) -> None:
    secretish = "ghp_" + "x" * 36
    deliver(techlead, "issue_comment", "issue_comment.created", {("comment", "id"): secretish})
    techlead.drain()
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "event_malformed" in text and "comment.id" in text
    assert secretish not in text
