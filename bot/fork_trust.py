"""Which gates may run a fork's code, and a maintainer's ``/techlead ok-to-test`` for one head.

L3 (the repository's tests) and L4 (its benchmarks) execute the pull request's code.
For a pull request from a fork anyone can open, they wait until a person with write
access comments ``/techlead ok-to-test``; that approval is for the head commit it was
given on, so a new push needs a new one (the practice of Prow's ``ok-to-test`` and of
GitHub's "approve and run" for first-time contributors). Until then each held gate
completes ``neutral``, saying how to let it run. Static gates (lint, contracts,
security) read the code without running it and always run.

Everything here is pure: the job that answers the comment is in
:mod:`bot.features.ok_to_test`, the holding happens in :mod:`bot.features.gates`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.permissions import is_bot, parse_level
from bot.ports import PullInfo
from bot.repo_config import PermissionLevel
from gates import templates
from gates.config import GateConfig, GateLevel
from gates.model import Conclusion, GateResult

COMMAND = "ok-to-test"
# The gates that execute the pull request's code.
RUNS_CODE: tuple[GateLevel, ...] = (GateLevel.L3, GateLevel.L4)
REQUIRED_LEVEL = PermissionLevel.WRITE
# "/techlead ok-to-test" alone on a line (GitHub shows it as typed, code spans aside).
_COMMAND_LINE = re.compile(r"^\s{0,3}/techlead\s+ok-to-test\s*$", re.IGNORECASE | re.MULTILINE)

HELD_TITLE = "Waiting for a maintainer: this pull request comes from a fork"
HELD_REPORT = (
    "**Not run yet.** This gate runs the pull request's own code, and the pull request "
    "comes from a fork (`{fork}`), so it waits for a maintainer.\n\n"
    "**What to do:** a maintainer (write access) reads the change, then comments\n\n"
    "    /techlead ok-to-test\n\n"
    "on the pull request. The gate then runs once, on commit `{sha}`, in a jail "
    "without network or credentials. A new push needs a new `/techlead ok-to-test`."
)
REPLY_ACCEPTED = (
    "👍 @{login}: running {gates} on `{sha}` (the pull request's head now). "
    "A new push needs a new `/techlead ok-to-test`."
)
REPLY_REFUSED = (
    "Sorry @{login}, `/techlead ok-to-test` runs a fork's code and needs write access "
    "to this repository (you have {permission}). A maintainer can comment it."
)
REPLY_NOT_A_FORK = (
    "@{login}: this pull request's branch is in this repository, so its tests run "
    "without `/techlead ok-to-test`."
)
REPLY_NOTHING_TO_RUN = (
    "@{login}: none of the gates that run code ({gates}) is enabled for this repository."
)


def asks_ok_to_test(body: str) -> bool:
    """Whether a comment holds the command on a line of its own."""
    return bool(_COMMAND_LINE.search(body))


def held_levels(pull: PullInfo, levels: Iterable[GateLevel], approved_sha: str) -> list[GateLevel]:
    """The levels of ``levels`` that must wait: code-running gates of an unapproved fork head."""
    if not pull.is_fork or (approved_sha and approved_sha == pull.head_sha):
        return []
    return [level for level in levels if level in RUNS_CODE]


def held_result(level: GateLevel, config: GateConfig, pull: PullInfo) -> GateResult:
    """What a held gate's check run says: neutral, and how to let it run."""
    report = HELD_REPORT.format(fork=pull.head_repo or "a deleted fork", sha=pull.head_sha[:7])
    return GateResult(
        level=level,
        name=templates.check_run_name(level),
        conclusion=Conclusion.NEUTRAL,
        required=config.required,
        fail_on=config.fail_on,
        filter_mode=config.filter_mode,
        reason=HELD_TITLE,
        report=report,
    )


class Answer(enum.StrEnum):
    """What an ok-to-test comment gets."""

    RUN = "run"
    REFUSED = "refused"
    NOT_A_FORK = "not a fork"
    NOTHING_TO_RUN = "nothing to run"


@dataclass(frozen=True)
class Decision:
    answer: Answer
    reply: str


def decide(
    pull: PullInfo,
    login: str,
    sender_type: str,
    permission: str,
    enabled: Iterable[GateLevel],
) -> Decision:
    """The answer to ``login``'s ok-to-test on ``pull``, given their permission."""
    level = PermissionLevel.NONE if is_bot(login, sender_type) else parse_level(permission)
    if level.rank < REQUIRED_LEVEL.rank:
        text = REPLY_REFUSED.format(login=login, permission=level.value)
        return Decision(Answer.REFUSED, text)
    if not pull.is_fork:
        return Decision(Answer.NOT_A_FORK, REPLY_NOT_A_FORK.format(login=login))
    runnable = [lvl for lvl in enabled if lvl in RUNS_CODE]
    if not runnable:
        gates = ", ".join(templates.check_run_name(lvl) for lvl in RUNS_CODE)
        return Decision(
            Answer.NOTHING_TO_RUN, REPLY_NOTHING_TO_RUN.format(login=login, gates=gates)
        )
    gates = ", ".join(templates.check_run_name(lvl) for lvl in runnable)
    text = REPLY_ACCEPTED.format(login=login, gates=gates, sha=pull.head_sha[:7])
    return Decision(Answer.RUN, text)
