"""The planning feature's pure decisions, table-driven: commands, re-plans, texts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agents.research import Findings
from bot.errors import CyclicPlanError
from bot.features.planning import templates
from bot.features.planning.decide import (
    Reason,
    Words,
    annotate,
    apply_command,
    checklist_body,
    next_plan,
    replannable,
    reply_body,
    revive,
    status_text,
    still_wanted,
)
from bot.plan.checklist import render
from bot.plan.commands import Command, CommandKind, parse_commands
from bot.plan.model import CancelReason, IssueInput, Plan, PlanState, TaskStatus
from bot.plans import PlanRecord
from bot.repo_config import load_defaults, parse_repo_config

CONFIG = load_defaults()
WORDS = Words("techlead", "/techlead")
BODY = "- [ ] Define the API schema\n- [ ] Store coupons (after 1)\n- [ ] Write docs (after 1)\n"
ISSUE = IssueInput("Coupons", BODY, 7)


def planned(**changes: object) -> PlanRecord:
    plan = next_plan(None, ISSUE, Findings(), CONFIG)
    return PlanRecord("o/r", 7, revision=1, plan=replace(plan, **changes), comment_id=5)  # type: ignore[arg-type]


def with_status(task_id: str, status: TaskStatus) -> PlanRecord:
    record = planned()
    assert record.plan is not None
    return replace(record, plan=record.plan.with_task(task_id, status=status))


def failed(task_id: str) -> PlanRecord:
    return with_status(task_id, TaskStatus.FAILED)


def command(text: str, version: int | None = None) -> Command:
    (parsed,) = parse_commands(text)
    return replace(parsed, version=version)


def status_of(plan: Plan | None, task_id: str) -> TaskStatus:
    assert plan is not None
    task = plan.task(task_id)
    assert task is not None
    return task.status


# ------------------------------------------------------------------------------ commands


@pytest.mark.parametrize(
    ("record", "text", "version", "state", "note"),
    [
        (planned(), "/techlead approve", None, PlanState.APPROVED, None),
        (planned(), "/techlead approve", 1, PlanState.APPROVED, None),
        (
            planned(),
            "/techlead approve",
            2,
            None,
            "belonged to version 2 of the plan, which is now version 1",
        ),
        (planned(state=PlanState.APPROVED), "/techlead approve", None, None, "already approved"),
        (
            PlanRecord("o/r", 7),
            "/techlead approve",
            None,
            None,
            "there is no plan for this issue yet",
        ),
        (
            planned().with_error("cycle", "body"),
            "/techlead approve",
            None,
            None,
            "cannot run while",
        ),
        (
            planned(state=PlanState.CANCELLED),
            "/techlead approve",
            None,
            None,
            "the plan is cancelled",
        ),
        (planned(), "/techlead cancel", None, PlanState.CANCELLED, None),
        (
            planned().with_error("cycle", "body"),
            "/techlead cancel",
            None,
            PlanState.CANCELLED,
            None,
        ),
        (planned(state=PlanState.CANCELLED), "/techlead cancel", None, None, "already cancelled"),
    ],
    ids=[
        "approve",
        "approve-tick-current",
        "approve-tick-stale",
        "approve-twice",
        "approve-no-plan",
        "approve-invalid",
        "approve-cancelled",
        "cancel",
        "cancel-invalid",
        "cancel-twice",
    ],
)
def test_plan_wide_commands(
    record: PlanRecord, text: str, version: int | None, state: PlanState | None, note: str | None
) -> None:
    outcome = apply_command(record, command(text, version), "mona", WORDS)

    assert (outcome.plan.state if outcome.plan else None) is state
    assert [note in n for n in outcome.notes] == ([True] if note else [])
    if state is PlanState.CANCELLED:
        assert outcome.plan is not None and outcome.plan.cancelled_by == "mona"
        assert outcome.plan.cancel_reason is CancelReason.BY_USER


@pytest.mark.parametrize(
    ("record", "text", "expected", "notes"),
    [
        (failed("T2"), "/techlead retry T2", {"T2": TaskStatus.PENDING}, []),
        (
            planned(),
            "/techlead retry T2",
            {"T2": TaskStatus.PENDING},
            ["T2 is pending; only a failed"],
        ),
        (failed("T2"), "/techlead skip T2", {"T2": TaskStatus.SKIPPED}, []),
        (planned(), "/techlead skip T3", {"T3": TaskStatus.SKIPPED}, []),
        (
            with_status("T3", TaskStatus.SKIPPED),
            "/techlead skip T3",
            {"T3": TaskStatus.SKIPPED},
            [],
        ),
        (failed("T2"), "/techlead retry T2 T9", {"T2": TaskStatus.PENDING}, ["no task T9"]),
        (
            with_status("T1", TaskStatus.COMPLETED),
            "/techlead skip T1",
            {"T1": TaskStatus.COMPLETED},
            ["T1 is already completed"],
        ),
    ],
    ids=[
        "retry-failed",
        "retry-pending",
        "skip-failed",
        "skip-pending",
        "skip-again",
        "partly-unknown",
        "skip-done",
    ],
)
def test_task_commands(
    record: PlanRecord, text: str, expected: dict[str, TaskStatus], notes: list[str]
) -> None:
    outcome = apply_command(record, command(text), "mona", WORDS)

    plan = outcome.plan or record.plan
    assert {task: status_of(plan, task) for task in expected} == expected
    assert len(outcome.notes) == len(notes)
    assert all(want in got for want, got in zip(notes, outcome.notes, strict=True))
    assert outcome.ok is not notes


def test_commands_that_do_not_change_plans_are_not_applied() -> None:
    with pytest.raises(ValueError, match="help does not change a plan"):
        apply_command(planned(), Command(CommandKind.HELP), "mona", WORDS)


# ------------------------------------------------------------------------------ planning


def test_a_cancelled_plan_planned_again_is_a_new_version_awaiting_approval() -> None:
    record = planned()
    assert record.plan is not None
    cancelled = record.plan.cancel(CancelReason.ISSUE_CLOSED, "mona")

    again = next_plan(cancelled, ISSUE, Findings(), CONFIG)

    assert again.version == 2 and again.state is PlanState.AWAITING_APPROVAL
    assert again.cancel_reason is None and again.ids() == record.plan.ids()
    no_approval = parse_repo_config("planning:\n  require_approval: false\n")
    assert revive(cancelled, no_approval.planning.require_approval).state is PlanState.APPROVED


def test_a_cycle_is_a_plan_error() -> None:
    cyclic = IssueInput("Loop", "- [ ] A (after 2)\n- [ ] B (after 1)\n", 7)
    with pytest.raises(CyclicPlanError, match="T1 → T2 → T1"):
        next_plan(None, cyclic, Findings(), CONFIG)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (PlanRecord("o/r", 7), False),
        (planned(), True),
        (planned(state=PlanState.APPROVED), True),
        (planned(state=PlanState.CANCELLED), False),
        (PlanRecord("o/r", 7).with_error("cycle", "body"), True),
    ],
    ids=["nothing", "awaiting", "approved", "cancelled", "error"],
)
def test_which_issue_edits_replan(record: PlanRecord, expected: bool) -> None:
    assert replannable(record) is expected


@pytest.mark.parametrize(
    ("reason", "state", "labels", "is_pull", "expected"),
    [
        (Reason.LABELED, "open", ("TechLead",), False, True),
        (Reason.LABELED, "open", ("bug",), False, False),
        (Reason.LABELED, "closed", ("techlead",), False, False),
        (Reason.REOPENED, "open", ("techlead",), False, True),
        (Reason.COMMAND, "open", (), False, True),
        (Reason.EDITED, "open", (), True, False),
    ],
    ids=["labelled", "label-gone", "closed", "reopened", "command", "pull-request"],
)
def test_whether_an_issue_is_still_to_be_planned(
    reason: Reason, state: str, labels: tuple[str, ...], is_pull: bool, expected: bool
) -> None:
    assert (
        still_wanted(reason, state=state, labels=labels, is_pull=is_pull, label="techlead")
        is expected
    )


# --------------------------------------------------------------------------------- texts


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"state": PlanState.APPROVED}, "Plan approved (version 1). Approval records version 1"),
        (
            {
                "state": PlanState.CANCELLED,
                "cancel_reason": CancelReason.ISSUE_CLOSED,
                "cancelled_by": "mona",
            },
            "Cancelled: the issue was closed (by @mona).",
        ),
        (
            {
                "state": PlanState.CANCELLED,
                "cancel_reason": CancelReason.BY_USER,
                "cancelled_by": "mona",
            },
            "Cancelled by @mona.",
        ),
    ],
    ids=["approved", "closed", "by-user"],
)
def test_the_checklist_says_what_approval_means_and_who_cancelled(
    change: dict[str, object], shown: str
) -> None:
    record = planned(**change)
    body = checklist_body(record, "/techlead")
    assert shown in body
    assert body.count("(by @mona)") <= 1


def test_an_error_body_is_shown_instead_of_a_checklist() -> None:
    record = planned().with_error("cycle", "## TechLead plan · cannot run")
    assert checklist_body(record, "/techlead") == "## TechLead plan · cannot run"
    with pytest.raises(ValueError, match="neither a plan nor an error"):
        checklist_body(PlanRecord("o/r", 7), "/techlead")


def test_annotate_leaves_other_states_alone() -> None:
    record = planned()
    assert record.plan is not None
    body = render(record.plan)
    assert annotate(body, record.plan) == body


def test_status_counts_tasks_by_status_and_links_the_plan() -> None:
    text = status_text(failed("T2"), WORDS, "https://example.invalid/c/5")
    assert text == (
        "**Plan status:** version 1, awaiting approval. 2 pending, 1 failed."
        " [Plan comment](https://example.invalid/c/5)"
    )
    assert status_text(PlanRecord("o/r", 7), WORDS).startswith("there is no plan")


@pytest.mark.parametrize(
    ("quoted", "notes", "expected"),
    [
        ([], ["there is no plan."], "@mona there is no plan."),
        (["/techlead x"], ["I don't know."], "> /techlead x\n\n@mona I don't know."),
        ([], ["Sorry @mona, no."], "Sorry @mona, no."),
        ([], ["a.", "b."], "@mona\n\n- a.\n- b."),
    ],
    ids=["plain", "quoted", "already-mentions", "several"],
)
def test_replies_mention_the_person_once(
    quoted: list[str], notes: list[str], expected: str
) -> None:
    assert reply_body("mona", quoted, notes) == expected


def test_every_job_kind_has_a_failure_wording() -> None:
    from bot.features.planning.requests import Kind

    assert set(templates.JOB_WHAT) == {kind.value for kind in Kind}
