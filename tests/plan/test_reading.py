"""The planner reads an issue as a person does: seed scenarios, kinds, templates, links."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agents.research.model import Findings
from bot.errors import TooManyTasksError
from bot.plan.checklist import render
from bot.plan.model import IssueInput, Plan, PlanSource, Priority, TaskStatus
from bot.plan.planner import PlanningDefaults, make_plan
from bot.plan.reading import IssueKind, classify, is_confirmation, normalise, template_lines
from bot.repo_config import load_defaults
from tests.plan.conftest import findings_with

DEFAULTS = load_defaults()


def plan(
    title: str,
    body: str,
    *,
    labels: Sequence[str] = (),
    findings: Findings | None = None,
    templates: Sequence[str] = (),
    max_tasks: int = 20,
) -> Plan:
    issue = IssueInput(title, body, 7, tuple(labels), tuple(templates))
    config = PlanningDefaults(max_tasks=max_tasks)
    return make_plan(issue, findings or Findings(), DEFAULTS.agents, config)


def rows(result: Plan) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(t.title, t.agent, t.priority.value, t.depends_on) for t in result.tasks]


AUTH_TASKS = [
    ("Design authentication flow", "security-guardian", "high", ()),
    ("Plan user interface mockups", "frontend-developer", "medium", ()),
    ("Implement authentication API", "backend-developer", "high", ("T1",)),
]


@pytest.mark.parametrize(
    ("title", "body"),
    [
        (
            "Design authentication flow (high priority)",
            "- [ ] Design authentication flow\n- [ ] Plan user interface mockups\n"
            "- [ ] Implement authentication API\n",
        ),
        (
            "User authentication",
            "1. Design authentication flow (high priority)\n2. Plan user interface mockups\n"
            "3. Implement authentication API\n",
        ),
    ],
    ids=["marker-in-the-issue-title", "marker-on-the-first-item"],
)
@pytest.mark.parametrize(
    "findings",
    [
        Findings(),
        findings_with(
            "src/auth/api.py", "web/login.tsx", "tests/test_auth.py", test_framework="pytest"
        ),
    ],
    ids=["no-research", "with-research"],
)
def test_the_authentication_seed_plans_exactly(title: str, body: str, findings: Findings) -> None:
    result = plan(title, body, findings=findings)
    assert "priority" not in result.title
    assert rows(result) == AUTH_TASKS


def test_the_title_marker_leaves_the_plan_title() -> None:
    result = plan("Design authentication flow (high priority)", "- [ ] Design it")
    assert result.title == "Design authentication flow"


@pytest.mark.parametrize(
    "body",
    [
        "We need to build a payment system for the shop. It must meet PCI compliance and "
        "card data must be stored securely. Customers pay through a payment form on the "
        "checkout page, and an order API creates and lists orders.",
        "",
    ],
    ids=["prose", "title-only"],
)
def test_the_payment_seed_is_not_the_fixed_template(body: str) -> None:
    title = (
        "Build a payment system"
        if body
        else "Build a payment system with PCI compliance, card data stored securely, "
        "a payment form and an order API"
    )
    result = plan(title, body)
    titles = [task.title for task in result.tasks]
    assert not any(
        t.startswith(("Design the change:", "Update the documentation:")) for t in titles
    )
    security = [t for t in result.tasks if t.agent == "security-guardian"]
    assert security and all(t.priority is Priority.HIGH for t in security)
    agents = {task.agent for task in result.tasks}
    assert {"frontend-developer", "api-architect"} <= agents


BUG_TEMPLATE_BODY = (
    "### Initial Checks\n\n"
    "- [X] I confirm that I'm using Pydantic V2\n"
    "- [x] I have searched GitHub for a duplicate issue\n\n"
    "### Description\n\nSerialising a model with a nested enum raises a TypeError.\n\n"
    "### Example Code\n\n```py\nModel(x=1).model_dump()\n```\n"
)


def test_an_open_bug_never_comes_out_with_every_task_completed() -> None:
    findings = findings_with("pydantic/main.py", "tests/test_main.py")
    result = plan(
        "model_dump raises TypeError on nested enums", BUG_TEMPLATE_BODY, findings=findings
    )
    assert result.kind == "bug" and result.source is PlanSource.FALLBACK
    assert rows(result) == [
        (
            "Write a failing test in tests/test_main.py that reproduces: "
            "model_dump raises TypeError on nested enums",
            "test-engineer",
            "medium",
            (),
        ),
        (
            "Fix in pydantic/main.py: model_dump raises TypeError on nested enums",
            "backend-developer",
            "medium",
            (),
        ),
    ]
    assert all(task.status is TaskStatus.PENDING for task in result.tasks)


def test_a_bug_whose_own_items_are_all_ticked_still_has_work_left() -> None:
    body = "- [x] Find the cause\n- [x] Write it down\n"
    result = plan("Crash on empty carts", body)
    statuses = [task.status for task in result.tasks]
    assert statuses[:2] == [TaskStatus.COMPLETED, TaskStatus.COMPLETED]
    assert TaskStatus.PENDING in statuses[2:]


def test_a_tracker_with_34_of_36_items_ticked_plans_with_them_completed() -> None:
    lines = [
        f"- [{'x' if n <= 34 else ' '}] Migrate module {n} to the new client" for n in range(1, 37)
    ]
    result = plan("Move every module to the new client", "\n".join(lines), max_tasks=20)
    assert len(result.tasks) == 36
    assert sum(t.status is TaskStatus.COMPLETED for t in result.tasks) == 34
    assert [t.id for t in result.tasks if t.status is TaskStatus.PENDING] == ["T35", "T36"]
    assert result.kind == "tracking"


def test_open_items_over_the_limit_are_still_refused() -> None:
    lines = [f"- [ ] Migrate module {n}" for n in range(1, 6)]
    with pytest.raises(TooManyTasksError):
        plan("Move modules", "\n".join(lines), max_tasks=4)


def test_the_repository_issue_template_text_is_never_a_task() -> None:
    template = "---\nname: Bug\n---\n- [ ] I read the FAQ page before filing\n## Describe it\n"
    body = "- [x] I read the FAQ page before filing\n- [ ] Fix the cart total\n"
    result = plan("Cart total", body, templates=[template])
    assert [task.title for task in result.tasks] == ["Fix the cart total"]


@pytest.mark.parametrize(
    "line",
    [
        "- [x] I have searched the issues of this repository",
        "- [X] I confirm that I'm using Pydantic V2",
        "* [x] I agree to follow this project's Code of Conduct",
        "- [x] The bug is reproducible against the latest release and/or `master`.",
    ],
    ids=["searched", "confirm", "code-of-conduct", "reproducible"],
)
def test_common_template_confirmations_are_recognised(line: str) -> None:
    assert is_confirmation(normalise(line))
    assert template_lines(["label: I read the FAQ page before filing"]) == {
        "i read the faq page before filing"
    }


def test_items_that_only_link_an_issue_are_linked_not_tasks() -> None:
    body = (
        "- [ ] #12\n- [ ] encode/httpx#2084\n"
        "- [ ] https://github.com/encode/httpx/issues/2081\n- [ ] Write the migration guide\n"
    )
    result = plan("Roadmap to 1.0", body)
    assert [task.title for task in result.tasks] == ["Write the migration guide"]
    assert result.linked == (
        "#12",
        "encode/httpx#2084",
        "https://github.com/encode/httpx/issues/2081",
    )
    assert (
        "Linked issues (tracked there, not planned here): #12, encode/httpx#2084, "
        "https://github.com/encode/httpx/issues/2081\n"
    ) in render(result)


@pytest.mark.parametrize(
    ("title", "body", "labels", "kind"),
    [
        ("Crash when paying", "", (), IssueKind.BUG),
        ("Add a dark mode", "", ("enhancement",), IssueKind.FEATURE),
        ("Bump Flask to 2.3.2 (CVE-2023-30861)", "", (), IssueKind.SECURITY),
        ("Session ignores verify=False", "", ("bug",), IssueKind.SECURITY),
        ("Parsing is 20 times slower than 1.x", "", ("bug",), IssueKind.PERFORMANCE),
        ("iter_lines() hangs forever on a large chunk", "", (), IssueKind.PERFORMANCE),
        ("Document the retry option", "", (), IssueKind.DOCS),
        ("Cleanup `_utils.py`", "", (), IssueKind.REFACTOR),
        ("Migrate to Pydantic 2", "", (), IssueKind.TRACKING),
        ("URL parsed wrong", "It allows an SSRF to internal hosts.", (), IssueKind.SECURITY),
        ("Odd output", "Traceback (most recent call last):\n  File x", (), IssueKind.BUG),
        ("Use COMPREPLY", "This is clearly a typo.", (), IssueKind.BUG),
    ],
    ids=["bug-word", "feature-label", "cve", "tls-verify", "n-times-slower", "hang",
         "docs", "refactor", "migration", "ssrf-in-body", "traceback", "typo-in-code"],
)  # fmt: skip
def test_the_issue_kind(title: str, body: str, labels: tuple[str, ...], kind: IssueKind) -> None:
    assert classify(title, body, labels).kind is kind


SEC, DEV, TEST, PERF = (
    "security-guardian",
    "backend-developer",
    "test-engineer",
    "performance-expert",
)


@pytest.mark.parametrize(
    ("title", "labels", "agents", "priority"),
    [
        ("Bump Flask to 2.3.2 (CVE-2023-30861)", (), {SEC, "devops-engineer"}, "high"),
        ("Session ignores verify=False", (), {SEC, DEV, TEST}, "high"),
        ("iter_lines() hangs forever on a large chunk", (), {PERF, DEV}, "high"),
        ("Parsing is 20 times slower than 1.x", (), {PERF}, "medium"),
        ("Cleanup `_utils.py`", (), {DEV, "code-reviewer"}, "low"),
        ("Document the retry option", (), {"docs-writer"}, "low"),
        ("Error could be more helpful", ("bug",), {DEV, TEST}, "low"),
    ],
    ids=["dependency-cve", "tls", "hang", "slower", "refactor", "docs", "message-only-bug"],
)
def test_each_kind_gets_its_specialists_and_priority(
    title: str, labels: tuple[str, ...], agents: set[str], priority: str
) -> None:
    result = plan(title, "", labels=labels, findings=findings_with("src/app/core.py"))
    assert agents <= {task.agent for task in result.tasks}
    assert max(result.tasks, key=lambda t: -t.priority.rank).priority.value == priority


def test_a_performance_plan_starts_with_a_benchmark() -> None:
    result = plan("iter_lines() hangs forever", "", findings=findings_with("src/lines.py"))
    first = result.tasks[0]
    assert first.agent == "performance-expert" and "benchmark" in first.title
    assert all("T1" in task.depends_on for task in result.tasks[1:])


def test_research_files_never_change_priority_or_text() -> None:
    findings = findings_with("src/security/crash_handler.py", "tests/test_security.py")
    result = plan(
        "Add a colour option", "We should add a colour option to the output.", findings=findings
    )
    assert all(task.priority is Priority.MEDIUM for task in result.tasks)
    assert all("Start from" not in task.body for task in result.tasks)


@pytest.mark.parametrize(
    ("line", "agent"),
    [
        ("Serve the page over https", "frontend-developer"),
        ("Plan user interface mockups", "frontend-developer"),
        ("Build a payment system", "backend-developer"),
        ("Go through the tests", "test-engineer"),
    ],
    ids=[
        "https-is-not-http",
        "user-interface-beats-interface",
        "build-is-a-verb",
        "going-is-not-go",
    ],
)
def test_keywords_match_whole_words(line: str, agent: str) -> None:
    assert plan("Shop", f"- [ ] {line}").tasks[0].agent == agent


def test_bold_template_headings_frame_steps_to_reproduce() -> None:
    body = (
        "**Describe the bug**\nPassing `headers=None` raises.\n\n**To Reproduce**\n"
        "1. Create a client\n2. Call `client.get(url, headers=None)`\n"
    )
    result = plan("TypeError when passing None to headers", body)
    assert result.kind == "bug" and result.source is PlanSource.FALLBACK
    assert not any("Create a client" in task.title for task in result.tasks)


def test_a_template_prompt_section_plans_the_answer_written_under_it() -> None:
    body = (
        "### Is your feature request related to a problem?\n\nWe can't reach HTTP/3 servers.\n\n"
        "### Describe the solution you'd like\n\nAdd an `http3=True` option to `Client`. "
        "It would use aioquic.\n\n### Additional context\n\nNone.\n"
    )
    result = plan("Add support for HTTP/3", body)
    assert result.tasks[0].title == "Add an `http3=True` option to `Client`"


def test_a_fix_goes_to_the_owner_of_the_file_it_changes() -> None:
    result = plan("Login page is slow to load", "", findings=findings_with("web/login.tsx"))
    assert [(t.agent, t.files) for t in result.tasks[:2]] == [
        ("performance-expert", ("web/login.tsx",)),
        ("frontend-developer", ("web/login.tsx",)),
    ]


def test_a_title_marker_covers_the_whole_issue_but_not_its_other_parts() -> None:
    result = plan(
        "Design authentication flow (high priority)",
        "Plan user interface mockups and implement the authentication API.",
    )
    by_agent = {task.agent: task.priority.value for task in result.tasks}
    assert by_agent["frontend-developer"] == "medium"
    assert by_agent["security-guardian"] == "high"
    assert by_agent["backend-developer"] == "high"
