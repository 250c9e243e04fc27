"""The gates' lifecycle decisions, table by table: requests, run identity, selection, heads,
and what a dead job's runs say."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.errors import MalformedEvent
from bot.events import CheckRunEvent, CheckSuiteEvent, PullRequestEvent
from bot.features.gates import pull_request_gates, rerun_gate, suite_gates
from bot.gate_runs import (
    MAX_HEADS,
    MAX_STATUS_CHARS,
    MAX_TITLE_CHARS,
    DeadJob,
    GateRequest,
    HeadRegistry,
    Skip,
    abandoned_runs,
    dead_check_run,
    dead_comment,
    dead_status,
    enabled_levels,
    external_id,
    fetch_refs,
    level_of,
    parse_external_id,
    plan_runs,
    run_job_key,
    skip_reason,
)
from bot.ports import CheckRunInfo, PullInfo
from bot.router import Event
from gates.config import GateLevel, load_defaults, parse_gates_config
from gates.templates import MARKER

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
REPO = "octo/project"
L1, L5 = GateLevel.L1, GateLevel.L5
LINT = "TechLead L1 · Lint"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def pull(**changes: Any) -> PullInfo:
    values: dict[str, Any] = {
        "number": 7,
        "title": "t",
        "body": "",
        "state": "open",
        "draft": False,
        "head_sha": "h" * 40,
        "head_ref": "feature",
        "head_repo": REPO,
        "base_ref": "main",
        "base_sha": "b" * 40,
        "is_fork": False,
        "author_login": "dev",
        "html_url": "",
    }
    values.update(changes)
    return PullInfo(**values)


def run(
    run_id: int, name: str = LINT, external: str | None = "techlead:L1:7", status: str = "queued"
) -> CheckRunInfo:
    return CheckRunInfo(run_id, name, "h" * 40, status, None, external)


# ---------------------------------------------------------------------------- requests


def event(name: str, payload: dict[str, Any]) -> Event:
    payload = {**payload, "repository": {"full_name": REPO}}
    return Event.from_payload(name, "delivery-1", payload)


def from_pull_request(payload: dict[str, Any]) -> GateRequest | None:
    return pull_request_gates(PullRequestEvent.from_event(event("pull_request", payload)))


def from_check_suite(payload: dict[str, Any], *, rerun: bool = False) -> GateRequest | None:
    return suite_gates(CheckSuiteEvent.from_event(event("check_suite", payload)), rerun=rerun)


def from_check_run(payload: dict[str, Any]) -> GateRequest | None:
    return rerun_gate(CheckRunEvent.from_event(event("check_run", payload)))


def test_real_payloads_become_requests() -> None:
    opened = fixture("pull_request.synchronize")
    request = from_pull_request(opened)
    assert request == GateRequest(
        REPO, opened["pull_request"]["head"]["sha"], opened["pull_request"]["head"]["ref"], (2,)
    )
    suite = from_check_suite(fixture("check_suite.rerequested"), rerun=True)
    assert suite is not None and suite.rerun and suite.levels == ()
    rerun = copy.deepcopy(fixture("check_run.rerequested"))
    rerun["check_run"]["external_id"] = external_id(L5, 12)
    request = from_check_run(rerun)
    assert request is not None
    assert (request.levels, request.numbers, request.rerun) == ((L5,), (12,), True)
    assert GateRequest.from_payload(request.to_payload()) == request


SHA = "a" * 40
FOREIGN = [
    ("check_suite", {"check_suite": {"head_sha": SHA, "pull_requests": []}}),
    ("check_run", {"check_run": {"name": "someone else's check", "head_sha": SHA}}),
    ("check_run", {"check_run": {"name": LINT, "head_sha": SHA}}),
]


@pytest.mark.parametrize(
    ("name", "payload"),
    FOREIGN,
    ids=["suite-without-pull-or-branch", "run-not-ours", "run-without-pull-or-branch"],
)
def test_foreign_payloads_ask_for_nothing(name: str, payload: dict[str, Any]) -> None:
    parse = {"check_suite": from_check_suite, "check_run": from_check_run}[name]
    assert parse(payload) is None


MALFORMED = [
    ("pull_request", {}, "pull_request.number"),
    (
        "pull_request",
        {"pull_request": {"number": "7", "head": {"sha": SHA}}},
        "pull_request.number",
    ),
    ("pull_request", {"pull_request": {"number": 7, "head": {}}}, "pull_request.head.sha"),
    (
        "pull_request",
        {"pull_request": {"number": 7, "head": {"sha": "abc", "ref": "x"}}},
        "pull_request.head.sha",
    ),
    ("check_suite", {"check_suite": "not a mapping"}, "check_suite"),
    (
        "check_run",
        {"check_run": {"name": LINT, "head_sha": SHA, "external_id": "techlead:L1:\u00b2"}},
        "check_run.external_id",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    MALFORMED,
    ids=[
        "no-pull-request",
        "number-not-int",
        "no-head-sha",
        "sha-not-hex",
        "suite-not-a-mapping",
        "our-prefix-superscript-number",
    ],
)
def test_malformed_payloads_name_the_field(name: str, payload: dict[str, Any], field: str) -> None:
    parse = {
        "pull_request": from_pull_request,
        "check_suite": from_check_suite,
        "check_run": from_check_run,
    }[name]
    with pytest.raises(MalformedEvent) as caught:
        parse(payload)
    assert caught.value.field == field


# ---------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("techlead:L1:7", (L1, 7)),
        ("techlead:L5:123", (L5, 123)),
        ("techlead:L9:7", None),
        ("techlead:L1:", None),
        ("techlead:L1:\u00b2", None),
        ("techlead:L1:" + "9" * 5000, None),
        ("other:L1:7", None),
        ("", None),
    ],
    ids=[
        "lint",
        "security",
        "unknown-level",
        "no-number",
        "superscript-digit",
        "huge-number",
        "foreign-prefix",
        "empty",
    ],
)
def test_external_ids_parse_only_our_own(text: str, expected: tuple[GateLevel, int] | None) -> None:
    assert parse_external_id(text) == expected


def test_a_run_is_known_by_external_id_else_by_name() -> None:
    assert level_of("anything", external_id(L5, 3)) is L5
    assert level_of(LINT) is L1
    assert level_of("Lint") is None


@pytest.mark.parametrize(
    ("existing", "rerun", "reuse", "create"),
    [
        ([], False, {}, (L1, L5)),
        ([run(1), run(4, status="completed")], False, {L1: 4}, (L5,)),
        ([run(1, external=None)], False, {}, (L1, L5)),
        ([run(1, external="techlead:L1:8")], False, {}, (L1, L5)),
        ([run(1), run(2, "TechLead L5 · Security", "techlead:L5:7")], True, {}, (L1, L5)),
    ],
    ids=["none-yet", "newest-of-ours", "same-name-other-app", "other-pull", "rerun-makes-new"],
)
def test_plan_runs_reuses_ours_on_the_head(
    existing: list[CheckRunInfo],
    rerun: bool,
    reuse: dict[GateLevel, int],
    create: tuple[GateLevel, ...],
) -> None:
    plan = plan_runs(existing, [L1, L5], 7, rerun=rerun)
    assert {level: found.id for level, found in plan.reuse.items()} == reuse
    assert plan.create == create


def test_the_run_job_key_names_its_runs_whatever_their_order() -> None:
    one = run_job_key(REPO, 7, "abc", {L5: 2, L1: 1})
    assert one == run_job_key(REPO, 7, "abc", {L1: 1, L5: 2}) == "gates.run:octo/project#7@abc:1,2"
    assert one != run_job_key(REPO, 7, "abc", {L1: 3, L5: 2})


# ---------------------------------------------------------------------------- selection


@pytest.mark.parametrize(
    ("changes", "settings", "bot", "expected"),
    [
        ({}, {}, False, None),
        ({"state": "closed"}, {}, False, Skip.CLOSED),
        ({"head_sha": "n" * 40}, {}, False, Skip.MOVED_ON),
        ({"draft": True}, {}, False, None),
        ({"draft": True}, {"drafts": False}, False, Skip.DRAFT),
        ({}, {"bots": False}, True, Skip.BOT),
        ({}, {}, True, None),
        ({"base_ref": "develop"}, {"base_branches": ["main"]}, False, Skip.BASE),
        ({"base_ref": "main"}, {"base_branches": ["main"]}, False, None),
    ],
    ids=[
        "open",
        "closed",
        "head-moved-on",
        "draft-by-default",
        "draft-skipped",
        "bot-skipped",
        "bot-by-default",
        "other-base",
        "listed-base",
    ],
)
def test_which_pull_requests_get_gates(
    changes: dict[str, Any], settings: dict[str, Any], bot: bool, expected: Skip | None
) -> None:
    select = parse_gates_config({"pull_requests": settings}).pull_requests
    assert skip_reason(pull(**changes), "h" * 40, select, author_is_bot=bot) is expected


def test_enabled_levels_leave_out_disabled_gates_and_keep_to_the_asked() -> None:
    config = parse_gates_config({"security": {"enabled": False}})
    assert L1 in enabled_levels(config)
    assert L5 not in enabled_levels(config)
    assert enabled_levels(load_defaults(), [L5]) == [L5]
    assert enabled_levels(config, [L5]) == []


@pytest.mark.parametrize(
    ("fork", "head_ref"),
    [(False, "h" * 40), (True, "refs/pull/7/head")],
    ids=["same-repository", "fork"],
)
def test_a_forks_head_comes_from_the_base_repository(fork: bool, head_ref: str) -> None:
    assert fetch_refs(pull(is_fork=fork)) == ["b" * 40, head_ref]


# ---------------------------------------------------------------------------- heads


def test_a_newer_head_cancels_the_older_heads_runs_only() -> None:
    heads = HeadRegistry()
    old = heads.start(REPO, 7, "a")
    other_pull = heads.start(REPO, 8, "a")
    assert heads.supersede(REPO, 7, "b") == 1
    assert old.cancelled and "(b) superseded" in old.reason
    assert not other_pull.cancelled
    newer = heads.start(REPO, 7, "b")
    assert not newer.cancelled


def test_a_late_report_about_an_older_head_changes_nothing() -> None:
    heads = HeadRegistry()
    heads.supersede(REPO, 7, "a")
    heads.supersede(REPO, 7, "b")
    newer = heads.start(REPO, 7, "b")
    assert heads.supersede(REPO, 7, "a") == 0
    assert not newer.cancelled
    late = heads.start(REPO, 7, "a")
    assert late.cancelled


def test_finished_runs_are_forgotten_and_old_heads_pruned() -> None:
    heads = HeadRegistry()
    token = heads.start(REPO, 7, "a")
    assert heads.live(REPO, 7) == {"a": 1}
    heads.finish(REPO, 7, "a", token)
    assert heads.live(REPO, 7) == {}
    for number in range(MAX_HEADS + 10):
        heads.supersede(REPO, 7, f"head-{number}")
    still = heads.start(REPO, 7, f"head-{MAX_HEADS + 9}")
    assert not still.cancelled
    assert heads.known(REPO, 7) == MAX_HEADS


# ---------------------------------------------------------------------------- dead jobs


SECURITY = "TechLead L5 · Security"


@pytest.mark.parametrize(
    ("existing", "numbers", "levels", "expected"),
    [
        ([run(1), run(2, SECURITY, "techlead:L5:7")], (7,), (), {7: {L1: 1, L5: 2}}),
        ([run(1, status="in_progress"), run(2, status="completed")], (7,), (), {}),
        ([run(1, external=None), run(2, external="other:L1:7")], (7,), (), {}),
        ([run(1), run(2, external="techlead:L1:8")], (8,), (), {8: {L1: 2}}),
        ([run(1), run(2, external="techlead:L1:8")], (), (), {7: {L1: 1}, 8: {L1: 2}}),
        ([run(1), run(2, SECURITY, "techlead:L5:7")], (7,), (L5,), {7: {L5: 2}}),
    ],
    ids=[
        "queued-ones",
        "started-or-done-belong-to-a-run-job",
        "not-ours",
        "only-the-asked-pull",
        "any-pull-when-found-by-branch",
        "only-the-asked-gate",
    ],
)
def test_a_dead_queue_job_leaves_only_its_queued_runs_to_fail(
    existing: list[CheckRunInfo],
    numbers: tuple[int, ...],
    levels: tuple[GateLevel, ...],
    expected: dict[int, dict[GateLevel, int]],
) -> None:
    assert abandoned_runs(existing, numbers, levels) == expected


def dead(error: str) -> DeadJob:
    return DeadJob.of("gates.run", 12, 2, error, "h" * 40)


@pytest.mark.parametrize(
    ("error", "shown", "hidden"),
    [
        ("GitHubError: GET /pulls/7 failed with 422", "failed with 422", None),
        ("bad token ghs_abcdefghijklmnopqrstuvwxyz0123456789", "bad token", "ghs_abcdef"),
        ("oops ```\n# injected heading", "oops '''", "```\n#"),
        ("x" * 5000 + " the end", "the end", "x" * 2001),
    ],
    ids=["plain", "token-redacted", "fence-cannot-be-closed", "long-error-keeps-its-end"],
)
def test_a_dead_jobs_runs_say_what_failed_and_what_to_do(
    error: str, shown: str, hidden: str | None
) -> None:
    plan = dead_check_run(L1, dead(error))
    status = dead_status(L1, dead(error))
    comment = dead_comment([L1, L5], dead(error))
    assert (plan.name, plan.conclusion, status.state) == (LINT, "failure", "error")
    assert plan.title.startswith("Did not finish: gave up after 2 attempt(s)")
    assert len(plan.title) <= MAX_TITLE_CHARS and len(status.description) <= MAX_STATUS_CHARS
    assert shown in plan.summary and shown in comment
    assert "re-run this check from the Checks tab" in plan.summary
    assert "`techlead jobs retry 12`" in comment and comment.startswith(MARKER)
    assert plan.summary.count("```") == 2 and comment.count("```") == 2
    if hidden is not None:
        assert hidden not in plan.summary + plan.title + status.description + comment
