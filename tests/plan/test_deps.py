"""Dependency phrases, the default order, cycles and dangling references."""

from __future__ import annotations

import pytest

from bot.errors import CyclicPlanError, DanglingDependencyError
from bot.plan.deps import (
    categorise,
    default_dependencies,
    find_cycle,
    find_dependencies,
    validate,
)
from bot.plan.model import Category, Plan, Task


@pytest.mark.parametrize(
    ("text", "items", "tasks", "issues"),
    [
        ("Implement cart backend (waits for 1 & 2)", (1, 2), (), ()),
        ("Build the page after 3", (3,), (), ()),
        ("depends on 1, 2", (1, 2), (), ()),
        ("Depends on: 1 and 2.", (1, 2), (), ()),
        ("blocked by 4", (4,), (), ()),
        ("Blocked on item 4", (4,), (), ()),
        ("waiting on 2", (2,), (), ()),
        ("Deploy once 1 is done", (1,), (), ()),
        ("ship when ready, after 2 lands", (2,), (), ()),
        ("after steps 1-3", (1, 2, 3), (), ()),
        ("after tasks 1, 2, and 3", (1, 2, 3), (), ()),
        ("requires T3", (), ("T3",), ()),
        ("depends on t2 and T4", (), ("T2", "T4"), ()),
        ("needs #12", (), (), (12,)),
        ("waits for issue 45", (), (), (45,)),
        ("blocked by #7 and 2", (2,), (), (7,)),
        ("AFTER 2", (2,), (), ()),
        ("after 1) then", (1,), (), ()),
    ],
    ids=lambda value: str(value),
)
def test_dependency_phrases(text: str, items: tuple, tasks: tuple, issues: tuple) -> None:
    refs = find_dependencies(text)
    assert (refs.items, refs.tasks, refs.issues) == (items, tasks, issues)


@pytest.mark.parametrize(
    "text",
    [
        "Retry after 3 seconds",
        "needs 2 reviewers",
        "after login works",
        "Cache entries expire after 10 minutes",
        "See #12 for context",
        "Version 1 and 2 of the API",
        "after step 3 of the wizard",
        "the afternoon 3 run",
    ],
    ids=lambda value: str(value),
)
def test_phrases_that_are_not_dependencies(text: str) -> None:
    refs = find_dependencies(text)
    assert (refs.items, refs.tasks, refs.issues) == ((), (), ())


@pytest.mark.parametrize(
    ("title", "agent", "category"),
    [
        ("Define the cart schema", "backend-developer", Category.CONTRACT),
        ("Write tests for the cart schema", "backend-developer", Category.TESTS),
        ("Document the API schema", "api-architect", Category.DOCS),
        ("Build the cart page", "backend-developer", Category.FRONTEND),
        ("Implement checkout", "backend-developer", Category.IMPLEMENTATION),
        ("Cover checkout", "test-engineer", Category.TESTS),
        ("Explain checkout", "docs-writer", Category.DOCS),
        ("Checkout endpoints", "api-architect", Category.CONTRACT),
        ("Checkout", "frontend-developer", Category.FRONTEND),
    ],
    ids=lambda value: str(value),
)
def test_categories(title: str, agent: str, category: Category) -> None:
    assert categorise(title, agent) is category


def test_default_order_waits_for_the_nearest_earlier_stage() -> None:
    tasks = [
        ("T1", Category.IMPLEMENTATION),
        ("T2", Category.CONTRACT),
        ("T3", Category.TESTS),
        ("T4", Category.DOCS),
        ("T5", Category.IMPLEMENTATION),
        ("T6", Category.FRONTEND),
    ]
    assert default_dependencies(tasks) == {
        "T1": ("T2",),
        "T2": (),
        "T3": ("T6",),
        "T4": ("T6",),
        "T5": ("T2",),
        "T6": ("T1", "T5"),
    }


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"T1": [], "T2": ["T4"], "T4": ["T2"]}, ["T2", "T4", "T2"]),
        ({"T5": ["T3"], "T3": ["T9"], "T9": ["T5"]}, ["T3", "T9", "T5", "T3"]),
        ({"T3": ["T3"]}, ["T3", "T3"]),
        ({"T1": ["T2"], "T2": []}, None),
        ({"T10": ["T2"], "T2": ["T10"]}, ["T2", "T10", "T2"]),
    ],
    ids=["pair", "triangle", "self", "acyclic", "numeric-order"],
)
def test_find_cycle(graph: dict, cycle: list | None) -> None:
    assert find_cycle(graph) == cycle


def test_cycle_error_spells_the_cycle_out() -> None:
    plan = Plan(
        "x", (Task("T2", "a", "x", depends_on=("T4",)), Task("T4", "b", "x", depends_on=("T2",)))
    )
    with pytest.raises(CyclicPlanError) as caught:
        validate(plan)
    assert str(caught.value) == "dependency cycle: T2 → T4 → T2"


def test_dangling_reference_is_named() -> None:
    plan = Plan("x", (Task("T1", "a", "x", depends_on=("T9",)),))
    with pytest.raises(DanglingDependencyError, match="T1 waits for T9, which is not in the plan"):
        validate(plan)
