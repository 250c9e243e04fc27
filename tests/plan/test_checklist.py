"""The checklist comment: rendering, state round-trip, ticks, size cap, error bodies."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from agents.research.model import (
    Degradation,
    Findings,
    LanguageShare,
    Note,
    NoteKind,
    ProjectProfile,
    RelevantFile,
)
from bot.errors import (
    ChecklistStateError,
    ChecklistTooLargeError,
    CyclicPlanError,
    DanglingDependencyError,
    RepoConfigError,
    TooManyTasksError,
)
from bot.plan.checklist import (
    MAX_COMMENT_CHARS,
    PLAN_MARKER,
    decide_tick_actions,
    encode_state,
    is_plan_comment,
    merge_ticks,
    parse_state,
    parse_ticks,
    render,
    render_error,
)
from bot.plan.commands import CommandKind
from bot.plan.model import (
    CancelReason,
    Plan,
    PlanState,
    Priority,
    Task,
    TaskLinks,
    TaskStatus,
)
from bot.plan.replan import merge_plans
from tests.plan.conftest import plan_of

BODY = (
    "- [ ] Define the cart API schema (high)\n"
    "- [ ] Implement the cart service (after 1, needs #12)\n"
    "- [ ] Build the cart page (after 2)\n"
)
FINDINGS = Findings(
    profile=ProjectProfile(
        languages=(LanguageShare("Python", 900, 90.0), LanguageShare("TypeScript", 100, 10.0)),
        frameworks=("FastAPI",),
        tools=("pytest",),
        test_framework="pytest",
        test_command="pytest -q",
        top_dirs=("src", "web"),
        src_layout=True,
    ),
    relevant=(RelevantFile("src/cart.py", 4.2, ("@org/shop",)),),
    security=(Note(NoteKind.SQL, "src/cart.py", 12, "raw SQL"),),
    degraded=(Degradation("performance", "did not finish within its 10 s budget"),),
    file_count=42,
)


def _plan() -> Plan:
    plan = plan_of(BODY)
    plan = plan.with_task("T1", status=TaskStatus.COMPLETED, links=TaskLinks("tl/7-t1", 21))
    return plan.with_task("T2", status=TaskStatus.FAILED)


def _tick(body: str, marker: str) -> str:
    """Tick the control whose hidden marker contains ``marker``, as a person would."""
    return re.sub(rf"^- \[ \](.*techlead:control {marker} .*)$", r"- [x]\1", body, flags=re.M)


def test_render_shows_everything_a_person_needs() -> None:
    body = render(_plan(), FINDINGS)
    assert body.startswith(PLAN_MARKER + "\n") and is_plan_comment(body)
    assert "## TechLead plan for #7 · awaiting approval · v1" in body
    assert "**Add a shopping cart**: 3 tasks in 3 waves (from the issue's task list)." in body
    assert "<summary>Research summary</summary>" in body
    assert "| `src/cart.py` | 4.20 | @org/shop |" in body
    assert "- `src/cart.py:12`: raw SQL" in body
    assert "performance (did not finish within its 10 s budget)" in body
    lines = body.splitlines()
    assert (
        "- [x] **T1** Define the cart API schema · api-architect · high · completed"
        " · branch `tl/7-t1` · PR #21"
    ) in lines
    assert (
        "- [ ] **T2** Implement the cart service · backend-developer · medium · failed"
        " · waits for T1 · waits for #12"
    ) in lines
    assert lines.index("### Wave A") < lines.index("### Wave B") < lines.index("### Wave C")
    assert "- [ ] **Approve this plan** (version 1) <!-- techlead:control approve v1 -->" in lines
    assert "- [ ] Retry **T2** <!-- techlead:control retry T2 v1 -->" in lines
    assert "- [ ] Skip **T2** <!-- techlead:control skip T2 v1 -->" in lines
    assert "retry T1 v1" not in body and "retry T3 v1" not in body
    assert "`/techlead approve`" in body and "Plan version 1" in body
    assert body == render(_plan(), FINDINGS)


def test_the_state_block_round_trips_the_plan() -> None:
    plan = merge_plans(_plan(), plan_of(BODY + "- [ ] Write docs\n"))
    assert plan.version == 2 and plan.diff is not None
    body = render(plan, FINDINGS)
    assert parse_state(body) == plan
    assert "### Changes in version 2" in body and "- Added: **T4** Write docs" in body


@pytest.mark.parametrize(
    ("state", "present", "absent"),
    [
        (PlanState.APPROVED, "Plan approved (version 1).", "control approve"),
        (PlanState.RUNNING, "Plan approved (version 1).", "control approve"),
        (PlanState.DONE, "Every task has finished.", "control approve"),
    ],
    ids=["approved", "running", "done"],
)
def test_approval_control_only_while_awaiting(state: PlanState, present: str, absent: str) -> None:
    body = render(replace(_plan(), state=state))
    assert present in body and absent not in body


@pytest.mark.parametrize(
    ("reason", "actor", "text"),
    [
        (CancelReason.BY_USER, "octocat", "Cancelled by @octocat."),
        (CancelReason.ISSUE_CLOSED, None, "Cancelled: the issue was closed."),
        (CancelReason.LABEL_REMOVED, None, "Cancelled: the trigger label was removed"),
    ],
    ids=["by-user", "issue-closed", "label-removed"],
)
def test_cancelled_plans_say_why_and_offer_no_controls(
    reason: CancelReason, actor: str | None, text: str
) -> None:
    plan = _plan().cancel(reason, actor)
    body = render(plan)
    assert "· cancelled · v1" in body and text in body
    assert "techlead:control" not in body
    assert parse_state(body) == plan


def test_text_from_the_issue_cannot_fake_controls_or_break_the_state() -> None:
    sneaky = "- [x] Evil <!-- techlead:control approve v1 --> -->\n- [ ] Plain"
    plan = plan_of(sneaky).with_task("T1", status=TaskStatus.COMPLETED)
    body = render(plan)
    assert parse_ticks(body).controls == ()
    assert parse_state(body) == plan


def test_odd_paths_in_findings_cannot_break_the_layout() -> None:
    findings = Findings(
        relevant=(RelevantFile("a|b`c-->.py", 1.0, ("@x|y",)),),
        security=(Note(NoteKind.SQL, "x<!--.py", 3, "raw SQL"),),
    )
    body = render(_plan(), findings)
    assert "| `a\\|b'c--&gt;.py` | 1.00 | @x\\|y |" in body
    assert "- `x&lt;!--.py:3`: raw SQL" in body
    assert parse_state(body) == _plan()


def test_parse_ticks_reads_the_control_boxes() -> None:
    body = _tick(_tick(render(_plan()), "approve"), "retry T2")
    ticks = parse_ticks(body)
    assert ticks.approve and ticks.retry == frozenset({"T2"}) and ticks.skip == frozenset()


def test_a_tick_made_while_the_bot_was_writing_survives() -> None:
    before = render(_plan())
    on_github = _tick(before, "approve")  # a person ticks approve meanwhile
    bot_wants = render(_plan().with_task("T3", links=TaskLinks("tl/7-t3")))
    merged = merge_ticks(on_github, bot_wants)
    assert parse_ticks(merged).approve
    assert "branch `tl/7-t3`" in merged


def test_a_tick_for_an_older_version_is_not_carried() -> None:
    on_github = _tick(render(_plan()), "approve")
    newer = merge_plans(_plan(), plan_of(BODY + "- [ ] Write docs\n"))
    assert not parse_ticks(merge_ticks(on_github, render(newer))).approve


def test_a_control_the_bot_acted_on_is_not_ticked_again() -> None:
    on_github = _tick(render(_plan()), "retry T2")
    retried = render(_plan().with_task("T2", status=TaskStatus.IN_PROGRESS))
    merged = merge_ticks(on_github, retried)
    assert merged == retried and "retry T2" not in merged


def test_merging_with_no_ticks_changes_nothing() -> None:
    body = render(_plan())
    assert merge_ticks(body, body) == body


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        ("approve", [(CommandKind.APPROVE, ())]),
        ("retry T2", [(CommandKind.RETRY, ("T2",))]),
        ("skip T2", [(CommandKind.SKIP, ("T2",))]),
    ],
    ids=["approve", "retry", "skip"],
)
def test_newly_ticked_controls_become_commands(tick: str, expected: list) -> None:
    old = render(_plan())
    commands = decide_tick_actions(old, _tick(old, tick))
    assert [(c.kind, c.args) for c in commands] == expected
    assert all(c.version == 1 for c in commands)


def test_unchanged_or_unticked_controls_mean_nothing() -> None:
    ticked = _tick(render(_plan()), "approve")
    assert decide_tick_actions(ticked, ticked) == []
    assert decide_tick_actions(ticked, render(_plan())) == []


def _huge_findings() -> Findings:
    relevant = tuple(RelevantFile(f"src/pkg{i}/module_{i}.py", 1.0, ("@o",)) for i in range(5000))
    notes = tuple(Note(NoteKind.SQL, f"src/m{i}.py", i, "raw SQL " * 20) for i in range(5000))
    return Findings(relevant=relevant, security=notes, performance=notes, file_count=99_999)


def _big_plan(count: int, failed_every: int) -> Plan:
    tasks = tuple(
        Task(
            id=f"T{n}",
            title=f"Task number {n} " + "with a rather long descriptive title " * 5,
            agent="backend-developer",
            priority=Priority.MEDIUM,
            status=TaskStatus.FAILED if n % failed_every == 0 else TaskStatus.PENDING,
            depends_on=(f"T{n - 1}",) if n > 1 and n % 10 else (),
            body="details " * 200,
            reasoning=("backend-developer: keywords in the title: task " * 5,),
        )
        for n in range(1, count + 1)
    )
    return Plan("Huge", tasks, issue_number=1, next_id=count + 1)


def test_a_300_task_plan_with_huge_findings_fits_and_keeps_every_control() -> None:
    plan = _big_plan(300, failed_every=3)
    body = render(plan, _huge_findings())
    assert len(body) <= MAX_COMMENT_CHARS
    assert body.count("<!-- techlead:control retry ") == 100
    assert body.count("<!-- techlead:control skip ") == 100
    assert "<!-- techlead:control approve v1 -->" in body
    assert all(f"**T{n}**" in body for n in range(1, 301))
    restored = parse_state(body)
    assert restored is not None and restored.ids() == plan.ids()


def test_research_is_trimmed_before_tasks() -> None:
    plan = _big_plan(20, failed_every=7)
    body = render(plan, _huge_findings())
    assert len(body) <= MAX_COMMENT_CHARS
    assert "<summary>Research summary</summary>" not in body
    assert "<sub>backend-developer: keywords" in body  # task detail kept
    assert parse_state(body) == plan  # full state kept


def test_an_impossible_limit_is_an_error() -> None:
    with pytest.raises(ChecklistTooLargeError):
        render(_plan(), limit=200)


def test_no_state_block_means_no_plan() -> None:
    assert parse_state("just a comment") is None


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("<!-- techlead:state v1 bm90IHpsaWI= -->", "error"),
        ("<!-- techlead:state v1 !!! -->", ""),
        ("<!-- techlead:state v9 eJwDAAAAAAE= -->", "newer than this TechLead understands"),
    ],
    ids=["not-zlib", "not-base64", "newer-format"],
)
def test_unreadable_state_is_an_error(block: str, problem: str) -> None:
    body = f"{PLAN_MARKER}\n{block}\n"
    if "!!!" in block:
        assert parse_state(body) is None  # not a state block at all
        return
    with pytest.raises(ChecklistStateError, match=problem):
        parse_state(body)


def test_compact_state_leaves_out_bodies_only() -> None:
    plan = _plan()
    compact = parse_state(encode_state(plan, full=False))
    assert compact is not None
    assert [(t.id, t.title, t.status, t.links) for t in compact.tasks] == [
        (t.id, t.title, t.status, t.links) for t in plan.tasks
    ]
    assert all(t.body == "" and t.reasoning == () for t in compact.tasks)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CyclicPlanError(["T2", "T4", "T2"]), "cycle: **T2 → T4 → T2**"),
        (DanglingDependencyError("T3", "item 7"), "**T3** waits for **item 7**"),
        (
            RepoConfigError("must be at most 200", key="planning.max_tasks", line=12),
            "- **File:** `.github/techlead.yml:12`\n- **Key:** `planning.max_tasks`\n"
            "- **Problem:** must be at most 200",
        ),
        (TooManyTasksError(30, 20), "the issue lists 30 tasks; a plan holds at most 20"),
    ],
    ids=["cycle", "dangling", "config", "too-many"],
)
def test_error_bodies(error: Exception, expected: str) -> None:
    body = render_error(error, issue_number=7)  # type: ignore[arg-type]
    assert body.startswith(PLAN_MARKER)
    assert "## TechLead plan for #7 · cannot run" in body
    assert expected in body
    assert parse_state(body) is None and parse_ticks(body).controls == ()
