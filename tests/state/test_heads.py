"""Gate heads shared through Redis: a newer push accepted on one machine stops the runs of
the older head on another, and a late report about an older head changes nothing."""

from __future__ import annotations

import time

import pytest

from bot.gate_runs import HeadRegistry, superseded_reason
from gates.tools import CancelToken
from tests.state.conftest import Backend

REPO = "Octo/Shop"
POLL = 0.02
WAIT = 5.0


def cancelled_within(token: CancelToken, seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if token.cancelled:
            return True
        time.sleep(POLL)
    return False


@pytest.mark.parametrize(
    ("seen", "current"),
    [
        (["a"], "a"),
        (["a", "b"], "b"),
        (["a", "b", "a"], "b"),
        (["a", "b", "c"], "c"),
    ],
    ids=["first", "newer-wins", "late-older-report", "three-pushes"],
)
def test_the_current_head_is_the_last_first_seen_anywhere(
    redis_backend: Backend, seen: list[str], current: str
) -> None:
    assert redis_backend.heads is not None
    answers = [redis_backend.heads().accept(REPO, 7, head) for head in seen]
    assert answers[-1] == current
    other = redis_backend.heads()
    assert other.newer("octo/shop", 7, current) is None, "names fold case"
    older = [head for head in seen if head != current]
    assert {other.newer(REPO, 7, head) for head in older} <= {current}
    assert other.newer(REPO, 7, "never-seen") == current
    assert other.newer(REPO, 8, current) is None, "another pull request has its own heads"


def test_a_newer_head_accepted_on_another_machine_cancels_the_run_here(
    redis_backend: Backend,
) -> None:
    assert redis_backend.heads is not None
    here, there = HeadRegistry(poll_seconds=POLL), HeadRegistry(poll_seconds=POLL)
    here.supersede(REPO, 7, "old", redis_backend.heads())
    running = here.start(REPO, 7, "old", redis_backend.heads())
    assert not running.cancelled
    there.supersede(REPO, 7, "new", redis_backend.heads())
    assert cancelled_within(running), "the run of the older head stops"
    assert running.reason == superseded_reason("new")
    late = here.start(REPO, 7, "old", redis_backend.heads())
    assert late.cancelled, "a run of the older head that starts afterwards stops at once"
    here.finish(REPO, 7, "old", running)
    here.finish(REPO, 7, "old", late)


def test_a_late_report_about_an_older_head_cancels_nothing(redis_backend: Backend) -> None:
    assert redis_backend.heads is not None
    here, there = HeadRegistry(poll_seconds=POLL), HeadRegistry(poll_seconds=POLL)
    there.supersede(REPO, 7, "old", redis_backend.heads())
    here.supersede(REPO, 7, "new", redis_backend.heads())
    running = here.start(REPO, 7, "new", redis_backend.heads())
    assert there.supersede(REPO, 7, "old", redis_backend.heads()) == 0
    assert not cancelled_within(running, 10 * POLL)
    here.finish(REPO, 7, "new", running)


def test_without_shared_heads_each_process_knows_only_its_own() -> None:
    here, there = HeadRegistry(poll_seconds=POLL), HeadRegistry(poll_seconds=POLL)
    running = here.start(REPO, 7, "old")
    there.supersede(REPO, 7, "new")
    assert not cancelled_within(running, 10 * POLL)
    assert here.supersede(REPO, 7, "new") == 1 and running.cancelled
