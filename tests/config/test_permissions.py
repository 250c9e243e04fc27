"""Commands run only for senders with enough permission; refusals say why, politely."""

from __future__ import annotations

import pytest

from bot.errors import GitHubNotFound
from bot.permissions import Decision, Why, check_sender, may_run
from bot.repo_config import PermissionsConfig, load_defaults, parse_repo_config

DEFAULTS = load_defaults().permissions
LISTS = parse_repo_config(
    "permissions:\n  allow_users: [Helper, both]\n  deny_users: [troll, Both]\n"
).permissions

LEVELS = ["admin", "maintain", "write", "triage", "read", "none"]


@pytest.mark.parametrize(
    ("command", "permission", "allowed"),
    [
        ("plan", "admin", True),
        ("plan", "maintain", True),
        ("plan", "write", True),
        ("plan", "triage", False),
        ("plan", "read", False),
        ("plan", "none", False),
        ("help", "read", True),
        ("status", "read", True),
        ("status", "none", False),
        ("unknown-command", "write", True),
        ("unknown-command", "triage", False),
        ("PLAN", "write", True),
        ("plan", "WRITE", True),
        ("plan", "superuser", False),
    ],
    ids=lambda value: str(value),
)
def test_levels_are_ordered(command: str, permission: str, allowed: bool) -> None:
    decision = may_run(command, permission, "octocat", DEFAULTS)
    assert decision.allowed is allowed
    assert decision.why is (Why.LEVEL if allowed else Why.TOO_LOW)


def test_a_refusal_names_the_command_and_both_levels() -> None:
    decision = may_run("approve", "read", "octocat", DEFAULTS)
    assert decision == Decision(
        allowed=False,
        reason=(
            "Sorry @octocat, `approve` needs write permission on this repository and you "
            "have read. A maintainer can run it, or change `permissions` in "
            ".github/techlead.yml."
        ),
        why=Why.TOO_LOW,
    )


@pytest.mark.parametrize(
    ("login", "permission", "allowed", "why"),
    [
        ("helper", "none", True, Why.ALLOW_LIST),
        ("TROLL", "admin", False, Why.DENY_LIST),
        ("both", "admin", False, Why.DENY_LIST),
        ("someone", "write", True, Why.LEVEL),
    ],
    ids=["allow-list-case-insensitive", "deny-beats-admin", "deny-beats-allow", "neither"],
)
def test_allow_and_deny_lists(login: str, permission: str, allowed: bool, why: Why) -> None:
    decision = may_run("plan", permission, login, LISTS)
    assert (decision.allowed, decision.why) == (allowed, why)
    assert login in decision.reason


def test_a_repository_can_raise_a_command_level() -> None:
    config = parse_repo_config("permissions:\n  commands:\n    plan: admin\n").permissions
    assert may_run("plan", "maintain", "octocat", config).allowed is False
    assert may_run("plan", "admin", "octocat", config).allowed is True


class FakePermissions:
    """Collaborator permissions of one repository; unknown users are not collaborators."""

    def __init__(self, levels: dict[str, str]) -> None:
        self.levels = levels
        self.asked: list[str] = []

    def permission(self, repo: str, login: str) -> str:
        self.asked.append(login)
        if login not in self.levels:
            raise GitHubNotFound("not a collaborator", status=404)
        return self.levels[login]


@pytest.mark.parametrize(
    ("login", "sender_type", "config", "allowed", "why", "asked"),
    [
        ("maintainer", "User", DEFAULTS, True, Why.LEVEL, True),
        ("reader", "User", DEFAULTS, False, Why.TOO_LOW, True),
        ("stranger", "User", DEFAULTS, False, Why.TOO_LOW, True),
        ("techlead[bot]", "Bot", DEFAULTS, False, Why.BOT, False),
        ("renovate[bot]", "User", DEFAULTS, False, Why.BOT, False),
        ("ci-machine", "Bot", LISTS, False, Why.BOT, False),
        ("helper", "User", LISTS, True, Why.ALLOW_LIST, False),
        ("troll", "User", LISTS, False, Why.DENY_LIST, False),
    ],
    ids=[
        "writer",
        "reader",
        "not-collaborator",
        "app-bot",
        "bot-login-suffix",
        "bot-type",
        "allow-list-no-call",
        "deny-list-no-call",
    ],
)
def test_check_sender(
    login: str,
    sender_type: str,
    config: PermissionsConfig,
    allowed: bool,
    why: Why,
    asked: bool,
) -> None:
    github = FakePermissions(
        {
            "maintainer": "maintain",
            "reader": "read",
            "techlead[bot]": "admin",
            "ci-machine": "admin",
        }
    )
    decision = check_sender(github, "acme/app", login, "plan", config, sender_type=sender_type)
    assert (decision.allowed, decision.why) == (allowed, why)
    assert (github.asked == [login]) is asked


@pytest.mark.parametrize("level", LEVELS, ids=LEVELS)
def test_help_needs_read(level: str) -> None:
    assert may_run("help", level, "x", DEFAULTS).allowed is (level != "none")
