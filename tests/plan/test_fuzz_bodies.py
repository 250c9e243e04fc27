"""Fuzzing what ``techlead plan`` does with an issue: parse, plan, render the checklist.

Bodies are built from Markdown-ish blocks (task lists, numbered lists, headings, HTML
comments, code fences, "after N", priority markers, paths, any unicode including lone
surrogates, long runs of one character) up to GitHub's 65,536 characters. Whatever
the body, planning ends in a plan whose checklist renders, or in one of the project's
documented PlanErrors, and no input costs more than a second. Time is this process's
CPU time, so other work on a busy machine cannot fail the bound. Files read by the CLI
are fuzzed too: any bytes decode to text or end in a PlanError naming the file.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.plan import decode_issue
from bot.errors import PlanError
from bot.plan.checklist import parse_state, render
from bot.plan.explain import explain
from bot.plan.model import IssueInput, Plan
from bot.plan.planner import PlanningDefaults, make_plan
from bot.plan.replan import replan
from tests.plan.conftest import ROSTER, findings_with

LIMIT = 65_536
SECONDS_PER_INPUT = 1.0
FINDINGS = findings_with("src/shop/cart.py", "tests/test_cart.py", test_framework="pytest")
CONFIG = PlanningDefaults(require_approval=True, max_tasks=40)

WORDS = st.sampled_from(
    [
        "Add", "fix", "the", "cart", "API", "schema", "page", "UI", "tests", "docs",
        "security", "leak", "CVE-2024-1234", "crash", "https://x.y/z", "http", "T1", "#12",
        "src/shop/cart.py", "README.md", "@someone", "(high)", "[P0]", "priority: low",
        "urgent", "!", "!!", "after", "after 1", "after 2 and 3", "depends on T2",
        "blocked by #7", "needs 1-3", "after 99999999999", "once 2 is merged", "we should",
        "need to", "(", ")", "[", "]", ",", ";", ":", "&", "|", "`", "~~~", "<!--", "-->",
        "\ud800", "x\udfffy", "\U0001f600", "e\u0301", "\u202e",
    ]
)  # fmt: skip
UNICODE = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.characters(categories=["Cs"]),  # lone surrogates: a str may hold them
        st.sampled_from(["\u00a0", "\u2028", "\u200b", "\ufeff", "\r", "\x0b", "\x1c"]),
    ),
    max_size=30,
)
PHRASE = st.lists(st.one_of(WORDS, UNICODE), min_size=1, max_size=8).map(" ".join)
RUN = st.builds(
    lambda char, count: char * count,
    st.sampled_from([" ", "!", "#", "-", "a", "1", "(", ",", "/", ".", "\n", "<!--", "- [ ] "]),
    st.integers(min_value=1_000, max_value=LIMIT),
)
FIXED_LINES = [
    "## Steps to reproduce", "## Expected behaviour", "### Tasks", "## Context",
    "<!-- a template comment -->", "<!--", "-->", "```", "```python", "~~~", "---",
    "- [ ] I have searched the issues", "> quoted - [ ] task", "",
]  # fmt: skip
INDENT = st.sampled_from(["", "  ", "    ", "\t"])
BLOCK = st.one_of(
    st.builds(lambda i, t, p: f"{i}- [{t}] {p}", INDENT, st.sampled_from(" xX"), PHRASE),
    st.builds(lambda i, n, p: f"{i}{n}. {p}", INDENT, st.integers(0, 1200), PHRASE),
    st.builds(lambda i, p: f"{i}* {p}", INDENT, PHRASE),
    st.builds(lambda level, p: f"{'#' * level} {p}", st.integers(1, 7), PHRASE),
    st.sampled_from(FIXED_LINES),
    PHRASE,
    RUN,
)
BODY = st.lists(BLOCK, max_size=40).map(lambda blocks: "\n".join(blocks)[:LIMIT])
TITLE = st.one_of(PHRASE, RUN.map(lambda run: run[:300]))
LABELS = st.lists(
    st.one_of(st.sampled_from(["bug", "P0", "priority/high", "security", "docs"]), UNICODE),
    max_size=3,
)


def _plan_and_render(issue: IssueInput) -> tuple[Plan, str] | PlanError:
    """What ``techlead plan`` does: plan, then render the checklist (and --explain)."""
    try:
        plan = make_plan(issue, FINDINGS, ROSTER, CONFIG)
        assert explain(plan).startswith(plan.title)
        return plan, render(plan, FINDINGS)
    except PlanError as exc:
        return exc


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(title=TITLE, body=BODY, labels=LABELS)
def test_any_body_plans_or_fails_with_a_plan_error(
    title: str, body: str, labels: list[str]
) -> None:
    # The body's own start doubles as the repository's issue template.
    issue = IssueInput(title, body, 7, tuple(labels), (body[:500],))
    start = time.process_time()
    outcome = _plan_and_render(issue)
    elapsed = time.process_time() - start
    assert elapsed < SECONDS_PER_INPUT, f"{elapsed:.2f} s"
    if isinstance(outcome, PlanError):
        assert str(outcome)
        return
    plan, body_text = outcome
    assert len(body_text) <= LIMIT
    state = parse_state(body_text)
    assert state is not None and _without_details(state) == _without_details(plan)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(before=BODY, after=BODY)
def test_an_edited_body_replans_or_fails_with_a_plan_error(before: str, after: str) -> None:
    start = time.process_time()
    try:
        previous = make_plan(IssueInput("Cart", before, 7), FINDINGS, ROSTER, CONFIG)
        replan(previous, IssueInput("Cart", after, 7), FINDINGS, ROSTER, CONFIG)
    except PlanError as exc:
        assert str(exc)
    assert time.process_time() - start < 2 * SECONDS_PER_INPUT


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2_000))
def test_any_file_decodes_or_fails_naming_the_file(data: bytes) -> None:
    path = Path("ISSUE.md")
    try:
        text = decode_issue(data, path)
    except PlanError as exc:
        assert str(exc).startswith("ISSUE.md is not a text file")
        return
    assert "\x00" not in text and not text.startswith("\ufeff")


def _without_details(plan: Plan) -> Plan:
    """The state block may drop bodies and reasoning to fit; compare what always stays."""
    return replace(plan, tasks=tuple(replace(t, body="", reasoning=()) for t in plan.tasks))
