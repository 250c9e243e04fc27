"""Issue bodies built to make backtracking regexes go quadratic are read in linear time.

Each input is GitHub's largest issue body (65,536 characters). Before the parsers
were made linear these took from 6 s (an unclosed ``<!--`` run) to 72 s (a heading
line of spaces). The bound here (1 s of CPU) is a generous guard; speed targets live
in bench/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.errors import PlanError
from bot.plan.assign import mentioned_paths
from bot.plan.checklist import merge_ticks, parse_state, parse_ticks, render
from bot.plan.commands import parse_commands
from bot.plan.deps import find_dependencies
from bot.plan.model import PlanSource, Priority
from bot.plan.parse import parse_issue, strip_comments
from bot.plan.planner import clean_title
from bot.plan.priority import decide_priority
from tests.plan.conftest import plan_of

LIMIT = 65_536
# This process's CPU time, and a wall-clock bound generous enough for a busy shared
# machine: a quadratic parser takes tens of seconds on these inputs either way.
CPU_SECONDS = 1.0
WALL_SECONDS = 5.0


def _timed(call: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert cpu < CPU_SECONDS and wall < WALL_SECONDS, f"took {cpu:.2f} s CPU, {wall:.2f} s"
    return result


def _heading_title() -> str:
    return parse_issue("## a" + " " * 65_531 + "x").items[0].text


def _bang_title() -> tuple[Priority, str]:
    title = "Fix the cart " + "!" * (LIMIT - 14) + "x"
    decision = decide_priority(title, title, ())
    return decision.priority, decision.reason


def _trailing_spaces_bang() -> tuple[Priority, int]:
    title = "Ship it" + " " * (LIMIT - 9) + "!"
    decision = decide_priority(title, title, ())
    return decision.priority, len(clean_title(title, decision.spans))


CASES: list[tuple[str, Callable[[], Any], Any]] = [
    ("heading-of-spaces", _heading_title, "a" + " " * 65_531 + "x"),
    ("open-comments", lambda: parse_issue("<!--" * 16_384), parse_issue("")),
    ("open-comments-stripped", lambda: strip_comments("<!--" * 16_384), ""),
    (
        "open-comments-mid-line",
        lambda: strip_comments("text <!--" + "<!--" * 16_382),
        "text <!--" + "<!--" * 16_382,
    ),
    ("bang-run", _bang_title, (Priority.MEDIUM, "no priority given")),
    ("spaces-then-bang", _trailing_spaces_bang, (Priority.HIGH, 7)),
    ("path-run", lambda: mentioned_paths("a" * LIMIT), []),
    ("path-dots", lambda: mentioned_paths("a." * (LIMIT // 2)), []),
    ("path-slashes", lambda: mentioned_paths("a/" * (LIMIT // 2)), ["a/" * (LIMIT // 2 - 1) + "a"]),
    (
        "after-spaces",
        lambda: find_dependencies("after" + " " * (LIMIT - 6) + "x").items,
        (),
    ),
    ("range-to-a-huge-number", lambda: find_dependencies("after 2-" + "9" * 5000).items, (2,)),
    (
        "checkbox-trailing-spaces",
        lambda: [i.text for i in parse_issue("- [ ] a" + " " * (LIMIT - 7)).items],
        ["a"],
    ),
    (
        "numbered-trailing-spaces",
        lambda: [i.text for i in parse_issue("1. a" + " " * (LIMIT - 4)).items],
        ["a"],
    ),
    (
        "priority-bracket-spaces",
        lambda: decide_priority("(priority" + " " * (LIMIT - 10) + "x", "", ()).priority,
        Priority.MEDIUM,
    ),
    (
        "priority-label-spaces",
        lambda: decide_priority("x", "", ("high" + " " * (LIMIT - 5) + "x",)).priority,
        Priority.MEDIUM,
    ),
    ("title-commas", lambda: clean_title("x" + "," * (LIMIT - 2) + "y", ()), "x,y"),
    ("title-brackets", lambda: clean_title("x (" + " " * (LIMIT - 3), ()), "x"),
    ("command-comments", lambda: parse_commands("<!--" * 16_384), []),
    ("control-newlines", lambda: parse_ticks("\n" * LIMIT).controls, ()),
    ("merge-newlines", lambda: merge_ticks("- [x] " + "\n" * LIMIT, "body"), "body"),
    (
        "state-spaces",
        lambda: parse_state("<!-- techlead:state v1 " + " " * LIMIT),
        None,
    ),
]


@pytest.mark.parametrize(("call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_is_read_in_linear_time(call: Callable[[], Any], expected: Any) -> None:
    assert _timed(call) == expected


BODIES = [
    ("heading-of-spaces", "## a" + " " * 65_531 + "x"),
    ("open-comments", "<!--" * 16_384),
    ("bangs", "- [ ] " + "!" * (LIMIT - 7) + "x"),
    ("path-run", "- [ ] " + "a" * (LIMIT - 6)),
    ("newlines", "\n" * LIMIT),
    ("after-spaces", "- [ ] a after" + " " * (LIMIT - 14) + "x"),
    ("nested-lists", "".join(f"{' ' * (i % 40)}- [ ] t{i}\n" for i in range(1500))[:LIMIT]),
]


@pytest.mark.parametrize("body", [b for _, b in BODIES], ids=[i for i, _ in BODIES])
def test_planning_a_hostile_body_ends_within_a_second(body: str) -> None:
    def plan_and_render() -> str:
        try:
            return render(plan_of(body))
        except PlanError as exc:
            return str(exc)

    assert _timed(plan_and_render)


def test_the_heading_of_spaces_plans_as_one_section() -> None:
    plan = _timed(lambda: plan_of("## a" + " " * 65_531 + "x"))
    assert plan.source is PlanSource.SECTIONS
    assert [task.title for task in plan.tasks] == ["a x"]


def test_an_open_comment_hides_the_rest_of_the_body() -> None:
    plan = plan_of("- [ ] Write the cart\n<!--\n- [ ] hidden task" + "<!--" * 16_000)
    assert [task.title for task in plan.tasks] == ["Write the cart"]
