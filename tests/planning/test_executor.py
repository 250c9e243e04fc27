"""The executor against the sandbox: one comment per marker, ticks merged, writes only on change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from agents.research import Findings
from bot.actions import CreateReaction, Reaction, ReplyComment, UpsertComment, reply_marker
from bot.errors import GitHubUnavailable
from bot.executor import Applied, Effect, Executor, same_text
from bot.github import GitHubClient
from bot.plan.checklist import PLAN_MARKER, parse_ticks, render
from bot.plan.model import IssueInput, PlanState
from bot.plan.planner import PlanningDefaults, make_plan
from bot.ports import GitHubPort
from bot.repo_config import load_defaults
from bot.settings import Settings
from tests.conftest import World
from tests.support.techlead import no_wait

pytestmark = pytest.mark.sandbox

ISSUE = IssueInput("Coupons", "- [ ] Define the API schema\n- [ ] Store coupons (after 1)\n", 1)
PATCH = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"


@dataclass
class Rig:
    world: World
    client: GitHubClient
    issue: int

    @property
    def repo(self) -> str:
        return self.world.repo.full_name

    @property
    def port(self) -> GitHubPort:
        return self.client.port(self.world.installation.id)

    def executor(self) -> Executor:
        return Executor(self.port)

    def bodies(self) -> list[str]:
        return [c.body for c in self.port.list_comments(self.repo, self.issue)]

    def user_edit(self, comment_id: int, body: str) -> None:
        repo = self.world.user_gh.get_repo(self.repo)
        repo.get_issue(self.issue).get_comment(comment_id).edit(body)


@pytest.fixture
def rig(world: World) -> Rig:
    settings = Settings(
        app_id=world.app.id,
        private_key=world.private_key,
        api_url=world.api_url,
        write_interval=0.0,
    )
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Coupons", body="please")
    return Rig(world, GitHubClient(settings, sleep=no_wait), issue.number)


def checklist(state: PlanState = PlanState.AWAITING_APPROVAL) -> str:
    plan = make_plan(ISSUE, Findings(), load_defaults().agents, PlanningDefaults())
    return render(replace(plan, state=state))


def test_upsert_creates_once_then_edits_then_leaves_alone(rig: Rig) -> None:
    executor = rig.executor()
    first = executor.apply_one(UpsertComment(rig.repo, rig.issue, PLAN_MARKER, checklist()))
    approved = checklist(PlanState.APPROVED)
    second = executor.apply_one(UpsertComment(rig.repo, rig.issue, PLAN_MARKER, approved))
    patches = rig.client.stats.total(PATCH)
    third = executor.apply_one(
        UpsertComment(rig.repo, rig.issue, PLAN_MARKER, approved + "\n", comment_id=first.id)
    )

    assert [first.effect, second.effect, third.effect] == [
        Effect.CREATED,
        Effect.UPDATED,
        Effect.UNCHANGED,
    ]
    assert first.id == second.id == third.id
    assert rig.client.stats.total(PATCH) == patches, "an unchanged body is not written"
    assert rig.bodies() == [approved]


def test_a_stale_or_wrong_hint_never_makes_a_second_comment(rig: Rig) -> None:
    executor = rig.executor()
    other = rig.port.create_comment(rig.repo, rig.issue, "a person's comment")
    plan = executor.apply_one(
        UpsertComment(rig.repo, rig.issue, PLAN_MARKER, checklist(), comment_id=other.id)
    )
    assert plan.effect is Effect.CREATED and plan.id != other.id

    again = executor.apply_one(
        UpsertComment(rig.repo, rig.issue, PLAN_MARKER, checklist(), comment_id=999_999)
    )
    assert again == Applied(again.action, Effect.UNCHANGED, plan.id)
    assert sum(body.startswith(PLAN_MARKER) for body in rig.bodies()) == 1


def test_a_comment_quoting_the_marker_is_not_the_plan_comment(rig: Rig) -> None:
    quoted = f"> {PLAN_MARKER}\n> quoted plan"
    rig.port.create_comment(rig.repo, rig.issue, quoted)
    applied = rig.executor().apply_one(UpsertComment(rig.repo, rig.issue, PLAN_MARKER, checklist()))

    assert applied.effect is Effect.CREATED
    assert rig.bodies() == [quoted, checklist()]


@pytest.mark.parametrize(
    ("merge", "kept"), [(True, True), (False, False)], ids=["merge", "replace"]
)
def test_a_tick_made_after_rendering_survives_the_write(rig: Rig, merge: bool, kept: bool) -> None:
    executor = rig.executor()
    before = checklist()
    created = executor.apply_one(UpsertComment(rig.repo, rig.issue, PLAN_MARKER, before))
    stale = before.replace("· v1", "· v1 ", 1)  # rendered from the state before the tick

    rig.user_edit(created.id or 0, before.replace("- [ ] **Approve", "- [x] **Approve", 1))
    applied = executor.apply_one(
        UpsertComment(rig.repo, rig.issue, PLAN_MARKER, stale, merge_ticks=merge)
    )

    (body,) = rig.bodies()
    assert applied.effect is Effect.UPDATED
    assert "· v1 " in body, "the bot's change is written"
    assert parse_ticks(body).approve is kept


def test_replies_are_keyed_by_trigger(rig: Rig) -> None:
    executor = rig.executor()
    first = executor.apply_one(ReplyComment(rig.repo, rig.issue, "42", "Sorry, no."))
    same = executor.apply_one(ReplyComment(rig.repo, rig.issue, "42", "Sorry, no."))
    changed = executor.apply_one(ReplyComment(rig.repo, rig.issue, "42", "Sorry, still no."))
    other = executor.apply_one(ReplyComment(rig.repo, rig.issue, "label-7", "Hello."))

    assert [first.effect, same.effect, changed.effect, other.effect] == [
        Effect.CREATED,
        Effect.UNCHANGED,
        Effect.UPDATED,
        Effect.CREATED,
    ]
    assert rig.bodies() == [
        f"{reply_marker('42')}\nSorry, still no.",
        f"{reply_marker('label-7')}\nHello.",
    ]


def test_reactions_are_not_doubled(rig: Rig) -> None:
    comment = rig.port.create_comment(rig.repo, rig.issue, "/techlead plan")
    action = CreateReaction(rig.repo, Reaction.EYES, comment_id=comment.id)
    rig.executor().apply(
        [action, action, CreateReaction(rig.repo, Reaction.ROCKET, issue=rig.issue)]
    )

    repo = rig.world.user_gh.get_repo(rig.repo)
    issue = repo.get_issue(rig.issue)
    assert [r.content for r in issue.get_comment(comment.id).get_reactions()] == ["eyes"]
    assert [r.content for r in issue.get_reactions()] == ["rocket"]


def test_github_errors_reach_the_caller_and_nothing_is_written(rig: Rig) -> None:
    rig.world.sandbox.faults.error(
        f"/repos/{rig.repo}/issues/{rig.issue}/comments", status=502, count=None, method="POST"
    )
    with pytest.raises(GitHubUnavailable, match="502"):
        rig.executor().apply_one(UpsertComment(rig.repo, rig.issue, PLAN_MARKER, checklist()))
    rig.world.sandbox.faults.clear()
    assert rig.bodies() == []


@dataclass(frozen=True)
class Note:
    repo: str
    text: str


def test_new_action_kinds_plug_in(rig: Rig) -> None:
    written: list[str] = []
    executor = rig.executor()
    with pytest.raises(TypeError, match="no applier for Note"):
        executor.apply_one(Note(rig.repo, "hi"))

    def write_note(github: GitHubPort, note: Note) -> Applied:
        written.append(note.text)
        return Applied(note, Effect.CREATED)

    executor.register(Note, write_note)
    assert executor.apply([Note(rig.repo, "hi")])[0].effect is Effect.CREATED
    assert written == ["hi"]


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("a\r\nb\n", "a\nb", True),
        ("  a\n", "a", True),
        ("a\nb", "a\n\nb", False),
    ],
    ids=["crlf", "outer-space", "inner-blank-line"],
)
def test_same_text_ignores_only_line_endings_and_outer_space(
    left: str, right: str, same: bool
) -> None:
    assert same_text(left, right) is same


@pytest.mark.parametrize(
    "make",
    [
        lambda: CreateReaction("o/r", Reaction.EYES),
        lambda: CreateReaction("o/r", Reaction.EYES, comment_id=1, issue=2),
        lambda: reply_marker("two words"),
        lambda: reply_marker("a-->b"),
    ],
    ids=["reaction-nowhere", "reaction-twice", "key-with-space", "key-closing-comment"],
)
def test_malformed_actions_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
