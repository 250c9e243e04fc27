"""The deterministic planner over issue texts, table-driven."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agents.research.model import Findings
from bot.errors import CyclicPlanError, DanglingDependencyError, PlanError, TooManyTasksError
from bot.plan.model import (
    IssueInput,
    Plan,
    PlanSource,
    PlanState,
    Priority,
    Task,
    TaskStatus,
)
from bot.plan.planner import PlanningDefaults, clean_title, make_plan
from bot.plan.waves import plan_waves, wave_name
from bot.repo_config import load_defaults
from tests.plan.conftest import ROSTER, findings_with, plan_of, summary


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "- [ ] Define the cart schema\n- [ ] Implement the backend (waits for 1)\n"
            "- [ ] Build the cart page, after 2\n- [ ] Write tests, depends on 2, 3",
            [
                ("T1", "Define the cart schema", ()),
                ("T2", "Implement the backend", ("T1",)),
                ("T3", "Build the cart page", ("T2",)),
                ("T4", "Write tests", ("T2", "T3")),
            ],
        ),
        (
            "* [ ] First\n* [ ] Second — blocked by 1\n* [ ] Third (waits for 1 & 2)",
            [("T1", "First", ()), ("T2", "Second", ("T1",)), ("T3", "Third", ("T1", "T2"))],
        ),
        (
            "1. Migrate the table\n2. Switch reads, after 1\n3) Drop the old column; depends on 2",
            [("T1", "Migrate the table", ()), ("T2", "Switch reads", ("T1",)),
             ("T3", "Drop the old column", ("T2",))],
        ),
        (
            "- [ ] One\n- [ ] Two\n- [ ] Three, requires T1 and T2",
            [("T1", "One", ()), ("T2", "Two", ()), ("T3", "Three", ("T1", "T2"))],
        ),
        (
            "- [ ] One\n- [ ] Two\n  Depends on 1 once it is merged.\n",
            [("T1", "One", ()), ("T2", "Two", ("T1",))],
        ),
        (
            "3. Alpha\n5. Beta after 3\n",
            [("T1", "Alpha", ()), ("T2", "Beta", ("T1",))],
        ),
        (
            "1. Write tests first\n2. Implement (after 1)\n",
            [("T1", "Write tests first", ()), ("T2", "Implement", ("T1",))],
        ),
        (
            "- [ ] Implement the backend\n- [ ] Implement a retry after 3 seconds\n",
            [("T1", "Implement the backend", ()), ("T2", "Implement a retry after 3 seconds", ())],
        ),
    ],
    ids=["checkboxes", "star-bullets", "numbered", "task-ids", "marker-in-details",
         "written-numbers", "explicit-beats-default-order", "quantity-is-not-a-reference"],
)  # fmt: skip
def test_explicit_dependencies(body: str, expected: list) -> None:
    assert summary(plan_of(body)) == expected


def test_default_order_applies_without_markers() -> None:
    plan = plan_of(
        "- [ ] Update the README docs\n- [ ] Write tests for checkout\n"
        "- [ ] Build the checkout page\n- [ ] Implement the checkout service\n"
        "- [ ] Define the checkout API schema\n"
    )
    assert summary(plan) == [
        ("T1", "Update the README docs", ("T3",)),
        ("T2", "Write tests for checkout", ("T3",)),
        ("T3", "Build the checkout page", ("T4",)),
        ("T4", "Implement the checkout service", ("T5",)),
        ("T5", "Define the checkout API schema", ()),
    ]
    assert plan_waves(plan) == (("T5",), ("T4",), ("T3",), ("T2", "T1"))


def test_cross_issue_references_are_external_dependencies() -> None:
    plan = plan_of("- [ ] Upgrade the client once #12 is closed\n- [ ] Use it (after 1, needs #40)")
    assert [(t.id, t.depends_on, t.external_deps) for t in plan.tasks] == [
        ("T1", (), (12,)),
        ("T2", ("T1",), (40,)),
    ]
    assert plan.tasks[0].title == "Upgrade the client"


@pytest.mark.parametrize(
    ("body", "cycle"),
    [
        ("- [ ] A after 2\n- [ ] B after 1", "T1 → T2 → T1"),
        ("- [ ] A\n- [ ] B after 4\n- [ ] C\n- [ ] D after 2", "T2 → T4 → T2"),
        ("- [ ] A after 3\n- [ ] B after 1\n- [ ] C after 2", "T1 → T3 → T2 → T1"),
        ("- [ ] A (depends on T1)", "T1 → T1"),
    ],
    ids=["pair", "spec-example", "triangle", "self"],
)
def test_cycles_are_refused_with_the_cycle_spelled_out(body: str, cycle: str) -> None:
    with pytest.raises(CyclicPlanError) as caught:
        plan_of(body)
    assert " → ".join(caught.value.cycle) == cycle
    assert cycle in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("- [ ] A\n- [ ] B after 7", "T2 waits for item 7, which is not in the plan"),
        ("- [ ] A requires T9", "T1 waits for T9, which is not in the plan"),
    ],
    ids=["item-number", "task-id"],
)
def test_dangling_references_are_refused(body: str, message: str) -> None:
    with pytest.raises(DanglingDependencyError, match=message):
        plan_of(body)


@pytest.mark.parametrize(
    ("line", "labels", "priority"),
    [
        ("Fix checkout (high)", (), Priority.HIGH),
        ("Fix checkout [P0]", (), Priority.HIGH),
        ("Fix checkout P2", (), Priority.MEDIUM),
        ("Fix checkout [low]", (), Priority.LOW),
        ("Fix checkout, priority: low", (), Priority.LOW),
        ("Urgent: fix checkout", (), Priority.HIGH),
        ("Fix checkout!", (), Priority.HIGH),
        ("Fix checkout", ("priority/high",), Priority.HIGH),
        ("Fix checkout", ("P1",), Priority.HIGH),
        ("Fix checkout", ("priority: low",), Priority.LOW),
        ("Fix checkout (medium)", ("priority/high",), Priority.MEDIUM),
        ("Fix the security hole in checkout", (), Priority.HIGH),
        ("Fix the crash on empty carts", (), Priority.HIGH),
        ("Prevent data loss on save", (), Priority.HIGH),
        ("Fix a typo in the docs", (), Priority.LOW),
        ("Fix checkout", (), Priority.MEDIUM),
        ("Fix checkout", ("bug", "enhancement"), Priority.MEDIUM),
    ],
    ids=lambda value: str(value),
)
def test_priorities(line: str, labels: tuple, priority: Priority) -> None:
    plan = plan_of(f"- [ ] {line}", labels=labels)
    assert plan.tasks[0].priority is priority


def test_priority_markers_leave_the_title() -> None:
    plan = plan_of("- [ ] [P0] Fix checkout (waits for #3) !\n- [ ] Then this, priority: low")
    assert [t.title for t in plan.tasks] == ["Fix checkout", "Then this"]


@pytest.mark.parametrize(
    ("line", "findings", "agent"),
    [
        ("Add the cart API endpoint", Findings(), "api-architect"),
        ("Implement the cart service", Findings(), "backend-developer"),
        ("Build the cart page component", Findings(), "frontend-developer"),
        ("Raise test coverage for carts", Findings(), "test-engineer"),
        ("Fix the typo in the README", Findings(), "docs-writer"),
        ("Harden token handling in auth", Findings(), "security-guardian"),
        ("Tidy `web/cart.tsx`", Findings(), "frontend-developer"),
        ("Tidy `tests/test_cart.py`", Findings(), "test-engineer"),
        ("Tidy src/auth/login.py", Findings(), "security-guardian"),
        ("Make carts faster", findings_with("web/cart.tsx", "web/list.tsx"), "frontend-developer"),
        ("Make carts faster", Findings(), "backend-developer"),
        (
            "Compute discounts in the cart total",
            findings_with("docs/api.md", "README.md", "src/shop/cart.py"),
            "backend-developer",
        ),
    ],
    ids=["api", "backend", "frontend", "tests", "docs", "security", "path-tsx",
         "path-test", "path-most-specific", "relevant-files-break-ties",
         "no-match-goes-to-a-developer", "title-word-names-a-relevant-file"],
)  # fmt: skip
def test_specialist_assignment(line: str, findings: Findings, agent: str) -> None:
    task = plan_of(f"- [ ] {line}", findings=findings).tasks[0]
    assert task.agent == agent
    assert task.reasoning[0].startswith(f"{agent}: ")


def test_waves_order_by_priority_then_id() -> None:
    plan = plan_of(
        "- [ ] Low thing [low]\n- [ ] Plain thing\n- [ ] Hot thing (high)\n"
        "- [ ] Next, after 1\n- [ ] Last, after 4 and 2"
    )
    waves = plan_waves(plan)
    assert waves == (("T3", "T2", "T1"), ("T4",), ("T5",))
    assert [wave_name(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


def test_ticked_items_start_completed() -> None:
    plan = plan_of("- [x] Already done\n- [ ] Still to do after 1")
    assert [t.status for t in plan.tasks] == [TaskStatus.COMPLETED, TaskStatus.PENDING]


def test_nested_items_and_code_blocks_are_not_tasks() -> None:
    body = (
        "Intro text.\n\n- [ ] Real task\n  - [ ] nested detail\n\n"
        "```\n- [ ] inside code\n```\n<!-- - [ ] inside a comment -->\n- [ ] Second task\n"
    )
    plan = plan_of(body)
    assert [t.title for t in plan.tasks] == ["Real task", "Second task"]
    assert "nested detail" in plan.tasks[0].body


def test_sections_become_tasks_and_background_does_not() -> None:
    body = (
        "## Background\nWhy we need carts.\n\n## API\nAdd cart endpoints.\n\n"
        "## Frontend\nShow the cart page.\n\n## Screenshots\n(none)\n"
    )
    plan = plan_of(body, findings=findings_with(test_framework="pytest"))
    assert plan.source is PlanSource.SECTIONS
    assert [(t.title, t.agent, t.depends_on) for t in plan.tasks] == [
        ("API", "api-architect", ()),
        ("Frontend", "frontend-developer", ("T1",)),
        ("Add tests for: Add a shopping cart", "test-engineer", ("T2",)),
    ]


def test_bug_report_steps_are_not_tasks() -> None:
    body = "## Steps to reproduce\n1. Open the cart\n2. Click pay\n\n## Expected\nIt works."
    plan = plan_of(body, title="Crash when paying")
    assert plan.source is PlanSource.FALLBACK


def test_a_feature_without_tasks_gets_an_implementation_and_tests_naming_files() -> None:
    findings = findings_with("src/cart.py", "tests/test_cart.py", test_framework="pytest")
    plan = plan_of("Shopping is hard today.", findings=findings)
    assert plan.source is PlanSource.FALLBACK and plan.kind == "feature"
    assert summary(plan) == [
        ("T1", "Implement in src/cart.py: Add a shopping cart", ()),
        ("T2", "Write tests in tests/test_cart.py for: Add a shopping cart", ("T1",)),
    ]
    assert [task.files for task in plan.tasks] == [("src/cart.py",), ("tests/test_cart.py",)]
    assert [task.agent for task in plan.tasks] == ["backend-developer", "test-engineer"]


def test_sentences_that_ask_for_work_become_tasks() -> None:
    plan = plan_of("Carts are forgotten. We should remember the items across sessions.")
    assert plan.source is PlanSource.PROSE
    assert [task.title for task in plan.tasks] == ["Remember the items across sessions"]


@pytest.mark.parametrize(
    ("require_approval", "state"),
    [(True, PlanState.AWAITING_APPROVAL), (False, PlanState.APPROVED)],
    ids=["approval", "no-approval"],
)
def test_initial_state_follows_config(require_approval: bool, state: PlanState) -> None:
    plan = plan_of("- [ ] A", config=PlanningDefaults(require_approval=require_approval))
    assert plan.state is state and plan.version == 1 and plan.next_id == 2


def test_too_many_tasks_are_refused() -> None:
    body = "\n".join(f"- [ ] Task {n}" for n in range(5))
    with pytest.raises(TooManyTasksError, match="lists 5 tasks; a plan holds at most 3"):
        plan_of(body, config=PlanningDefaults(max_tasks=3))


def test_empty_roster_is_refused() -> None:
    with pytest.raises(PlanError, match="roster is empty"):
        make_plan(IssueInput("t", "- [ ] a"), Findings(), (), PlanningDefaults())


class _CyclicPlanner:
    """Stands in for a model-backed planner that returns a bad plan."""

    def plan(self, issue: IssueInput, findings: Findings, roster: Sequence, config: object) -> Plan:
        tasks = (Task("T1", "a", "x", depends_on=("T2",)), Task("T2", "b", "x", depends_on=("T1",)))
        return Plan(issue.title, tasks)


def test_any_planner_passes_through_validation() -> None:
    with pytest.raises(CyclicPlanError, match="T1 → T2 → T1"):
        make_plan(
            IssueInput("t", ""), Findings(), ROSTER, PlanningDefaults(), planner=_CyclicPlanner()
        )


def test_the_shipped_roster_plans_a_typical_issue() -> None:
    config = load_defaults()
    body = (
        "- [ ] Define the cart API schema\n- [ ] Add the carts table migration\n"
        "- [ ] Implement the cart service (after 1, 2)\n- [ ] Build the cart page UI (after 3)\n"
        "- [ ] Write e2e tests (after 4)\n- [ ] Update the README (after 4)"
    )
    plan = make_plan(IssueInput("Cart", body), Findings(), config.agents, config.planning)
    assert [t.agent for t in plan.tasks] == [
        "api-architect",
        "database-expert",
        "backend-developer",
        "frontend-developer",
        "test-engineer",
        "docs-writer",
    ]


def test_plans_are_deterministic_and_round_trip() -> None:
    body = "- [ ] Schema (high)\n- [ ] Service after 1 and #4\n- [x] Docs"
    first, second = plan_of(body), plan_of(body)
    assert first == second
    assert Plan.from_dict(first.to_dict()) == first


@pytest.mark.parametrize(
    ("text", "spans", "title"),
    [
        ("Build it (waits for 1)", [(9, 22)], "Build it"),
        ("Build it, after 2", [(8, 17)], "Build it"),
        ("[P0] Build it", [(0, 4)], "Build it"),
        ("Build — after 1", [(8, 15)], "Build"),
    ],
    ids=["parenthesised", "comma", "leading-marker", "em-dash"],
)
def test_clean_title(text: str, spans: list, title: str) -> None:
    assert clean_title(text, spans) == title


def test_acceptance_criteria_are_not_tasks_when_there_is_a_task_list() -> None:
    body = (
        "## Tasks\n- [ ] Implement the cart service\n- [ ] Build the cart page\n\n"
        "## Acceptance criteria\n- [ ] Totals are right\n\n## Background\n1. Users asked\n"
    )
    assert [t.title for t in plan_of(body).tasks] == [
        "Implement the cart service",
        "Build the cart page",
    ]


def test_checkboxes_under_a_background_heading_count_when_they_are_all_there_is() -> None:
    body = "## Acceptance criteria\n- [ ] Totals are right\n- [ ] Coupons apply\n"
    assert [t.title for t in plan_of(body).tasks] == ["Totals are right", "Coupons apply"]
