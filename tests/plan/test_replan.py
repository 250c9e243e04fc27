"""Incremental re-planning after the issue body is edited."""

from __future__ import annotations

from bot.plan.model import (
    IssueInput,
    PlanState,
    RemovedTask,
    TaskChange,
    TaskLinks,
    TaskStatus,
)
from bot.plan.planner import PlanningDefaults
from bot.plan.replan import merge_plans, normalise_title, replan
from tests.plan.conftest import CONFIG, NO_FINDINGS, ROSTER, plan_of

BODY = (
    "- [ ] Define the cart schema\n"
    "- [ ] Implement the cart service (after 1)\n"
    "- [ ] Build the cart page (after 2)\n"
    "- [ ] Write the docs (after 2)\n"
)


def _edit(previous, body: str, config=CONFIG):  # type: ignore[no-untyped-def]
    return replan(previous, IssueInput("Add a shopping cart", body, 7), NO_FINDINGS, ROSTER, config)


def _started():  # type: ignore[no-untyped-def]
    plan = plan_of(BODY)
    plan = plan.with_task("T1", status=TaskStatus.COMPLETED, links=TaskLinks("tl/7-t1", 21))
    return plan.with_task("T2", status=TaskStatus.IN_PROGRESS, links=TaskLinks("tl/7-t2"))


def test_unchanged_titles_keep_id_status_and_links() -> None:
    edited = BODY.replace("- [ ] Build", "- [ ] Add coupons (after 1)\n- [ ] BUILD").replace(
        "cart page", "cart page!"
    )
    plan = _edit(_started(), edited)
    assert [(t.id, t.title) for t in plan.tasks] == [
        ("T1", "Define the cart schema"),
        ("T2", "Implement the cart service"),
        ("T5", "Add coupons"),
        ("T3", "BUILD the cart page!"),  # case and punctuation do not make a new task
        ("T4", "Write the docs"),
    ]
    assert plan.task("T1").status is TaskStatus.COMPLETED
    assert plan.task("T1").links == TaskLinks("tl/7-t1", 21)
    assert plan.task("T2").status is TaskStatus.IN_PROGRESS
    assert plan.task("T3").depends_on == ("T2",)
    assert plan.version == 2 and plan.next_id == 6
    assert plan.diff.added == ("T5",)


def test_ids_are_never_reused() -> None:
    first = _edit(plan_of(BODY), BODY.replace("- [ ] Write the docs (after 2)\n", ""))
    assert [t.id for t in first.tasks] == ["T1", "T2", "T3"]
    second = _edit(first, BODY.replace("Write the docs", "Write the guide"))
    assert [t.id for t in second.tasks] == ["T1", "T2", "T3", "T5"]
    assert second.version == 3


def test_removed_items_are_dropped_or_kept_as_cancelled() -> None:
    body = "- [ ] Build the cart page\n- [ ] Write the docs\n"
    previous = _started().with_task("T3", status=TaskStatus.FAILED)
    plan = _edit(previous, body)
    states = {t.id: (t.status, t.in_issue) for t in plan.tasks}
    assert states == {
        "T3": (TaskStatus.FAILED, True),
        "T4": (TaskStatus.PENDING, True),
        "T1": (TaskStatus.COMPLETED, False),
        "T2": (TaskStatus.CANCELLED, False),
    }
    assert plan.task("T2").links == TaskLinks("tl/7-t2")
    assert set(plan.diff.removed) == {
        RemovedTask("T1", "Define the cart schema", TaskStatus.COMPLETED),
        RemovedTask("T2", "Implement the cart service", TaskStatus.CANCELLED),
    }


def test_pending_removed_items_disappear() -> None:
    plan = _edit(plan_of(BODY), BODY.replace("- [ ] Write the docs (after 2)\n", ""))
    assert "T4" not in plan.ids()
    assert plan.diff.removed == (RemovedTask("T4", "Write the docs"),)


def test_changes_are_listed_per_field() -> None:
    plan = _edit(plan_of(BODY), BODY.replace("page (after 2)", "page (after 1) (high)"))
    assert plan.diff.changed == (TaskChange("T3", ("priority", "depends_on")),)


def test_an_edit_that_changes_no_task_keeps_the_plan() -> None:
    previous = _started()
    assert _edit(previous, "Some intro text.\n\n" + BODY) is previous


def test_a_changed_plan_needs_approval_again() -> None:
    previous = _started()
    approved = previous.__class__(**{**previous.__dict__, "state": PlanState.RUNNING})
    plan = _edit(approved, BODY + "- [ ] Add coupons\n")
    assert plan.state is PlanState.AWAITING_APPROVAL
    relaxed = _edit(
        approved, BODY + "- [ ] Add coupons\n", PlanningDefaults(require_approval=False)
    )
    assert relaxed.state is PlanState.RUNNING


def test_ticking_an_item_in_the_issue_completes_a_pending_task() -> None:
    plan = _edit(plan_of(BODY), BODY.replace("- [ ] Write", "- [x] Write"))
    assert plan.task("T4").status is TaskStatus.COMPLETED


def test_an_item_that_comes_back_is_pending_again() -> None:
    body = "- [ ] Define the cart schema\n- [ ] Implement the cart service\n- [ ] Write docs\n"
    previous = plan_of(body).with_task("T2", status=TaskStatus.IN_PROGRESS)
    gone = _edit(previous, body.replace("- [ ] Implement the cart service\n", ""))
    assert gone.task("T2").status is TaskStatus.CANCELLED
    back = _edit(gone, body)
    assert back.task("T2").status is TaskStatus.PENDING and back.task("T2").in_issue


def test_duplicate_titles_match_in_order() -> None:
    previous = plan_of("- [ ] Same\n- [ ] Same\n")
    fresh = plan_of("- [ ] Other\n- [ ] Same\n- [ ] Same\n")
    merged = merge_plans(previous, fresh)
    assert [t.id for t in merged.tasks] == ["T3", "T1", "T2"]


def test_normalised_titles() -> None:
    assert normalise_title("  Build the **Cart** page!! ") == "build the cart page"
