"""Which gates wait for a fork's ``/techlead ok-to-test``, and who may give it (pure rules)."""

from __future__ import annotations

import pytest

from bot.fork_trust import Answer, asks_ok_to_test, decide, held_levels, held_result
from bot.ports import PullInfo
from gates.config import GateLevel, load_defaults
from gates.model import Conclusion

HEAD = "a" * 40
ALL = list(GateLevel)


def pull(*, fork: bool = True, head: str = HEAD) -> PullInfo:
    return PullInfo(
        number=7,
        title="t",
        body="",
        state="open",
        draft=False,
        head_sha=head,
        head_ref="patch-1",
        head_repo="someone/project" if fork else "owner/project",
        base_ref="main",
        base_sha="b" * 40,
        is_fork=fork,
        author_login="someone",
        html_url="",
    )


@pytest.mark.parametrize(
    ("fork", "approved", "held"),
    [
        (True, "", [GateLevel.L3, GateLevel.L4]),
        (True, HEAD, []),
        (True, "c" * 40, [GateLevel.L3, GateLevel.L4]),
        (False, "", []),
    ],
    ids=["fork-not-approved", "fork-approved-this-head", "fork-approved-older-head", "same-repo"],
)
def test_only_code_running_gates_of_unapproved_fork_heads_wait(
    fork: bool, approved: str, held: list[GateLevel]
) -> None:
    assert held_levels(pull(fork=fork), ALL, approved) == held


def test_a_held_gate_is_neutral_and_says_how_to_run_it() -> None:
    result = held_result(GateLevel.L3, load_defaults().integration, pull())
    assert result.conclusion is Conclusion.NEUTRAL
    assert "/techlead ok-to-test" in result.report
    assert "someone/project" in result.report and HEAD[:7] in result.report


@pytest.mark.parametrize(
    ("body", "asks"),
    [
        ("/techlead ok-to-test", True),
        ("Looks fine.\n  /TechLead  ok-to-test  \nthanks", True),
        ("please /techlead ok-to-test", False),
        ("`/techlead ok-to-test`", False),
        ("/techlead ok-to-test-all", False),
    ],
    ids=["alone", "own-line-any-case", "mid-sentence", "in-code", "other-command"],
)
def test_the_command_must_stand_on_its_own_line(body: str, asks: bool) -> None:
    assert asks_ok_to_test(body) is asks


@pytest.mark.parametrize(
    ("login", "kind", "permission", "fork", "answer"),
    [
        ("maint", "User", "write", True, Answer.RUN),
        ("admin", "User", "admin", True, Answer.RUN),
        ("helper", "User", "triage", True, Answer.REFUSED),
        ("someone", "User", "read", True, Answer.REFUSED),
        ("stranger", "User", "none", True, Answer.REFUSED),
        ("ci[bot]", "Bot", "admin", True, Answer.REFUSED),
        ("maint", "User", "write", False, Answer.NOT_A_FORK),
    ],
    ids=["write", "admin", "triage", "read", "none", "bot", "not-a-fork"],
)
def test_only_people_with_write_access_approve_a_fork(
    login: str, kind: str, permission: str, fork: bool, answer: Answer
) -> None:
    decision = decide(pull(fork=fork), login, kind, permission, ALL)
    assert decision.answer is answer
    assert f"@{login}" in decision.reply


def test_nothing_to_run_when_the_code_running_gates_are_off() -> None:
    decision = decide(pull(), "maint", "User", "write", [GateLevel.L1, GateLevel.L5])
    assert decision.answer is Answer.NOTHING_TO_RUN
