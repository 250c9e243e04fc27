"""Decides whether a person may run a TechLead command, from their repository permission.

:func:`may_run` is the pure core (levels admin > maintain > write > triage > read > none,
plus the repository's allow and deny lists); :func:`check_sender` is the adapter that
asks GitHub for the sender's permission through the port. Bots are never allowed, so
bots (TechLead included) cannot trigger each other in loops.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.errors import GitHubNotFound
from bot.ports import PermissionSource
from bot.repo_config import PermissionLevel, PermissionsConfig

BOT_LOGIN_SUFFIX = "[bot]"
BOT_TYPE = "Bot"


class Why(enum.StrEnum):
    """The rule that decided."""

    LEVEL = "level"  # the sender's permission is high enough
    ALLOW_LIST = "allow_list"
    DENY_LIST = "deny_list"
    TOO_LOW = "too_low"
    BOT = "bot"


REASONS: dict[Why, str] = {
    Why.LEVEL: "@{login} has {permission} permission; `{command}` needs {required}.",
    Why.ALLOW_LIST: "@{login} is listed in permissions.allow_users.",
    Why.DENY_LIST: (
        "Sorry @{login}, this repository's TechLead configuration does not allow you "
        "to run commands."
    ),
    Why.TOO_LOW: (
        "Sorry @{login}, `{command}` needs {required} permission on this repository and "
        "you have {permission}. A maintainer can run it, or change `permissions` in "
        ".github/techlead.yml."
    ),
    Why.BOT: "Commands from bots (@{login}) are ignored so bots cannot trigger each other.",
}


@dataclass(frozen=True)
class Decision:
    """Whether the command may run, and a sentence to show the person either way."""

    allowed: bool
    reason: str
    why: Why


def parse_level(permission: str) -> PermissionLevel:
    """GitHub's permission string as a level; anything unknown counts as none."""
    try:
        return PermissionLevel(permission.strip().lower())
    except ValueError:
        return PermissionLevel.NONE


def may_run(command: str, permission: str, login: str, config: PermissionsConfig) -> Decision:
    """The pure rule: deny list, then allow list, then the minimum level for ``command``."""
    level = parse_level(permission)
    required = config.required(command)
    if _listed(login, config.deny_users):
        why = Why.DENY_LIST
    elif _listed(login, config.allow_users):
        why = Why.ALLOW_LIST
    elif level.rank >= required.rank:
        why = Why.LEVEL
    else:
        why = Why.TOO_LOW
    return _decide(why, login=login, command=command, permission=level, required=required)


def check_sender(
    github: PermissionSource,
    repo: str,
    login: str,
    command: str,
    config: PermissionsConfig,
    *,
    sender_type: str = "User",
) -> Decision:
    """Decide for a webhook sender; asks GitHub only when the lists do not decide."""
    required = config.required(command)
    if is_bot(login, sender_type):
        return _decide(Why.BOT, login=login, command=command, permission=None, required=required)
    if _listed(login, config.deny_users) or _listed(login, config.allow_users):
        return may_run(command, PermissionLevel.NONE, login, config)
    try:
        permission = github.permission(repo, login)
    except GitHubNotFound:
        # Not a collaborator (or the account is gone): no permission at all.
        permission = PermissionLevel.NONE
    return may_run(command, permission, login, config)


def is_bot(login: str, sender_type: str = "User") -> bool:
    """GitHub marks App and machine senders with type Bot and a ``[bot]`` login suffix."""
    return sender_type == BOT_TYPE or login.lower().endswith(BOT_LOGIN_SUFFIX)


def _listed(login: str, logins: tuple[str, ...]) -> bool:
    # GitHub logins are case-insensitive.
    return login.lower() in {entry.lower() for entry in logins}


def _decide(
    why: Why,
    *,
    login: str,
    command: str,
    permission: PermissionLevel | None,
    required: PermissionLevel,
) -> Decision:
    reason = REASONS[why].format(
        login=login,
        command=command,
        permission=permission.value if permission else "none",
        required=required.value,
    )
    return Decision(allowed=why in (Why.LEVEL, Why.ALLOW_LIST), reason=reason, why=why)
